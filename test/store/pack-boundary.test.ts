/**
 * Packs that fill up in the middle of a capture: the chunk (or tree object)
 * that makes a pack reach its target size seals it at once, and its
 * reference must still learn the pack's address. Captured without a server
 * (a dry run keeps its packs in the cache) with 1 MiB packs, then restored
 * from those local pack files, byte-identical.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, linkSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { captureFolder } from '../../src/store/folder-capture.ts';
import { restoreFolder } from '../../src/store/folder-restore.ts';
import { deriveDataKeys, treeKey } from '../../src/store/keys.ts';
import { LocalIndex } from '../../src/store/local-index.ts';
import { StoreWriter } from '../../src/store/store-writer.ts';
import { TreeReader } from '../../src/store/tree-reader.ts';
import { zstdContext } from '../../src/store/zstd.ts';
import { byteTree } from '../helpers/byte-tree.ts';

const work = mkdtempSync(join(tmpdir(), 'koder-v2-packs-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('packs sealed by the chunk that fills them', () => {
  it('every chunk names its pack, and the folder restores byte-identical', async () => {
    const src = join(work, 'Documentos');
    mkdirSync(join(src, 'sub'), { recursive: true });
    writeFileSync(join(src, 'big.bin'), randomBytes(6 * 1024 * 1024));
    writeFileSync(join(src, 'sub', 'other.bin'), randomBytes(3 * 1024 * 1024));
    for (let i = 0; i < 20; i++) writeFileSync(join(src, 'sub', `t${i}.txt`), `text ${i}\n`.repeat(1000 + i));
    linkSync(join(src, 'sub', 't3.txt'), join(src, 'hard-to-t3'));
    symlinkSync('sub/t4.txt', join(src, 'link-to-t4'));
    writeFileSync(join(src, 'sub', 'empty'), '');

    const keys = deriveDataKeys(randomBytes(32));
    const cache = join(work, 'cache');
    const index = LocalIndex.open(cache, 'dry');
    const w = await StoreWriter.open({ keys, index, cacheDir: cache, packBytes: 1024 * 1024 });
    const box = await captureFolder(w, src, '~/Documentos');
    await w.finish();
    const stored = await box.later;
    await w.close();

    const packDir = join(cache, 'v2', 'packs');
    expect(stored.packs.length).toBeGreaterThan(3);
    for (const p of stored.packs) {
      expect(p).toMatch(/^[0-9a-f]{64}$/);
      expect(existsSync(join(packDir, p))).toBe(true);
    }
    const local = {
      read: async (hex: string, start?: number, end?: number) => {
        const b = readFileSync(join(packDir, hex));
        return start === undefined ? b : b.subarray(start, end === undefined ? undefined : end + 1);
      },
    };
    const reader = new TreeReader(local, zstdContext());
    const root = await reader.root(stored.tree, treeKey(keys.treeKeyRoot, Buffer.from(stored.nonce, 'base64')));
    const staging = join(work, 'staging');
    await restoreFolder({ reader, root, packs: { file: (p) => join(packDir, p) }, staging, uid: process.getuid!(), gid: process.getgid!() });
    expect(byteTree(staging)).toEqual(byteTree(src));
    // Staged whole (its journal says so): a second call, as the step after the
    // fetch-ahead makes, returns at once, reading no tree object and no pack.
    const nothing = new TreeReader({ read: () => Promise.reject(new Error('read a blob')) }, zstdContext());
    const again = await restoreFolder({ reader: nothing, root, packs: { file: () => { throw new Error('read a pack'); } }, staging, uid: process.getuid!(), gid: process.getgid!() });
    expect(again).toMatchObject({ files: 23, resumed: 23, fetched: 0 });
    expect(byteTree(staging)).toEqual(byteTree(src));
    // The same in windows of 3 files (a large folder is restored window by window).
    const windowed = join(work, 'windowed');
    const r = await restoreFolder({ reader, root, packs: { file: (p) => join(packDir, p) }, staging: windowed, uid: process.getuid!(), gid: process.getgid!(), windowFiles: 3 });
    expect(r.files).toBe(23);
    expect(byteTree(windowed)).toEqual(byteTree(src));

    // Windows run while the next is gathered (restore-jobs.ts queues them): a chunk
    // that does not authenticate in a later window still stops the restore, with its
    // code, and nothing of that chunk is written.
    const sub = (await reader.entries(root.root, root)).find((e) => e.name.toString() === 'sub');
    const victim = sub?.type === 'dir' ? (await reader.entries(sub.tree, root)).find((e) => e.name.toString() === 't17.txt') : undefined;
    if (victim?.type !== 'file' || victim.chunks.length !== 1) throw new Error('t17.txt: expected one chunk');
    const badDir = join(work, 'bad-packs');
    mkdirSync(badDir);
    for (const p of stored.packs) writeFileSync(join(badDir, p), readFileSync(join(packDir, p)));
    const c = victim.chunks[0]!;
    const bytes = readFileSync(join(badDir, c.pack));
    bytes[c.offset + (c.length >> 1)]! ^= 0x40;
    writeFileSync(join(badDir, c.pack), bytes);
    const bad = join(work, 'bad');
    await expect(restoreFolder({ reader, root, packs: { file: (p) => join(badDir, p) }, staging: bad, uid: process.getuid!(), gid: process.getgid!(), windowFiles: 3 })).rejects.toMatchObject({ code: 'chunk_auth_failed' });
    expect(existsSync(join(bad, 'sub', 't17.txt')) ? readFileSync(join(bad, 'sub', 't17.txt')).length : 0).toBe(0);
  }, 60_000);
});
