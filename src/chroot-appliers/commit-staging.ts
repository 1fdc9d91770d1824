/**
 * Moving an extracted (and verified) staging tree into place inside the
 * target root.
 *
 * - The staging dir lives on the same filesystem as the destination
 *   (`stagingDirFor` picks it), so every move is a rename(2): atomic per
 *   entry, no data copied.
 * - The destination is resolved inside the target root (safe-path): symlinks
 *   on the way are followed only as if chrooted and never out of the root;
 *   missing directories are created owned by uid/gid.
 * - Below the destination nothing existing is followed: where the staged tree
 *   has an entry and the destination already has one of a different kind or
 *   content (a symlink where we bring a directory, the installer's fresh
 *   .bashrc where we bring the user's), the existing one is first renamed to
 *   `NAME.pre-restore` (`.pre-restore.1`, ... if taken). Identical content
 *   (or the same symlink target) is left as it is. Existing directories are
 *   merged into, keeping their own mode and owner.
 * - Running it again after an interruption is safe: what already moved is
 *   found identical and left.
 */
import { constants as fsc } from 'node:fs';
import { lstat, mkdir, open, readdir, readlink, rename, rm, rmdir, stat, unlink } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative } from 'node:path';
import { ensureDirInRoot, resolveInRoot } from './safe-path.ts';
import { extractTarZst, type ExtractOptions, type ExtractResult } from './tar-extract.ts';
import type { TarZstInput } from './tar-source.ts';
import { lstatOrUndefined } from '../util/fs.ts';
import { placeAside } from './pre-restore.ts';

const STAGING_DIR_NAME = '.koder-restore-staging';

export interface CommitOptions {
  /** The target root (absolute host path). */
  targetRoot: string;
  /** Destination directory inside the target, e.g. "/home/alice". */
  dest: string;
  /** The staged tree (from extractTarZst). Removed when done, success or not. */
  stagingDir: string;
  /** Owner of directories this step creates on the way to `dest`. */
  uid: number;
  gid: number;
}

export interface CommitResult {
  /** Entries moved into place (a moved directory counts once). */
  placed: number;
  /** Files / symlinks already present with identical content, left as they were. */
  identical: number;
  /** Target-relative paths ("/home/alice/.bashrc.pre-restore") of what was set aside. */
  preRestored: string[];
  /** Target-relative paths of directories created on the way to `dest`. */
  createdDirs: string[];
}


/** Compares two regular files byte by byte with bounded memory. */
export async function sameFileContent(a: string | Buffer, b: string | Buffer): Promise<boolean> {
  const [sa, sb] = await Promise.all([stat(a), stat(b)]);
  if (sa.size !== sb.size) return false;
  if (sa.dev === sb.dev && sa.ino === sb.ino) return true;
  const fa = await open(a, fsc.O_RDONLY | fsc.O_NOFOLLOW);
  try {
    const fb = await open(b, fsc.O_RDONLY | fsc.O_NOFOLLOW);
    try {
      const size = 1024 * 1024;
      const ba = Buffer.allocUnsafe(size);
      const bb = Buffer.allocUnsafe(size);
      for (;;) {
        const [ra, rb] = await Promise.all([fa.read(ba, 0, size, null), fb.read(bb, 0, size, null)]);
        if (ra.bytesRead !== rb.bytesRead) return false;
        if (ra.bytesRead === 0) return true;
        if (ba.compare(bb, 0, rb.bytesRead, 0, ra.bytesRead) !== 0) return false;
      }
    } finally {
      await fb.close();
    }
  } finally {
    await fa.close();
  }
}

/**
 * A staging dir for `key` on the same filesystem as `dest` inside the target:
 * `<highest directory of dest's filesystem>/.koder-restore-staging/<key>`
 * (e.g. `ROOT/.koder-restore-staging/K`, or `ROOT/home/.koder-restore-staging/K`
 * when /home is its own partition). A leftover from an interrupted run is
 * removed, unless `keep` (a resumable restore continues in it). The returned
 * dir may not exist yet (its filler creates it).
 */
export async function stagingDirFor(targetRoot: string, dest: string, key: string, o: { keep?: boolean } = {}): Promise<string> {
  if (!/^[A-Za-z0-9._-]+$/.test(key) || key === '.' || key === '..') throw new Error(`bad staging key ${key}`);
  // The nearest existing ancestor of dest decides the filesystem.
  let probe = await resolveInRoot(targetRoot, dest);
  const root = await resolveInRoot(targetRoot, '/');
  while (probe !== root && !(await lstatOrUndefined(probe))) probe = dirname(probe);
  const dev = (await stat(probe)).dev;
  let top = probe;
  while (top !== root) {
    const up = dirname(top);
    if ((await stat(up)).dev !== dev) break;
    top = up;
  }
  const parent = join(top, STAGING_DIR_NAME);
  await mkdir(parent, { mode: 0o700 }).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== 'EEXIST') throw e;
  });
  const st = await lstat(parent);
  if (!st.isDirectory()) throw new Error(`${parent} exists and is not a directory`);
  const dir = join(parent, key);
  // A resumable restore (data v2: per-file journal) keeps what an interrupted run staged.
  if (!o.keep) await rm(dir, { recursive: true, force: true });
  return dir;
}

