/**
 * The data v2 test vectors (docs/manifest.md §8, §9), computed from the
 * seed of test/vectors/key.json with fixed nonces: scripts/make-vectors-v2.ts
 * writes them once, test/store/vectors.test.ts checks that the code still
 * gives the same bytes. Chunks are sealed raw (no zstd), so another
 * implementation can reproduce every byte; zstd's output is not a format.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { CHUNK_DATA, CHUNK_TREE, sealChunk } from '../../src/store/chunk-crypto.ts';
import { chunkBoundaries, gearTable } from '../../src/store/chunker.ts';
import { chunkId, chunkKey, deriveDataKeys, treeKey } from '../../src/store/keys.ts';
import { sealToc, trailer, type PackEntry } from '../../src/store/pack-format.ts';
import { encodeRootBlob } from '../../src/store/root-blob.ts';
import { encodeTreeObject, type TreeObject } from '../../src/store/tree-object.ts';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
/** Nonce i of the vectors: the first bytes of SHA-256("koder v2 nonce" ‖ u32be(i)). */
export const vectorNonce = (i: number, n = 12) => createHash('sha256').update(Buffer.concat([Buffer.from('koder v2 nonce'), u32be(i)])).digest().subarray(0, n);
const u32be = (i: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(i);
  return b;
};

/** The chunker's fixed input (§9.2): SHA-256 counter blocks cut to 3,000,000 bytes, then 1 MiB of zeros. */
export function vectorInput(): Buffer {
  const blocks: Buffer[] = [];
  for (let k = 0; k * 32 < 3_000_000; k++) blocks.push(createHash('sha256').update(Buffer.concat([Buffer.from('koder v2 vector'), u32be(k)])).digest());
  return Buffer.concat([Buffer.concat(blocks).subarray(0, 3_000_000), Buffer.alloc(1_048_576)]);
}

