/**
 * Resolving paths inside a target root without ever leaving it.
 *
 * A path is walked component by component with lstat. A symlink met on the
 * way is resolved the way the kernel would resolve it *inside a chroot at the
 * root*: an absolute target starts again at the root, a relative one at the
 * symlink's directory. Unlike a chroot, a `..` that would climb above the root
 * is not clamped but refused with PathEscapeError, and so is a symlink whose
 * resolution climbs above it. Components that do not exist yet are appended
 * literally (they cannot be symlinks).
 *
 * The checks are done on the filesystem as it is when called; the target root
 * is assumed not to be modified concurrently by someone else (the installer
 * hands it over to us), so there is no openat2(RESOLVE_IN_ROOT)-style race
 * protection.
 */
import { chmod, chown, lstat, mkdir, realpath } from 'node:fs/promises';
import { lstatSync, readlinkSync } from 'node:fs';
import { isAbsolute, resolve, sep } from 'node:path';
import { CodedError } from '../util/coded-error.ts';

export type PathEscapeReason = 'dotdot-above-root' | 'symlink-escapes-root' | 'too-many-symlinks' | 'not-a-directory';

/** A path (or a symlink on its way) would leave the target root. */
export class PathEscapeError extends CodedError {
  override name = 'PathEscapeError';
  declare readonly code: 'path_escape';
  constructor(
    readonly root: string,
    readonly path: string,
    readonly reason: PathEscapeReason,
    detail?: string,
  ) {
    super('path_escape', `path ${JSON.stringify(path)} escapes root ${root}: ${reason}${detail ? ` (${detail})` : ''}`, { root, path, reason });
  }
}

export interface ResolveOptions {
  /** Follow a symlink in the last component too (default true). With false the
   *  returned path names the link itself, e.g. to replace it. */
  followFinal?: boolean;
  /** Maximum number of symlinks followed (default 40, as Linux). */
  maxSymlinks?: number;
}

/** Splits a path into components, dropping empty ones and `.`. A leading `/`
 *  is ignored: absolute paths are taken relative to the root. */
export function splitPath(p: string): string[] {
  return p.split('/').filter((c) => c !== '' && c !== '.');
}

/** True when `p` (absolute, normalized) is `root` or below it. */
export function isInside(root: string, p: string): boolean {
  const r = resolve(root);
  const q = resolve(p);
  return q === r || q.startsWith(r === sep ? r : r + sep);
}

interface Fs {
  lstat(p: string): { isSymbolicLink(): boolean; isDirectory(): boolean } | undefined;
  readlink(p: string): string;
}

function walk(root: string, input: string, opts: ResolveOptions, fs: Fs): string {
  const followFinal = opts.followFinal ?? true;
  const max = opts.maxSymlinks ?? 40;
  const stack: string[] = [];
  let queue = splitPath(input);
  let hops = 0;
  let missing = false;
  let viaSymlink: string | undefined;
  while (queue.length > 0) {
    const c = queue[0]!;
    queue = queue.slice(1);
    if (c === '..') {
      if (stack.length === 0) {
        throw viaSymlink
          ? new PathEscapeError(root, input, 'symlink-escapes-root', `via ${viaSymlink}`)
          : new PathEscapeError(root, input, 'dotdot-above-root');
      }
      stack.pop();
      // Walking back up out of a missing part puts us on existing ground again.
      if (missing) missing = existsChain(root, stack, fs) === false;
      continue;
    }
    if (missing) {
      stack.push(c);
      continue;
    }
    const candidate = joinRoot(root, [...stack, c]);
    const st = fs.lstat(candidate);
    if (!st) {
      missing = true;
      stack.push(c);
      continue;
    }
    if (st.isSymbolicLink() && (queue.length > 0 || followFinal)) {
      hops += 1;
      if (hops > max) throw new PathEscapeError(root, input, 'too-many-symlinks');
      const target = fs.readlink(candidate);
      viaSymlink = '/' + [...stack, c].join('/') + ' -> ' + target;
      if (isAbsolute(target)) stack.length = 0;
      queue = [...splitPath(target), ...queue];
      continue;
    }
    if (queue.length > 0 && !st.isDirectory()) {
      throw new PathEscapeError(root, input, 'not-a-directory', '/' + [...stack, c].join('/'));
    }
    stack.push(c);
  }
  return joinRoot(root, stack);
}