/** Removes a staging dir and, if empty, its `.koder-restore-staging` parent. */
export async function removeStaging(stagingDir: string): Promise<void> {
  await rm(stagingDir, { recursive: true, force: true });
  const parent = dirname(stagingDir);
  if (parent.endsWith(`/${STAGING_DIR_NAME}`)) await rmdir(parent).catch(() => undefined);
}

const joinBytes = (dir: Buffer, name: Buffer) => Buffer.concat([dir, Buffer.from('/'), name]);

/** Moves the staged tree into `dest` (see the file header). */
export async function commitStaging(opts: CommitOptions): Promise<CommitResult> {
  if (!isAbsolute(opts.targetRoot)) throw new Error(`targetRoot must be absolute: ${opts.targetRoot}`);
  const root = await resolveInRoot(opts.targetRoot, '/');
  const result: CommitResult = { placed: 0, identical: 0, preRestored: [], createdDirs: [] };
  const rel = (p: string) => '/' + relative(root, p);
  try {
    const staging = opts.stagingDir;
    const sst = await lstat(staging);
    if (!sst.isDirectory()) throw new Error(`staging ${staging} is not a directory`);
    const { dir: destDir, created } = await ensureDirInRoot(root, opts.dest, { uid: opts.uid, gid: opts.gid });
    result.createdDirs = created.map(rel);
    if ((await stat(destDir)).dev !== sst.dev) {
      throw new Error(`staging ${staging} and destination ${destDir} are on different filesystems`);
    }

    const setAside = async (d: Buffer) => {
      result.preRestored.push(rel((await placeAside(d)).toString()));
    };

    // Names are bytes (a non-UTF-8 name must arrive as it was staged): paths here are Buffers.
    const mergeDir = async (stagedDir: Buffer, destPath: Buffer): Promise<void> => {
      const items = await readdir(stagedDir, { withFileTypes: true, encoding: 'buffer' });
      for (const it of items) {
        const s = joinBytes(stagedDir, it.name);
        const d = joinBytes(destPath, it.name);
        const ds = await lstatOrUndefined(d);
        if (!ds) {
          await rename(s, d);
          result.placed += 1;
          continue;
        }
        if (it.isDirectory()) {
          if (ds.isDirectory()) {
            await mergeDir(s, d);
            await rmdir(s);
            continue;
          }
          await setAside(d);
          await rename(s, d);
          result.placed += 1;
          continue;
        }
        if (it.isSymbolicLink()) {
          if (ds.isSymbolicLink() && (await readlink(d, { encoding: 'buffer' })).equals(await readlink(s, { encoding: 'buffer' }))) {
            await unlink(s);
            result.identical += 1;
            continue;
          }
        } else if (it.isFile()) {
          if (ds.isFile() && (await sameFileContent(s, d))) {
            await unlink(s);
            result.identical += 1;
            continue;
          }
        } else {
          throw new Error(`unexpected file type in staging: ${s.toString()}`);
        }
        await setAside(d);
        await rename(s, d);
        result.placed += 1;
      }
    };
    await mergeDir(Buffer.from(staging), Buffer.from(destDir));
    return result;
  } finally {
    await removeStaging(opts.stagingDir);
  }
}

export interface RestoreTarZstOptions extends Omit<ExtractOptions, 'stagingDir'> {
  targetRoot: string;
  /** Destination directory inside the target. */
  dest: string;
  /** Names the staging dir (e.g. the blob's sha256). */
  key: string;
}

/**
 * The files applier's data path: stream a .tar.zst blob into a staging dir on
 * the destination's filesystem, verify it, then commit it under `dest`.
 * Nothing is left in the target if extraction or verification fails.
 */
export async function restoreTarZst(
  source: TarZstInput,
  opts: RestoreTarZstOptions,
): Promise<ExtractResult & { commit: CommitResult }> {
  const stagingDir = await stagingDirFor(opts.targetRoot, opts.dest, opts.key);
  let extracted: ExtractResult;
  try {
    extracted = await extractTarZst(source, { ...opts, stagingDir });
  } catch (e) {
    await removeStaging(stagingDir);
    throw e;
  }
  const commit = await commitStaging({
    targetRoot: opts.targetRoot,
    dest: opts.dest,
    stagingDir,
    uid: opts.uid,
    gid: opts.gid,
  });
  return { ...extracted, commit };
}
