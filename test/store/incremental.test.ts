/**
 * An incremental capture through the real server: a large file edited in
 * one place is read again, but only its changed chunk is sealed and stored
 * (its other chunks are named from the parent's list, not sealed again);
 * new and unchanged files; the result restores byte-identical. Also: a
 * chunk sealed straight into a buffer (sealChunkInto) is the same format as
 * sealChunk's.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, mkdtempSync, openSync, readdirSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DriveClient } from '../../src/drive/index.ts';
import { openBlobRemote } from '../../src/drive/blob-remote.ts';
import { CHUNK_DATA, openChunk, sealBound, sealChunkInto } from '../../src/store/chunk-crypto.ts';
import { captureFolder } from '../../src/store/folder-capture.ts';
import { restoreFolder } from '../../src/store/folder-restore.ts';
import { chunkId, chunkKey, deriveDataKeys, treeKey } from '../../src/store/keys.ts';
import { LocalIndex } from '../../src/store/local-index.ts';
import { StoreWriter, driveBytes, type FolderStored } from '../../src/store/store-writer.ts';
import { TreeReader } from '../../src/store/tree-reader.ts';
import { zstdContext } from '../../src/store/zstd.ts';
import { byteTree } from '../helpers/byte-tree.ts';
import { loginAs, testServer, type TestServer } from '../server/fixture.ts';

let srv: TestServer;
let client: DriveClient;
const work = mkdtempSync(join(tmpdir(), 'koder-v2-incr-'));
const keys = deriveDataKeys(randomBytes(32));
const MiB = 1024 * 1024;

beforeAll(async () => {
  srv = await testServer();
  client = new DriveClient({ server: srv.url, tokens: (await loginAs(srv, 'ines')).access_token });
}, 60_000);
afterAll(async () => {
  await srv?.cleanup();
  rmSync(work, { recursive: true, force: true });
});

describe('sealChunkInto', () => {
  it('writes what openChunk opens, compressed or raw, at any offset', () => {
    const zstd = zstdContext();
    for (const plain of [Buffer.from('abc'.repeat(100_000)), randomBytes(300_000), Buffer.alloc(10)]) {
      const id = chunkId(keys.idKey, plain);
      const key = chunkKey(keys.chunkKeyRoot, id);
      const dst = Buffer.alloc(7 + sealBound(plain.length, zstd));
      const n = sealChunkInto(dst, 7, key, id, CHUNK_DATA, plain, zstd);
      expect(n).toBeLessThanOrEqual(sealBound(plain.length, zstd));
      expect(openChunk(key, id, CHUNK_DATA, dst.subarray(7, 7 + n), plain.length, zstd).equals(plain)).toBe(true);
      dst[27] = dst[27]! ^ 1;
      expect(() => openChunk(key, id, CHUNK_DATA, dst.subarray(7, 7 + n), plain.length, zstd)).toThrow(/does not authenticate/);
    }
  });
});

describe('incremental capture', () => {
  const cache = join(work, 'cache');
  const src = join(work, 'Documentos');

  async function captureOnce(parent?: FolderStored): Promise<{ stored: FolderStored; newBytes: number }> {
    const index = LocalIndex.open(cache, 'ines');
    const w = await StoreWriter.open({ keys, index, cacheDir: cache, client });
    const box = await captureFolder(w, src, '~/Documentos', parent ? { parent: parent.root } : {});
    await w.finish();
    const stored = await box.later;
    await w.close();
    return { stored, newBytes: w.newBytes };
  }

  it('stores only the changed chunk of a large edited file, and restores byte-identical', async () => {
    mkdirSync(join(src, 'sub'), { recursive: true });
    writeFileSync(join(src, 'video.bin'), randomBytes(24 * MiB));
    for (let i = 0; i < 30; i++) writeFileSync(join(src, 'sub', `t${i}.txt`), `line ${i}\n`.repeat(500));
    const first = await captureOnce();
    expect(first.newBytes).toBeGreaterThan(24 * MiB);
    // Its tree pack stays in the cache for the next capture (the data packs go once uploaded).
    expect(readdirSync(join(cache, 'v2', 'ines', 'tree-packs')).length).toBe(1);
    expect(readdirSync(join(cache, 'v2', 'packs'))).toEqual([]);

    // 4 KiB overwritten in the middle of the video, one new small file.
    const fd = openSync(join(src, 'video.bin'), 'r+');
    writeSync(fd, randomBytes(4096), 0, 4096, 12 * MiB);
    closeSync(fd);
    writeFileSync(join(src, 'sub', 'new.txt'), 'new');
    const second = await captureOnce(first.stored);
    // One or two chunks (≤ 8 MiB each, ≈ 1 MiB on average) and the changed trees.
    expect(second.newBytes).toBeGreaterThan(0);
    expect(second.newBytes).toBeLessThan(6 * MiB);

    const reader = new TreeReader(driveBytes(client), zstdContext());
    const root = await reader.root(second.stored.tree, treeKey(keys.treeKeyRoot, Buffer.from(second.stored.nonce, 'base64')));
    const staging = join(work, 'staging');
    await restoreFolder({ reader, root, packs: { remote: (p) => openBlobRemote(client, p) }, staging, uid: process.getuid!(), gid: process.getgid!() });
    expect(byteTree(staging)).toEqual(byteTree(src));
  }, 120_000);
});
