/**
 * Writes the data v2 test vectors in test/vectors/v2/ (docs/manifest.md §8):
 * run once; test/store/vectors.test.ts checks the code still reproduces them.
 * Run: node --import tsx scripts/make-vectors-v2.ts
 */
import { writeFileSync } from 'node:fs';
import { makeV2Vectors, testSeedHex } from '../test/helpers/v2-vectors.ts';

const dir = new URL('../test/vectors/v2/', import.meta.url);
const v = makeV2Vectors(testSeedHex());
const json = (name: string, o: unknown) => writeFileSync(new URL(name, dir), JSON.stringify(o, null, 2) + '\n');
json('keys.json', v.keys);
json('chunks.json', v.chunks);
json('sealed-chunk.json', v.sealedChunk);
json('pack.json', { ...v.pack, earlier_pack: v.earlierPack.hex });
writeFileSync(new URL('pack.bin', dir), v.packBytes);
json('tree.json', v.tree);
json('root.json', v.root);
writeFileSync(new URL('root.bin', dir), v.rootBytes);
console.log(`wrote ${v.chunks.chunks.length} chunks, pack ${v.pack.hex.slice(0, 12)} (${v.pack.bytes} B), root ${v.root.address.slice(0, 12)}`);
