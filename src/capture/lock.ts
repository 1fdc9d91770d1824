/**
 * One capture at a time per cache folder (the weekly timer and a manual run
 * must not build the same blobs at once): `<cache>/capture.lock` holds the
 * pid of its owner; a lock whose process is gone is taken over.
 */
import { open, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { CaptureError } from './errors.ts';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes the lock; returns its release. Throws CaptureError('capture_locked') if a live capture holds it. */
export async function acquireLock(dir: string): Promise<() => Promise<void>> {
  const file = join(dir, 'capture.lock');
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fh = await open(file, 'wx', 0o600);
      await fh.writeFile(`${process.pid}\n`);
      await fh.close();
      return async () => {
        await unlink(file).catch(() => undefined);
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const pid = Number((await readFile(file, 'utf8').catch(() => '')).trim());
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) {
        throw new CaptureError('capture_locked', `another capture (pid ${pid}) is running (lock ${file})`);
      }
      await unlink(file).catch(() => undefined);
    }
  }
  throw new CaptureError('capture_locked', `cannot take the lock ${file}`);
}