export function makeV2Vectors(seedHex: string) {
  const keys = deriveDataKeys(Buffer.from(seedHex, 'hex'));
  const gear = gearTable(keys.chunkerKey);
  const input = vectorInput();
  const cuts = chunkBoundaries(gear, input);
  const chunks = cuts.map((end, i) => {
    const start = i === 0 ? 0 : cuts[i - 1]!;
    const plain = input.subarray(start, end);
    const id = chunkId(keys.idKey, plain);
    return { start, end, plain, id, key: chunkKey(keys.chunkKeyRoot, id) };
  });

  // One chunk sealed (raw) with nonce 0.
  const small = Buffer.from('Olá, mundo restaurado!\n', 'utf8');
  const smallId = chunkId(keys.idKey, small);
  const smallKey = chunkKey(keys.chunkKeyRoot, smallId);
  const sealedSmall = sealChunk(smallKey, smallId, CHUNK_DATA, small, undefined, undefined, vectorNonce(0));

  // A pack of three chunks: the small one, the first 1,000 bytes of the chunker's input, and the tree object below.
  const firstPlain = input.subarray(0, 1000);
  const first = { plain: firstPlain, id: chunkId(keys.idKey, firstPlain), key: chunkKey(keys.chunkKeyRoot, chunkId(keys.idKey, firstPlain)) };
  const sealedFirst = sealChunk(first.key, first.id, CHUNK_DATA, first.plain, undefined, undefined, vectorNonce(1));
  const entries: PackEntry[] = [];
  const parts: Buffer[] = [];
  let at = 0;
  const add = (type: 0 | 1, id: Buffer, raw: number, sealed: Buffer) => {
    entries.push({ type, id, offset: at, length: sealed.length, rawLength: raw });
    parts.push(sealed);
    at += sealed.length;
  };
  add(CHUNK_DATA, smallId, small.length, sealedSmall);
  add(CHUNK_DATA, first.id, first.plain.length, sealedFirst);
  // The tree object needs the pack's address, known only once the pack is sealed: it lists
  // chunks of a pack of its own (the "earlier pack"), written first.
  const earlier = packOf(keys.tocKey, [[CHUNK_DATA, smallId, small.length, sealedSmall]], 10);
  const tree: TreeObject = {
    entries: [
      { name: Buffer.from([0x66, 0xe9]), type: 'symlink', mode: 0o777, mtimeNs: -1_000_000_000n, target: Buffer.from('/etc/passwd') },
      { name: Buffer.from('leia-me.txt'), type: 'file', mode: 0o644, mtimeNs: 1_700_000_000_123_456_789n, size: small.length, ino: '1234', chunks: [{ id: smallId, key: smallKey, raw: small.length, pack: earlier.hex, offset: 0, length: sealedSmall.length }] },
      { name: Buffer.from('sub'), type: 'dir', mode: 0o755, mtimeNs: 0n, tree: { id: Buffer.alloc(32, 1), key: Buffer.alloc(32, 2) } },
    ],
  };
  const treeBytes = encodeTreeObject(tree);
  const treeId = chunkId(keys.idKey, treeBytes);
  const treeKeyOfObject = chunkKey(keys.chunkKeyRoot, treeId);
  const sealedTree = sealChunk(treeKeyOfObject, treeId, CHUNK_TREE, treeBytes, undefined, undefined, vectorNonce(2));
  add(CHUNK_TREE, treeId, treeBytes.length, sealedTree);
  const toc = sealToc(keys.tocKey, entries, vectorNonce(3));
  const pack = Buffer.concat([...parts, toc, trailer(toc.length)]);
  const packHex = createHash('sha256').update(pack).digest('hex');

  // A tree root for that tree object, stored raw, nonce 4; its key from tree nonce 5 (16 bytes).
  const treeNonce = vectorNonce(5, 16);
  const tKey = treeKey(keys.treeKeyRoot, treeNonce);
  const treeOffset = entries[2]!.offset;
  const root = encodeRootBlob(tKey, { root: { id: treeId, key: treeKeyOfObject }, trees: new Map([[hex(treeId), { pack: packHex, offset: treeOffset, length: sealedTree.length, raw: treeBytes.length }]]), files: 1, dirs: 1, bytes: small.length }, undefined, vectorNonce(4));

  return {
    keys: { seed_hex: seedHex, salt: 'koder-snapshot data v2', idKey: hex(keys.idKey), chunkKeyRoot: hex(keys.chunkKeyRoot), chunkerKey: hex(keys.chunkerKey), tocKey: hex(keys.tocKey), treeKeyRoot: hex(keys.treeKeyRoot), gear_first8: [...gear.subarray(0, 8)] },
    chunks: { input_sha256: createHash('sha256').update(input).digest('hex'), input_bytes: input.length, chunks: chunks.map((c) => ({ start: c.start, end: c.end, id: hex(c.id), key: hex(c.key) })) },
    sealedChunk: { plaintext_utf8: small.toString('utf8'), id: hex(smallId), key: hex(smallKey), nonce: hex(vectorNonce(0)), sealed_hex: hex(sealedSmall) },
    earlierPack: { hex: earlier.hex },
    pack: { hex: packHex, bytes: pack.length, toc_nonce: hex(vectorNonce(3)), entries: entries.map((e) => ({ type: e.type, id: hex(e.id), offset: e.offset, length: e.length, raw: e.rawLength })) },
    packBytes: pack,
    tree: { json: treeBytes.toString('utf8'), id: hex(treeId), key: hex(treeKeyOfObject), nonce: hex(vectorNonce(2)), sealed_hex: hex(sealedTree) },
    root: { tree_nonce_base64: treeNonce.toString('base64'), tree_key: hex(tKey), nonce: hex(vectorNonce(4)), address: createHash('sha256').update(root).digest('hex'), bytes: root.length },
    rootBytes: root,
  };
}

function packOf(tocKey: Buffer, items: [0 | 1, Buffer, number, Buffer][], nonceIndex: number): { hex: string; bytes: Buffer } {
  const entries: PackEntry[] = [];
  let at = 0;
  for (const [type, id, raw, sealed] of items) {
    entries.push({ type, id, offset: at, length: sealed.length, rawLength: raw });
    at += sealed.length;
  }
  const toc = sealToc(tocKey, entries, vectorNonce(nonceIndex));
  const bytes = Buffer.concat([...items.map((i) => i[3]), toc, trailer(toc.length)]);
  return { hex: createHash('sha256').update(bytes).digest('hex'), bytes };
}

export function testSeedHex(): string {
  return (JSON.parse(readFileSync(new URL('../vectors/key.json', import.meta.url), 'utf8')) as { seed_hex: string }).seed_hex;
}
