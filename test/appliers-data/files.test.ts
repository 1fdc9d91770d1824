import { randomBytes } from 'node:crypto';
import { existsSync, lstatSync, readFileSync } from 'node:fs';
import { chmod, chown, link, mkdir, readdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { applyFiles } from '../../src/chroot-appliers/files.ts';
import { TarHashMismatchError } from '../../src/chroot-appliers/tar-errors.ts';
import { isVerificationError } from '../../src/util/coded-error.ts';
import type { FileEntryV1 as FileEntry, Manifest } from '../../src/manifest/types.ts';
import { buildTar, zstdCli } from '../chroot/tar-builder.ts';
import { snapshotForCompare, snapshotTree } from '../chroot/tree.ts';
import { BlobHashMismatchError } from '../helpers/blob-dir.ts';
import { baseManifest, captureFolder, GID, makeCtx, makeEnv, recorder, sha256Hex, stepOf, UID, type Env } from './setup.ts';

let env: Env;
beforeEach(async () => {
  env = await makeEnv();
});
afterEach(async () => {
  await env.dispose();
});

/** A folder like a person's Documentos, owned by root (so the owner change shows). */
async function makeDocs(dir: string): Promise<void> {
  await mkdir(join(dir, 'sub/deeper'), { recursive: true });
  await mkdir(join(dir, 'empty'));
  await writeFile(join(dir, 'a.txt'), 'hello from the old laptop\n');
  await writeFile(join(dir, 'run.sh'), '#!/bin/sh\necho hi\n');
  await writeFile(join(dir, 'relatório ção.txt'), 'acentos\n');
  await writeFile(join(dir, 'sub/private.txt'), 'only me\n');
  await writeFile(join(dir, 'sub/deeper/big.bin'), randomBytes(3 * 1024 * 1024 + 17));
  await link(join(dir, 'a.txt'), join(dir, 'a-hard.txt'));
  await symlink('sub/private.txt', join(dir, 'link-to-private'));
  await chmod(join(dir, 'run.sh'), 0o755);
  await chmod(join(dir, 'sub/private.txt'), 0o600);
  await chmod(join(dir, 'sub'), 0o750);
  await chmod(join(dir, 'empty'), 0o700);
  await chmod(join(dir, 'a.txt'), 0o640);
}

async function filesEntry(localPath: string, folder: string, opts: { storedSize?: boolean } = {}): Promise<FileEntry> {
  const { tar, zst } = captureFolder(folder);
  const blob = await env.blobs.put(zst);
  return { local_path: localPath, blob, sha256: sha256Hex(tar), size: tar.length, ...(opts.storedSize === false ? {} : { stored_size: zst.length }) };
}

function manifestWith(...entries: FileEntry[]): Manifest {
  return { ...baseManifest(), files: { entry: entries } };
}

const restore = async (m: Manifest, key: string, progress = recorder()) => {
  const ctx = makeCtx(env, m);
  return applyFiles(stepOf(ctx, 'files.restore', key), ctx, progress);
};

/** Everything in the target root, for "nothing changed" checks. */
const rootTree = () => snapshotForCompare(env.root);

describe('files.restore', () => {
  it('restores a folder byte-identical, with modes, owned by the target user, entries relative to the folder', async () => {
    const src = join(env.base, 'captured/Documentos');
    await makeDocs(src);
    const entry = await filesEntry('~/Documentos', src);
    const progress = recorder();
    const out = await restore(manifestWith(entry), '~/Documentos', progress);
    expect(out.status).toBe('done');
    expect(out.details).toBeUndefined();

    const dest = join(env.root, 'home/ana/Documentos');
    // `./a.txt` landed in ~/Documentos/a.txt, not in ~/a.txt or ~/Documentos/Documentos.
    expect(readFileSync(join(dest, 'a.txt'), 'utf8')).toBe('hello from the old laptop\n');
    expect(existsSync(join(env.root, 'home/ana/a.txt'))).toBe(false);

    const want = snapshotTree(src);
    const got = snapshotTree(dest);
    expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
    for (const [rel, w] of want) {
      const g = got.get(rel)!;
      expect(g.type, rel).toBe(w.type);
      expect(g.sha256, rel).toBe(w.sha256);
      expect(g.link, rel).toBe(w.link);
      if (rel !== '') expect(g.mode.toString(8), rel).toBe(w.mode.toString(8));
      if (w.type === 'file') expect(g.mtimeSec, rel).toBe(w.mtimeSec);
      expect([g.uid, g.gid], rel).toEqual([UID, GID]);
      expect(w.uid, 'source is root-owned').toBe(0);
    }
    // The folder itself: created for the user, 0755.
    expect(got.get('')!.mode).toBe(0o755);
    // The hard link is still one file.
    expect(got.get('a-hard.txt')!.ino).toBe(got.get('a.txt')!.ino);
    // Progress in stored bytes, ending with the whole blob and one item.
    expect(progress.calls.at(-1)).toEqual({ bytes: entry.stored_size, items: 1 });
    // No staging left.
    expect(existsSync(join(env.root, '.koder-restore-staging'))).toBe(false);
  });

  it('counts progress in tar bytes when the manifest has no stored_size (the plan counted those)', async () => {
    const src = join(env.base, 'captured/Musica');
    await makeDocs(src);
    const entry = await filesEntry('~/Música', src, { storedSize: false });
    const progress = recorder();
    const m = manifestWith(entry);
    const ctx = makeCtx(env, m);
    const step = stepOf(ctx, 'files.restore', '~/Música');
    expect(step.bytes).toBe(entry.size);
    await applyFiles(step, ctx, progress);
    expect(progress.calls.at(-1)).toEqual({ bytes: entry.size, items: 1 });
  });

  it('keeps an existing different ~/.bashrc as .bashrc.pre-restore, leaves an identical file alone, and a second run changes nothing', async () => {
    // The captured home (as an absolute-path entry: the format has no `~` alone).
    const src = join(env.base, 'captured/home');
    await mkdir(join(src, '.config/app'), { recursive: true });
    await writeFile(join(src, '.bashrc'), 'alias ll="ls -la"\nexport EDITOR=vim\n');
    await writeFile(join(src, '.profile'), 'same profile\n');
    await writeFile(join(src, '.config/app/settings.ini'), '[x]\ny=1\n');
    // What the installer left in the fresh home.
    const home = join(env.root, 'home/ana');
    await writeFile(join(home, '.bashrc'), '# fresh bashrc from /etc/skel\n', { mode: 0o644 });
    await writeFile(join(home, '.profile'), 'same profile\n', { mode: 0o644 });
    await chown(join(home, '.bashrc'), UID, GID);
    await chown(join(home, '.profile'), UID, GID);
    const profileIno = lstatSync(join(home, '.profile')).ino;

    const m = manifestWith(await filesEntry('/home/ana', src));
    const out = await restore(m, '/home/ana');
    expect(out.status).toBe('done');
    expect(out.details).toEqual(['kept /home/ana/.bashrc.pre-restore (was different)']);
    expect(out.preRestored).toEqual(['/home/ana/.bashrc.pre-restore']);
    expect(readFileSync(join(home, '.bashrc'), 'utf8')).toBe('alias ll="ls -la"\nexport EDITOR=vim\n');
    expect(readFileSync(join(home, '.bashrc.pre-restore'), 'utf8')).toBe('# fresh bashrc from /etc/skel\n');
    expect(lstatSync(join(home, '.profile')).ino).toBe(profileIno);
    expect(readFileSync(join(home, '.config/app/settings.ini'), 'utf8')).toBe('[x]\ny=1\n');
    expect(lstatSync(join(home, '.config')).uid).toBe(UID);

    const before = rootTree();
    const again = await restore(m, '/home/ana');
    expect(again.status).toBe('done');
    expect(again.details).toBeUndefined();
    expect(rootTree()).toEqual(before);
    expect((await readdir(home)).filter((n) => n.includes('pre-restore'))).toEqual(['.bashrc.pre-restore']);
  });

  it('a second run over a restored folder changes nothing (tree hash of the whole target)', async () => {
    const src = join(env.base, 'captured/Documentos');
    await makeDocs(src);
    const m = manifestWith(await filesEntry('~/Documentos', src));
    await restore(m, '~/Documentos');
    const before = rootTree();
    const out = await restore(m, '~/Documentos');
    expect(out.status).toBe('done');
    expect(rootTree()).toEqual(before);
  });

  describe('a tampered blob throws and leaves nothing in the target', () => {
    let entry: FileEntry;
    let m: Manifest;
    let before: ReturnType<typeof rootTree>;
    beforeEach(async () => {
      const src = join(env.base, 'captured/Documentos');
      await makeDocs(src);
      entry = await filesEntry('~/Documentos', src);
      m = manifestWith(entry);
      before = rootTree();
    });
    const expectNothingLeft = () => {
      expect(rootTree()).toEqual(before);
      expect(existsSync(join(env.root, 'home/ana/Documentos'))).toBe(false);
    };

    it('one flipped byte in the middle of the compressed data', async () => {
      await env.blobs.tamper(entry.blob, (b) => {
        b[Math.floor(b.length / 2)]! ^= 0x20;
        return b;
      });
      await expect(restore(m, '~/Documentos')).rejects.toBeInstanceOf(BlobHashMismatchError);
      expectNothingLeft();
    });

    it('a flipped byte in the zstd frame header (zstd fails first: the blob is read again to tell tampering)', async () => {
      await env.blobs.tamper(entry.blob, (b) => {
        b[4]! ^= 0xff;
        return b;
      });
      await expect(restore(m, '~/Documentos')).rejects.toBeInstanceOf(BlobHashMismatchError);
      expect(env.blobs.opened.filter((r) => r === entry.blob)).toHaveLength(2);
      expectNothingLeft();
    });

    it('a malicious archive stored under the address (refused entry first, then the address check)', async () => {
      const tar = buildTar([
        { name: './a.txt', data: 'x' },
        { name: '../../../../evil.txt', data: 'pwned' },
        { name: './pad.bin', data: randomBytes(4 * 1024 * 1024) }, // so the address check comes last
      ]);
      await env.blobs.tamper(entry.blob, () => zstdCli(tar));
      await expect(restore(m, '~/Documentos')).rejects.toBeInstanceOf(BlobHashMismatchError);
      expectNothingLeft();
      expect(existsSync(join(env.base, 'evil.txt'))).toBe(false);
    });

    it('another valid .tar.zst stored under the address (the source does not hash: the extractor worker does)', async () => {
      const other = join(env.base, 'evil');
      await mkdir(other);
      await writeFile(join(other, 'a.txt'), 'not what you wrote\n');
      const { zst } = captureFolder(other);
      await env.blobs.tamper(entry.blob, () => zst);
      const e = await restore(m, '~/Documentos').catch((x: unknown) => x);
      expect(e).toBeInstanceOf(TarHashMismatchError);
      expect(e).toMatchObject({ which: 'blob', expected: entry.blob.slice('sha256:'.length) });
      expect(isVerificationError(e)).toBe(true);
      expectNothingLeft();
    });

    it('a truncated blob', async () => {
      await env.blobs.tamper(entry.blob, (b) => b.subarray(0, b.length - 1000));
      await expect(restore(m, '~/Documentos')).rejects.toBeInstanceOf(BlobHashMismatchError);
      expectNothingLeft();
    });

  });

  it('an authentic archive with an unsafe entry is refused as a failed item, nothing written anywhere', async () => {
    const outside = join(env.base, 'outside.txt');
    for (const bad of [
      [{ name: './ok.txt', data: 'ok' }, { name: '../../../outside.txt', data: 'pwned' }],
      [{ name: './ok.txt', data: 'ok' }, { name: '/etc/evil', data: 'pwned' }],
      [{ name: './ok.txt', data: 'ok' }, { name: './tty', type: '3', devmajor: 5, devminor: 0 }],
      [{ name: './ok.txt', data: 'ok' }, { name: './suid', data: 'x', mode: 0o4755 }],
      [{ name: './up', type: '2', linkname: '../../../..' }, { name: './up/outside.txt', data: 'pwned' }],
    ]) {
      const tar = buildTar(bad);
      const zst = zstdCli(tar);
      const entry: FileEntry = { local_path: '~/Documentos', blob: await env.blobs.put(zst), sha256: sha256Hex(tar), size: tar.length, stored_size: zst.length };
      const before = rootTree();
      const out = await restore(manifestWith(entry), '~/Documentos');
      expect(out.status, JSON.stringify(bad[1])).toBe('failed');
      expect(out.message).toMatch(/archive refused: unsafe tar entry/);
      expect(rootTree()).toEqual(before);
      expect(existsSync(outside)).toBe(false);
    }
  });

  it('a destination that is a symlink climbing out of the root is refused (failed), nothing written outside', async () => {
    const src = join(env.base, 'captured/Documentos');
    await makeDocs(src);
    const m = manifestWith(await filesEntry('~/Documentos', src));
    await symlink('../../../escaped', join(env.root, 'home/ana/Documentos'));
    const out = await restore(m, '~/Documentos');
    expect(out.status).toBe('failed');
    expect(out.message).toMatch(/escapes root/);
    expect(existsSync(join(env.base, 'escaped'))).toBe(false);
    expect(existsSync(join(env.root, '.koder-restore-staging'))).toBe(false);
  });

  it('an entry missing from the manifest is a failed step, not a throw', async () => {
    const m = manifestWith();
    const ctx = makeCtx(env, m);
    const out = await applyFiles({ id: 'files.restore:~/Nope', kind: 'files.restore', category: 'files', label: '', key: '~/Nope', bytes: 0, items: 1 }, ctx, recorder());
    expect(out.status).toBe('failed');
  });
});
