/**
 * Small file operations on the target root for the appliers that edit
 * configuration (system, apt, firstboot): every path is resolved inside the
 * root with safe-path (a symlink is followed only as if chrooted, never out
 * of the root), every write is atomic (temp file + rename), and a write whose
 * content and mode are already there is not done at all, so running an
 * applier again leaves the target byte- and inode-identical.
 */
import { createHash, randomBytes } from 'node:crypto';
import { lstat, readFile, readlink, realpath, rename, stat, symlink, unlink } from 'node:fs/promises';
import { dirname, posix } from 'node:path';
import { writeFileAtomic } from '../util/atomic-write.ts';
import { ensureDirInRoot, resolveInRoot } from './safe-path.ts';
import { freePreRestorePath } from './pre-restore.ts';

export interface WriteOptions {
  /** Exact mode (default 0644). The file is owned by whoever runs the restore (root). */
  mode?: number;
  /** Mode of parent directories this write creates (default 0755). */
  dirMode?: number;
}

const isNotFound = (e: unknown) => {
  const code = (e as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
};

/** Host path of `path` inside `root`; the last component is followed when it is a symlink (inside the root). */
export function hostPath(root: string, path: string, followFinal = true): Promise<string> {
  return resolveInRoot(root, path, { followFinal });
}

/** Text of a file in the target, or undefined when it does not exist. */
export async function readTargetText(root: string, path: string): Promise<string | undefined> {
  const buf = await readTargetBytes(root, path);
  return buf?.toString('utf8');
}

export async function readTargetBytes(root: string, path: string): Promise<Buffer | undefined> {
  const p = await hostPath(root, path);
  try {
    const st = await stat(p);
    if (!st.isFile()) return undefined;
    return await readFile(p);
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
}

/** What is at `path` in the target (the last component not followed). */
export async function targetEntry(root: string, path: string): Promise<'file' | 'dir' | 'symlink' | 'other' | undefined> {
  const p = await hostPath(root, path, false);
  try {
    const st = await lstat(p);
    return st.isFile() ? 'file' : st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : 'other';
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
}

/** True when `path` resolves (inside the root) to an existing regular file. */
export async function isTargetFile(root: string, path: string): Promise<boolean> {
  try {
    return (await stat(await hostPath(root, path))).isFile();
  } catch (e) {
    if (isNotFound(e)) return false;
    throw e;
  }
}

/**
 * Writes `data` to `path` in the target atomically (parents created inside
 * the root). Returns false, touching nothing, when the file already has that
 * content and mode. A symlink in the last component is followed
 * inside the root (the file it names is replaced), like an editor would.
 */
export async function writeTargetFile(root: string, path: string, data: string | Uint8Array, opts: WriteOptions = {}): Promise<boolean> {
  const mode = opts.mode ?? 0o644;
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data);
  const p = await hostPath(root, path);
  let existing: Buffer | undefined;
  let st;
  try {
    st = await lstat(p);
    if (st.isFile()) existing = await readFile(p);
  } catch (e) {
    if (!isNotFound(e)) throw e;
  }
  if (st && !st.isFile()) throw new Error(`${path} in the target is not a regular file`);
  if (existing !== undefined && st && existing.equals(bytes) && (st.mode & 0o7777) === mode) return false;
  await ensureDirInRoot(root, posix.dirname(await toRootRelative(root, p)), { mode: opts.dirMode ?? 0o755 });
  await writeFileAtomic(p, bytes, { mode });
  return true;
}

/** The root-relative form (leading `/`) of a host path resolveInRoot returned. */
async function toRootRelative(root: string, hostP: string): Promise<string> {
  const r = await realpath(root);
  if (hostP === r) return '/';
  if (!hostP.startsWith(r === '/' ? '/' : `${r}/`)) throw new Error(`internal: ${hostP} is not below ${r}`);
  return hostP.slice(r.length);
}

/**
 * Makes `path` in the target a symlink to `linkTarget` (taken as is, it is
 * read inside the target), replacing a file or symlink there atomically.
 * Returns false when it already is that symlink.
 */
export async function symlinkInTarget(root: string, path: string, linkTarget: string): Promise<boolean> {
  const p = await hostPath(root, path, false);
  try {
    const st = await lstat(p);
    if (st.isSymbolicLink() && (await readlink(p)) === linkTarget) return false;
    if (st.isDirectory()) throw new Error(`${path} in the target is a directory`);
  } catch (e) {
    if (!isNotFound(e)) throw e;
  }
  await ensureDirInRoot(root, posix.dirname(await toRootRelative(root, p)));
  const tmp = `${dirname(p)}/.${posix.basename(p)}.koder-link-${randomBytes(6).toString('hex')}`;
  await symlink(linkTarget, tmp);
  try {
    await rename(tmp, p);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
  return true;
}

/** Renames `from` to `to` inside the target (both resolved inside the root, last components not followed). */
export async function renameInTarget(root: string, from: string, to: string): Promise<void> {
  await rename(await hostPath(root, from, false), await hostPath(root, to, false));
}

/** Removes a file or symlink in the target; false when there was none. */
export async function removeInTarget(root: string, path: string): Promise<boolean> {
  try {
    await unlink(await hostPath(root, path, false));
    return true;
  } catch (e) {
    if (isNotFound(e)) return false;
    throw e;
  }
}

/** Lowercase hex sha256 of some bytes. */
export const sha256Hex = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');

/** The target-relative form of pre-restore.ts's free name for `path` (`path.pre-restore`, `.pre-restore.1`, …). */
export async function freePreRestoreName(root: string, path: string): Promise<string> {
  const p = await hostPath(root, path, false);
  return path + (await freePreRestorePath(p)).slice(p.length);
}