function existsChain(root: string, stack: string[], fs: Fs): boolean {
  return stack.length === 0 || fs.lstat(joinRoot(root, stack)) !== undefined;
}

function joinRoot(root: string, parts: string[]): string {
  if (parts.length === 0) return root;
  return (root === sep ? '' : root) + sep + parts.join(sep);
}

/**
 * lstat, undefined when the path does not exist — including when its last
 * component is longer than a name can be (ENAMETOOLONG: no such file can
 * exist, e.g. a dangling symlink's target).
 */
function lstatIfAny(p: string | Buffer, lastComponentBytes: number) {
  try {
    return lstatSync(p);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || (code === 'ENAMETOOLONG' && lastComponentBytes > NAME_MAX)) return undefined;
    throw e;
  }
}
const NAME_MAX = 255;
const lastComponent = (p: string) => p.slice(p.lastIndexOf(sep) + 1);

// The walk is synchronous inside (lstat/readlink of a handful of components);
// the async API keeps callers free to change that later.
const syncFs: Fs = {
  lstat: (p) => lstatIfAny(p, Buffer.byteLength(lastComponent(p))),
  readlink: (p) => readlinkSync(p),
};

/** The same on paths whose bytes are held as latin1 strings (one char per byte): names need not be UTF-8. */
const bytesFs: Fs = {
  lstat: (p) => lstatIfAny(Buffer.from(p, 'latin1'), lastComponent(p).length),
  readlink: (p) => readlinkSync(Buffer.from(p, 'latin1'), { encoding: 'buffer' }).toString('latin1'),
};

/**
 * Resolves `path` (relative, or absolute meaning "from the root") inside
 * `root` and returns the host path. Throws PathEscapeError if it would leave
 * the root. `root` must be an absolute path; it is canonicalized with realpath.
 */
export async function resolveInRoot(root: string, path: string, opts: ResolveOptions = {}): Promise<string> {
  if (!isAbsolute(root)) throw new Error(`root must be absolute: ${root}`);
  const realRoot = await realpath(root);
  return walk(realRoot, path, opts, syncFs);
}

/** Synchronous variant of resolveInRoot (root taken as already canonical). */
export function resolveInRootSync(realRoot: string, path: string, opts: ResolveOptions = {}): string {
  if (!isAbsolute(realRoot)) throw new Error(`root must be absolute: ${realRoot}`);
  return walk(resolve(realRoot), path, opts, syncFs);
}

/**
 * resolveInRootSync on byte paths (file names are bytes on Linux; the tar
 * extractor's are not always UTF-8). `realRoot` is taken as canonical.
 */
export function resolveInRootBytesSync(realRoot: Buffer, path: Buffer, opts: ResolveOptions = {}): Buffer {
  const root = realRoot.toString('latin1');
  if (!isAbsolute(root)) throw new Error(`root must be absolute: ${realRoot.toString()}`);
  return Buffer.from(walk(root, path.toString('latin1'), opts, bytesFs), 'latin1');
}

export interface EnsureDirOptions {
  mode?: number;
  uid?: number;
  gid?: number;
}

/**
 * `mkdir -p` of `path` inside `root`, resolving symlinks as resolveInRoot does.
 * Components it creates get `mode` (default 0755) and, if given, uid/gid.
 * Returns the host path of the directory and the host paths it created
 * (outermost first), so a caller can undo them.
 */
export async function ensureDirInRoot(
  root: string,
  path: string,
  opts: EnsureDirOptions = {},
): Promise<{ dir: string; created: string[] }> {
  const realRoot = await realpath(root);
  const target = walk(realRoot, path, { followFinal: true }, syncFs);
  const rel = target === realRoot ? [] : target.slice(realRoot.length + 1).split(sep);
  const created: string[] = [];
  let cur = realRoot;
  for (const c of rel) {
    cur = joinRoot(cur, [c]);
    let st;
    try {
      st = await lstat(cur);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    if (st) {
      // walk() resolved every symlink, so an existing component is a real dir.
      if (!st.isDirectory()) throw new PathEscapeError(realRoot, path, 'not-a-directory', cur);
      continue;
    }
    await mkdir(cur, { mode: opts.mode ?? 0o755 });
    await chmod(cur, opts.mode ?? 0o755); // not subject to the umask
    if (opts.uid !== undefined || opts.gid !== undefined) await chown(cur, opts.uid ?? -1, opts.gid ?? -1);
    created.push(cur);
  }
  return { dir: target, created };
}
