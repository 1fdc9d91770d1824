/**
 * What is already in the target and differs from what a restore brings is
 * never overwritten: it is set aside as `NAME.pre-restore` (ARCHITECTURE.md,
 * safety rules), or `NAME.pre-restore.1`, `.2`, … when an earlier restore
 * already left one. The one naming rule for every applier (files, repos,
 * secrets, apt sources). Paths here are host paths whose parents were
 * already resolved inside the target root (safe-path); the last component is
 * never followed (a dangling symlink takes its name too).
 */
import { link, rename } from 'node:fs/promises';
import { lstatOrUndefined } from '../util/fs.ts';

export const PRE_RESTORE_SUFFIX = '.pre-restore';

/** `p` with a suffix; names are bytes, so a Buffer path stays a Buffer. */
function withSuffix<P extends string | Buffer>(p: P, suffix: string): P {
  return (typeof p === 'string' ? p + suffix : Buffer.concat([p, Buffer.from(suffix)])) as P;
}

/** The first of `p.pre-restore`, `p.pre-restore.1`, … that does not exist. */
export async function freePreRestorePath<P extends string | Buffer>(p: P): Promise<P> {
  let candidate = withSuffix(p, PRE_RESTORE_SUFFIX);
  for (let i = 1; await lstatOrUndefined(candidate); i++) candidate = withSuffix(p, `${PRE_RESTORE_SUFFIX}.${i}`);
  return candidate;
}

/**
 * Sets `p` aside under its free pre-restore name and returns that name.
 * `keepName`: a file or symlink is hard-linked there instead of renamed, so
 * `p` keeps working until the caller renames the restored one over it (no
 * moment without the file); a directory is always renamed.
 */
export async function placeAside<P extends string | Buffer>(p: P, o: { keepName?: boolean } = {}): Promise<P> {
  const aside = await freePreRestorePath(p);
  if (o.keepName && !(await lstatOrUndefined(p))?.isDirectory()) await link(p, aside);
  else await rename(p, aside);
  return aside;
}
