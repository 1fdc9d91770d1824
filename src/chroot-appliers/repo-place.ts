/**
 * A finished repository into place. It was built in a staging dir on the
 * destination's filesystem (commit-staging.ts `stagingDirFor`), is owned by
 * the target user (lchown -R, never following symlinks), then renamed into
 * place. An existing destination: absent or an empty folder → replaced; the
 * same repository (same HEAD commit and branch) → nothing done (idempotent);
 * anything else → kept as `NAME.pre-restore` (pre-restore.ts) and the
 * restored repo put in its place. Missing parents are made for the user, and
 * removed again if the move fails.
 */
import fs from 'node:fs';
import { lchown, lstat, readdir, rename, rmdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import * as git from 'isomorphic-git';
import { placeAside } from './pre-restore.ts';
import { ensureDirInRoot, resolveInRoot } from './safe-path.ts';
import { lstatOrUndefined } from '../util/fs.ts';

export async function chownTree(p: string, uid: number, gid: number): Promise<void> {
  await lchown(p, uid, gid);
  const st = await lstat(p);
  if (!st.isDirectory()) return;
  for (const name of await readdir(p)) await chownTree(join(p, name), uid, gid);
}

async function headOf(dir: string): Promise<{ oid: string; branch: string | undefined } | undefined> {
  try {
    const oid = await git.resolveRef({ fs, dir, ref: 'HEAD' });
    const branch = (await git.currentBranch({ fs, dir, fullname: false })) ?? undefined;
    return { oid, branch };
  } catch {
    return undefined;
  }
}

type Placed = { kind: 'placed' } | { kind: 'same' } | { kind: 'replaced'; keptAs: string };

/** Moves the finished repo to `dest` (a path inside the target), making its missing parents for the user. */
export async function place(work: string, root: string, dest: string, uid: number, gid: number): Promise<Placed> {
  const { created } = await ensureDirInRoot(root, dirname(dest), { uid, gid });
  try {
    return await placeInto(work, await resolveInRoot(root, dest, { followFinal: false }));
  } catch (e) {
    for (const d of created.reverse()) await rmdir(d).catch(() => undefined);
    throw e;
  }
}

async function placeInto(work: string, destHost: string): Promise<Placed> {
  const st = await lstatOrUndefined(destHost);
  if (!st) {
    await rename(work, destHost);
    return { kind: 'placed' };
  }
  if (st.isDirectory() && (await readdir(destHost)).length === 0) {
    await rmdir(destHost);
    await rename(work, destHost);
    return { kind: 'placed' };
  }
  if (st.isDirectory()) {
    const [mine, theirs] = await Promise.all([headOf(work), headOf(destHost)]);
    if (mine && theirs && mine.oid === theirs.oid && mine.branch === theirs.branch) return { kind: 'same' };
  }
  const keptAs = await placeAside(destHost);
  await rename(work, destHost);
  return { kind: 'replaced', keptAs };
}
