/**
 * Data v2 test vectors (test/vectors/v2, docs/manifest.md §8–9): the code
 * reproduces every byte from the seed of test/vectors/key.json, and opens
 * what it wrote — keys, chunk boundaries, a sealed chunk, a pack (its TOC
 * opens to its entries), a tree object and a tree root.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CHUNK_DATA, CHUNK_TREE, openChunk } from '../../src/store/chunk-crypto.ts';
import { deriveDataKeys } from '../../src/store/keys.ts';
import { openToc, readTrailer, TRAILER_BYTES } from '../../src/store/pack-format.ts';
import { decodeRootBlob } from '../../src/store/root-blob.ts';
import { decodeTreeObject, encodeTreeObject } from '../../src/store/tree-object.ts';
import { zstdContext } from '../../src/store/zstd.ts';
import { makeV2Vectors, testSeedHex } from '../helpers/v2-vectors.ts';

const dir = new URL('../vectors/v2/', import.meta.url);
const json = (name: string) => JSON.parse(readFileSync(new URL(name, dir), 'utf8')) as Record<string, unknown>;
const v = makeV2Vectors(testSeedHex());
const zstd = zstdContext();
const hex = (s: unknown) => Buffer.from(String(s), 'hex');

describe('data v2 vectors', () => {
  it('keys, chunk boundaries, a sealed chunk, a pack, a tree object and a tree root are reproduced byte for byte', () => {
    expect(v.keys).toEqual(json('keys.json'));
    expect(v.chunks).toEqual(json('chunks.json'));
    expect(v.sealedChunk).toEqual(json('sealed-chunk.json'));
    expect({ ...v.pack, earlier_pack: v.earlierPack.hex }).toEqual(json('pack.json'));
    expect(v.packBytes.equals(readFileSync(new URL('pack.bin', dir)))).toBe(true);
    expect(v.tree).toEqual(json('tree.json'));
    expect(v.root).toEqual(json('root.json'));
    expect(v.rootBytes.equals(readFileSync(new URL('root.bin', dir)))).toBe(true);
  });

  it('the chunks are 256 KiB–8 MiB, content-defined, and the run of zeros ends in a cut of its own', () => {
    const c = v.chunks.chunks;
    expect(c.length).toBeGreaterThanOrEqual(3);
    for (const x of c.slice(0, -1)) expect(x.end - x.start).toBeGreaterThanOrEqual(256 * 1024);
    expect(c[c.length - 1]!.end).toBe(v.chunks.input_bytes);
  });

  it('what the vectors hold opens: the sealed chunk, the pack TOC and its chunks, the tree object, the tree root', () => {
    const keys = deriveDataKeys(Buffer.from(testSeedHex(), 'hex'));
    const s = json('sealed-chunk.json');
    expect(openChunk(hex(s.key), hex(s.id), CHUNK_DATA, hex(s.sealed_hex), Buffer.byteLength(String(s.plaintext_utf8)), zstd).toString('utf8')).toBe(s.plaintext_utf8);

    const pack = readFileSync(new URL('pack.bin', dir));
    const tocLen = readTrailer(pack.subarray(pack.length - TRAILER_BYTES))!;
    const tocStart = pack.length - TRAILER_BYTES - tocLen;
    const entries = openToc(keys.tocKey, pack.subarray(tocStart, pack.length - TRAILER_BYTES), 'vector pack', tocStart);
    expect(entries.map((e) => e.type)).toEqual([0, 0, 1]);
    const t = json('tree.json');
    const treeEntry = entries[2]!;
    const treePlain = openChunk(hex(t.key), treeEntry.id, CHUNK_TREE, pack.subarray(treeEntry.offset, treeEntry.offset + treeEntry.length), treeEntry.rawLength, zstd);
    expect(treePlain.toString('utf8')).toBe(t.json);
    // Decoding and encoding again gives the same bytes (what dedup of unchanged directories rests on).
    expect(encodeTreeObject(decodeTreeObject(treePlain, 'vector')).toString('utf8')).toBe(t.json);
    // A chunk offered as the other kind does not open.
    expect(() => openChunk(hex(t.key), treeEntry.id, CHUNK_DATA, pack.subarray(treeEntry.offset, treeEntry.offset + treeEntry.length), treeEntry.rawLength, zstd)).toThrow(/does not authenticate/);

    const r = json('root.json');
    const root = decodeRootBlob(hex(r.tree_key), readFileSync(new URL('root.bin', dir)), zstd, 'vector root');
    expect(root.root.id.toString('hex')).toBe(t.id);
    expect(root.trees.get(String(t.id))).toEqual({ pack: v.pack.hex, offset: treeEntry.offset, length: treeEntry.length, raw: treeEntry.rawLength });
  });
});
