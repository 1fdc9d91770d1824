/**
 * Write a file so that readers (and a crash) see the old content or the new,
 * never half: temp file in the same folder, exact mode, fsync, then rename
 * (or link(2) when overwriting is not allowed, which fails with EEXIST if the
 * name appeared meanwhile), then fsync the folder.
 */
import { link, open, rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { randomBytes } from 'node:crypto';
import { fsyncDir } from './fs.ts';

export interface AtomicWriteOptions {
  /** Exact mode of the file (the umask does not apply). Default 0644; null leaves it to the filesystem (FAT on a USB drive refuses chmod). */
  mode?: number | null;
  /** Replace an existing file (default true); false fails with code EEXIST. */
  overwrite?: boolean;
}

export async function writeFileAtomic(path: string, data: string | Uint8Array, { mode = 0o644, overwrite = true }: AtomicWriteOptions = {}): Promise<void> {
  const tmp = `${path}.tmp-${randomBytes(6).toString('hex')}`;
  const fh = await open(tmp, 'wx', mode ?? 0o644);
  try {
    try {
      await fh.writeFile(data);
      if (mode !== null) await fh.chmod(mode);
      await fh.sync();
    } finally {
      await fh.close();
    }
    if (overwrite) await rename(tmp, path);
    else {
      await link(tmp, path);
      await unlink(tmp);
    }
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
  await fsyncDir(dirname(path));
}
