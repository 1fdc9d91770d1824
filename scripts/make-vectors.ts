/**
 * Writes the manifest test vectors in test/vectors/ (run once; the vectors
 * test checks that the implementation still reproduces them byte for byte).
 * Run: node --import tsx scripts/make-vectors.ts
 */
import { writeFileSync } from 'node:fs';
import { canonicalBytes, fold, parse, serialize, snapshotId } from '../src/manifest/index.ts';
import { keyIdOf } from '../src/keys/ed25519.ts';
import { chainFrom, sampleFulls, testKey } from '../test/helpers/manifests.ts';

const dir = new URL('../test/vectors/', import.meta.url);
const key = testKey('vectors');
const built = chainFrom(sampleFulls(), key.seed);
const names = ['root', 'delta1', 'delta2'];

writeFileSync(new URL('key.json', dir), JSON.stringify({
  comment: 'TEST KEY ONLY. Ed25519 seed (RFC 8032 private key) and public key.',
  seed_hex: Buffer.from(key.seed).toString('hex'),
  public_key_base64: Buffer.from(key.publicKey).toString('base64'),
  key_id: keyIdOf(key.publicKey),
}, null, 2) + '\n');
built.ids.forEach((id, i) => {
  const text = built.texts.get(id)!;
  writeFileSync(new URL(`${names[i]}.kvg`, dir), text);
  writeFileSync(new URL(`${names[i]}.canonical.json`, dir), canonicalBytes(parse(text, names[i]!)));
});
writeFileSync(new URL('ids.json', dir), JSON.stringify(Object.fromEntries(names.map((n, i) => [n, built.ids[i]])), null, 2) + '\n');
writeFileSync(new URL('folded.json', dir), JSON.stringify(fold(built.manifests), null, 2) + '\n');
console.log(`wrote ${names.length} manifests; leaf ${built.ids[2]} (${snapshotId(parse(serialize(built.manifests[2]!), 'x')) === built.ids[2] ? 'ok' : 'MISMATCH'})`);
