/** Small file-system and error helpers shared by the effectful layers. */
import { lstat } from 'node:fs/promises';
import type { Stats } from 'node:fs';

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
