/** Data v2's pure parts: the chunker's content-defined cuts, and what the decoders refuse. */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CHUNK_DATA, openChunk, sealChunk } from '../../src/store/chunk-crypto.ts';
import { chunkBoundaries, gearTable, MAX_CHUNK, MIN_CHUNK } from '../../src/store/chunker.ts';
import { chunkId, chunkKey, deriveDataKeys } from '../../src/store/keys.ts';
import { decodeTreeObject } from '../../src/store/tree-object.ts';
import { zstdContext } from '../../src/store/zstd.ts';
import { Prng } from '../helpers/prng.ts';

const keys = deriveDataKeys(Buffer.alloc(32, 7));
const gear = gearTable(keys.chunkerKey);
const ids = (data: Buffer) => {
  const cuts = chunkBoundaries(gear, data);
  return cuts.map((end, i) => chunkId(keys.idKey, data.subarray(i ? cuts[i - 1]! : 0, end)).toString('hex'));
};

describe('chunker', () => {
  const data = new Prng(11).bytes(24 * 1024 * 1024);

  it('cuts between the minimum and the maximum, about 1 MiB on average', () => {
    const cuts = chunkBoundaries(gear, data);
    const sizes = cuts.map((c, i) => c - (i ? cuts[i - 1]! : 0));
    for (const s of sizes.slice(0, -1)) {
      expect(s).toBeGreaterThanOrEqual(MIN_CHUNK);
      expect(s).toBeLessThanOrEqual(MAX_CHUNK);
    }
    const avg = data.length / sizes.length;
    expect(avg).toBeGreaterThan(600 * 1024);
    expect(avg).toBeLessThan(2 * 1024 * 1024);
  });

  it('bytes inserted near the start change only the chunks around them (content-defined)', () => {
    const a = ids(data);
    const b = ids(Buffer.concat([data.subarray(0, 5000), randomBytes(777), data.subarray(5000)]));
    const same = b.filter((x) => a.includes(x)).length;
    expect(same).toBeGreaterThanOrEqual(a.length - 2);
  });

  it('another account (another chunker key) cuts the same bytes elsewhere', () => {
    const other = gearTable(deriveDataKeys(Buffer.alloc(32, 8)).chunkerKey);
    expect(chunkBoundaries(other, data)).not.toEqual(chunkBoundaries(gear, data));
  });
});

describe('what the decoders refuse', () => {
  const zstd = zstdContext();
  const plain = Buffer.from('x'.repeat(5000));
  const id = chunkId(keys.idKey, plain);
  const key = chunkKey(keys.chunkKeyRoot, id);
  const sealed = sealChunk(key, id, CHUNK_DATA, plain, zstd);

  it('a chunk opens to its plaintext; a flipped byte, another id or a wrong length is refused', () => {
    expect(openChunk(key, id, CHUNK_DATA, sealed, plain.length, zstd).equals(plain)).toBe(true);
    const flipped = Buffer.from(sealed);
    flipped[20]! ^= 1;
    expect(() => openChunk(key, id, CHUNK_DATA, flipped, plain.length, zstd)).toThrow(/does not authenticate/);
    const otherId = chunkId(keys.idKey, Buffer.from('y'));
    expect(() => openChunk(key, otherId, CHUNK_DATA, sealed, plain.length, zstd)).toThrow(/does not authenticate/);
    expect(() => openChunk(key, id, CHUNK_DATA, sealed, plain.length - 1, zstd)).toThrow(/decompresses to|holds|zstd: Destination/);
  });

  it('chunks of many cipher slices, raw and compressed, open into a reused buffer; a byte flipped in a late slice is refused', () => {
    const into = Buffer.alloc(2 * 1024 * 1024, 0xee);
    const pieces = { raw: new Prng(5).bytes(1_000_003), zstd: Buffer.from('koder '.repeat(200_000)) };
    for (const [kind, p] of Object.entries(pieces)) {
      const pid = chunkId(keys.idKey, p);
      const pkey = chunkKey(keys.chunkKeyRoot, pid);
      const s = sealChunk(pkey, pid, CHUNK_DATA, p, zstd);
      expect(s.length < p.length, kind).toBe(kind === 'zstd');
      expect(openChunk(pkey, pid, CHUNK_DATA, s, p.length, zstd, 'chunk', into).equals(p), kind).toBe(true);
      expect(openChunk(pkey, pid, CHUNK_DATA, s, p.length, zstd).equals(p), kind).toBe(true);
      const bad = Buffer.from(s);
      bad[bad.length - 100]! ^= 1;
      expect(() => openChunk(pkey, pid, CHUNK_DATA, bad, p.length, zstd, 'chunk', into), kind).toThrow(/does not authenticate/);
    }
  });

  const tree = (entries: unknown[], packs: string[] = []) => Buffer.from(JSON.stringify({ v: 2, entries, packs }));
  const H = 'ab'.repeat(32);
  const file = (o: Record<string, unknown> = {}) => ({ name: 'a', type: 'file', mode: 420, mtime_ns: '1', size: 3, ino: '1', chunks: [[H, H, 3, 0, 0, 40]], ...o });
  it.each([
    ['a name with /', [file({ name: 'a/b' })], 'a name with "/"'],
    ['the name ..', [file({ name: '..' })], 'the name ".."'],
    ['names out of order', [file({ name: 'b' }), file({ name: 'a' })], 'out of order'],
    ['chunks not adding up to the size', [file({ size: 4 })], 'hold 3 bytes'],
    ['a pack index out of range', [file({ chunks: [[H, H, 3, 5, 0, 40]] })], 'names pack 5'],
    ['a mode beyond 0o7777', [file({ mode: 0o10000 })], 'permission mode'],
    ['non-canonical base64', [file({ name: undefined, name_b64: 'Zm9v=' })], 'canonical base64'],
    ['an unknown type', [file({ type: 'fifo' })], 'type is "fifo"'],
    ['a hard link out of the folder', [file({ chunks: undefined, link: '../x' })], 'the name ".."'],
  ])('a tree object with %s', (_what, entries, why) => {
    expect(() => decodeTreeObject(tree(entries, [H]), 't')).toThrow(why);
  });
});
