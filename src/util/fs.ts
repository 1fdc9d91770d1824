/** Small file-system and error helpers shared by the effectful layers. */
import { lstat, open } from 'node:fs/promises';
import { constants as fsc, type Stats } from 'node:fs';

/** lstat, or undefined when the path does not exist (other errors are thrown). */
export async function lstatOrUndefined(p: string | Buffer): Promise<Stats | undefined> {
  try {
    return await lstat(p);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/** The message of anything thrown. */
export const errMessage = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/**
 * fsync(2) of a directory, so that the entries renamed or created in it
 * survive a crash. A filesystem that cannot sync a directory at all answers
 * EINVAL (procfs, some FUSE and network filesystems): nothing to make durable
 * there, and the rename itself was atomic — ignored. Anything else (EIO: the
 * disk lost the write) is thrown: the caller must not report a durable write.
 */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, fsc.O_RDONLY | fsc.O_DIRECTORY);
  try {
    await fh.sync();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EINVAL') throw e;
  } finally {
    await fh.close();
  }
}
