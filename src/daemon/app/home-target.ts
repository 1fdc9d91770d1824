/**
 * Restoring into the running home (the Backup app) — a deliberate path of
 * its own, not the CLI's target rules loosened. The CLI and the installer
 * restore into a mounted root and refuse this running system's own `/`
 * (chroot-appliers/chroot-runner.ts, assertTargetRoot); the app restores the
 * person's own files, as that person (no root), into their own home.
 *
 * The target's root is the home itself, so every path the files applier
 * resolves ("as if chrooted", safe-path.ts) stays inside it, and its staging
 * folder is `~/.koder-restore-staging` on the home's filesystem. Inside that
 * root the target user's home is `/` (in place: `~/Documentos` lands in
 * `~/Documentos`, a differing file already there kept as `NAME.pre-restore`)
 * or `/Restored 2026-05-02` (a new folder: `~/Restored 2026-05-02/Documentos`).
 *
 * Only `~/…` paths are restored this way (an absolute path of the snapshot,
 * `/etc/…`, is refused), and in place a folder on the way that is a
 * symbolic link is refused rather than followed: inside this root an
 * absolute link would be read as a path under the home.
 */
import { lstat, realpath } from 'node:fs/promises';
import { join } from 'node:path';
import type { Target } from '../../chroot-appliers/target.ts';
import { CodedError } from '../../util/coded-error.ts';

export interface HomeTargetOptions {
  /** The person's home (absolute). */
  home: string;
  user: string;
  uid: number;
  gid: number;
  /** A folder under the home to restore into (`Restored 2026-05-02`), or undefined: in place. */
  into?: string;
}

/** The folder a restore of `date` goes into by default: `Restored YYYY-MM-DD` (the person's local date). */
export function restoredFolderName(date: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `Restored ${date.getFullYear()}-${p(date.getMonth() + 1)}-${p(date.getDate())}`;
}

export async function homeTarget(o: HomeTargetOptions): Promise<Target> {
  if (o.into !== undefined && (o.into === '' || o.into.includes('/') || o.into === '.' || o.into === '..')) {
    throw new CodedError('app_restore_outside_home', `not a folder name: ${JSON.stringify(o.into)}`);
  }
  const root = await realpath(o.home);
  return { root, user: o.user, uid: o.uid, gid: o.gid, home: o.into === undefined ? '/' : `/${o.into}` };
}

/** Refuses a path that is not `~/…` (or `~`-relative names that climb out). */
export function checkHomePath(path: string): void {
  const parts = path.split('/');
  if (parts[0] !== '~' || parts.length < 2 || parts.slice(1).some((p) => p === '' || p === '.' || p === '..')) {
    throw new CodedError('app_restore_outside_home', `${path}: only folders and files of the home (~/…) are restored here`);
  }
}

/**
 * In place: the existing part of `~/a/b/c` must be real folders (and a file
 * at the end), no symbolic link on the way.
 */
export async function checkNoLinkOnTheWay(home: string, path: string): Promise<void> {
  let at = home;
  for (const part of path.split('/').slice(1)) {
    at = join(at, part);
    const st = await lstat(at).catch(() => undefined);
    if (!st) return;
    if (st.isSymbolicLink()) {
      throw new CodedError('app_restore_through_link', `~/${at.slice(home.length + 1)} is a symbolic link: restore into a new folder instead (the app does not follow it)`);
    }
  }
}
