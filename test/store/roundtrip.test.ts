/**
 * Data v2 end to end through the real server: a folder captured into
 * chunks, packs and trees, then restored from the server into a staging
 * folder, byte-identical (modes, mtimes, symlinks incl. absolute ones, hard
 * links, a non-UTF-8 name, empty files and folders, a sparse file).
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, linkSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DriveClient } from '../../src/drive/index.ts';
import { openBlobRemote } from '../../src/drive/blob-remote.ts';
import { deriveDataKeys, treeKey } from '../../src/store/keys.ts';
import { LocalIndex } from '../../src/store/local-index.ts';
import { StoreWriter, driveBytes } from '../../src/store/store-writer.ts';
import { captureFolder } from '../../src/store/folder-capture.ts';
import { TreeReader } from '../../src/store/tree-reader.ts';
import { restoreFolder } from '../../src/store/folder-restore.ts';
import { zstdContext } from '../../src/store/zstd.ts';
import { loginAs, testServer, type TestServer } from '../server/fixture.ts';
import { byteTree } from '../helpers/byte-tree.ts';

let srv: TestServer;
let client: DriveClient;
let work: string;
const seed = randomBytes(32);
const keys = deriveDataKeys(seed);

beforeAll(async () => {
  srv = await testServer();
  const tokens = await loginAs(srv, 'ana');
  client = new DriveClient({ server: srv.url, tokens: tokens.access_token });
  work = mkdtempSync(join(tmpdir(), 'koder-v2-'));
}, 60_000);
afterAll(async () => {
  await srv?.cleanup();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('data v2 round trip', () => {
  it('captures a folder and restores it byte-identical', async () => {
    const src = join(work, 'Documentos');
    mkdirSync(join(src, 'sub/deep'), { recursive: true });
    mkdirSync(join(src, 'empty-folder'));
    writeFileSync(join(src, 'a.txt'), 'hello');
    writeFileSync(join(src, 'empty'), '');
    writeFileSync(join(src, 'big.bin'), randomBytes(3 * 1024 * 1024));
    writeFileSync(join(src, 'sub/deep/z.txt'), 'x'.repeat(3_000_000));
    writeFileSync(Buffer.concat([Buffer.from(src + '/'), Buffer.from([0x66, 0xe9, 0x2e, 0x74])]), 'latin1 name');
    symlinkSync('/etc/passwd', join(src, 'abs-link'));
    symlinkSync('../a.txt', join(src, 'sub/rel-link'));
    linkSync(join(src, 'a.txt'), join(src, 'sub/hard'));
    writeFileSync(join(src, 'script.sh'), '#!/bin/sh\n');
    chmodSync(join(src, 'script.sh'), 0o750);
    writeFileSync(join(src, 'sparse'), '');
    truncateSync(join(src, 'sparse'), 1024 * 1024 * 1024); // 1 GiB of holes: one zero chunk stored, holes restored
    utimesSync(join(src, 'sub'), new Date('1999-12-31T23:59:59.123Z'), new Date('1999-12-31T23:59:59.123Z'));

    const index = LocalIndex.open(join(work, 'cache'), 'ana');
    const w = await StoreWriter.open({ keys, index, cacheDir: join(work, 'cache'), client });
    const box = await captureFolder(w, src, '~/Documentos');
    await w.finish();
    const stored = await box.later;
    await w.close();
    index.close();
    expect(w.newBytes).toBeLessThan(4 * 1024 * 1024); // the sparse file's zeros are one chunk

    const reader = new TreeReader(driveBytes(client), zstdContext());
    const root = await reader.root(stored.tree, treeKey(keys.treeKeyRoot, Buffer.from(stored.nonce, 'base64')));
    const staging = join(work, 'staging');
    const r = await restoreFolder({
      reader,
      root,
      packs: { remote: (p) => openBlobRemote(client, p) },
      staging,
      uid: process.getuid!(),
      gid: process.getgid!(),
    });
    expect(r.files).toBeGreaterThan(5);
    // The root folder's own mode/mtime are the destination's, not the snapshot's.
    const a = byteTree(src);
    const b = byteTree(staging);
    expect(b).toEqual(a);
    expect(statSync(join(staging, 'sparse')).blocks).toBeLessThan(64);
  }, 60_000);
});
