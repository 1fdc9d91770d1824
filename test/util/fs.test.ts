/**
 * fsyncDir against real filesystems: a directory that syncs, one whose
 * filesystem cannot sync directories (procfs: EINVAL, ignored), and a disk
 * that loses the write (EIO, thrown): an ext4 image on a loop device whose
 * backing file lives on a 2 MiB tmpfs — once the tmpfs is full, the blocks a
 * growing directory needs cannot be written.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, openSync, closeSync, fsyncSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fsyncDir } from '../../src/util/fs.ts';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ks-fsyncdir-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Mounts a failing disk at `mnt`; undefined when mounting is not permitted here. */
function failingDisk(base: string): { mnt: string; dispose(): void } | undefined {
  const small = join(base, 'small');
  const mnt = join(base, 'mnt');
  mkdirSync(small);
  mkdirSync(mnt);
  const mounted: string[] = [];
  const dispose = () => {
    for (const m of mounted.reverse()) execFileSync('umount', [m], { stdio: 'ignore' });
  };
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'koder-test-eio', small], { stdio: 'ignore' });
    mounted.push(small);
    execFileSync('truncate', ['-s', '64M', join(small, 'img')]);
    execFileSync('mkfs.ext4', ['-q', '-F', '-O', '^has_journal', join(small, 'img')], { stdio: 'ignore' });
    execFileSync('mount', ['-o', 'loop', join(small, 'img'), mnt], { stdio: 'ignore' });
    mounted.push(mnt);
    return { mnt, dispose };
  } catch {
    dispose();
    return undefined;
  }
}

describe('fsyncDir', () => {
  it('syncs a directory after a rename in it', async () => {
    writeFileSync(join(dir, 'a.tmp'), 'x');
    execFileSync('mv', [join(dir, 'a.tmp'), join(dir, 'a')]);
    await expect(fsyncDir(dir)).resolves.toBeUndefined();
  });

  it('ignores EINVAL: the filesystem cannot sync a directory (procfs)', async () => {
    const fd = openSync('/proc', 'r');
    try {
      expect(() => fsyncSync(fd)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    } finally {
      closeSync(fd);
    }
    await expect(fsyncDir('/proc')).resolves.toBeUndefined();
  });

  it('throws what is not a directory or not there', async () => {
    writeFileSync(join(dir, 'file'), 'x');
    await expect(fsyncDir(join(dir, 'file'))).rejects.toMatchObject({ code: 'ENOTDIR' });
    await expect(fsyncDir(join(dir, 'missing'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('throws EIO: the disk lost the directory\'s new entries', async (t) => {
    const disk = failingDisk(mkdtempSync(join(dir, 'eio-')));
    if (!disk) return t.skip('cannot mount a tmpfs and a loop device here');
    try {
      const d = join(disk.mnt, 'd');
      mkdirSync(d);
      await fsyncDir(d);
      // Fill the backing tmpfs, then grow the directory into blocks it cannot hold.
      writeFileSync(join(disk.mnt, 'big'), Buffer.alloc(8 << 20, 1));
      const big = openSync(join(disk.mnt, 'big'), 'r+');
      try {
        expect(() => fsyncSync(big)).toThrow(); // its blocks do not fit: the backing tmpfs is now full
      } finally {
        closeSync(big);
      }
      for (let i = 0; i < 3000; i++) writeFileSync(join(d, `an-entry-with-a-long-name-${i}`), '');
      await expect(fsyncDir(d)).rejects.toMatchObject({ code: 'EIO' });
    } finally {
      disk.dispose();
    }
  });
});
