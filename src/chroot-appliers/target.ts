/**
 * The target root and the user who receives `~` paths, read from the
 * target's own /etc/passwd (the user may have another name or uid than on
 * the captured machine).
 */
import { readFile } from 'node:fs/promises';
import { assertTargetRoot } from './chroot-runner.ts';
import { CodedError } from '../util/coded-error.ts';

export interface Target {
  /** Canonical host path of the target root. */
  root: string;
  user: string;
  uid: number;
  gid: number;
  /** The user's home, as a path inside the target (e.g. `/home/ana`). */
  home: string;
}

export class TargetUserError extends CodedError {
  override name = 'TargetUserError';
  constructor(readonly root: string, readonly user: string, reason: string) {
    super('target_user', `target ${root}: user ${JSON.stringify(user)} ${reason}`, { root, user });
  }
}

export async function resolveTarget(root: string, user: string): Promise<Target> {
  const real = await assertTargetRoot(root);
  let passwd: string;
  try {
    passwd = await readFile(`${real}/etc/passwd`, 'utf8');
  } catch {
    throw new TargetUserError(real, user, 'cannot be looked up: the target has no /etc/passwd');
  }
  for (const line of passwd.split('\n')) {
    const [name, , uid, gid, , home] = line.split(':');
    if (name === user && uid !== undefined && gid !== undefined && home) {
      return { root: real, user, uid: Number(uid), gid: Number(gid), home };
    }
  }
  throw new TargetUserError(real, user, "is not in the target's /etc/passwd (create it first, as the installer does)");
}

/** A manifest path (`~/x` or `/x`) as a path inside the target. */
export function targetPath(target: Target, manifestPath: string): string {
  return manifestPath.startsWith('~/') ? `${target.home.replace(/\/$/, '')}/${manifestPath.slice(2)}` : manifestPath;
}
