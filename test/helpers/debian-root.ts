/**
 * Real Debian roots for tests that need one.
 *
 * - `minbaseTarball()` builds `.cache/bookworm-minbase.tar.zst` once with
 *   `mmdebstrap --variant=minbase bookworm OUT <host's bookworm apt sources>`.
 *   Concurrency-safe across vitest workers: the build runs under `flock(1)` on
 *   `.cache/bookworm-minbase.lock` (released by the kernel if the builder dies),
 *   writes to a temporary name and renames it into place.
 * - `makeDebianRoot()` extracts that tarball (`zstd -d | tar -x`, owners, modes
 *   and device nodes preserved) onto a fresh **tmpfs** mounted on a mkdtemp dir
 *   (unmounted and removed by `dispose`). If mounting a tmpfs is not permitted
 *   it falls back to a plain mkdtemp dir on disk; `onTmpfs` says which
 *   (KODER_TEST_ROOT_ON_DISK=1 forces disk). The tmpfs is mounted in the
 *   host's namespace (a private namespace cannot span async node code), so a
 *   test process killed before dispose leaves it mounted: `umount` it by hand.
 * - `makeEmptyRoot()` is an empty mkdtemp dir (on disk) with the same shape.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface TestRoot {
  /** Absolute path of the root directory. */
  root: string;
  /** True when `root` is a tmpfs mount (unmounted by dispose). */
  onTmpfs: boolean;
  /** Unmounts (if tmpfs) and removes everything. Idempotent. */
  dispose(): Promise<void>;
}

const here = dirname(fileURLToPath(import.meta.url));
export const cacheDir = resolve(process.env.KODER_CACHE_DIR ?? join(here, '..', '..', '.cache'));
export const minbaseTarballPath = join(cacheDir, 'bookworm-minbase.tar.zst');

function run(cmd: string, args: string[], opts: { stdio?: 'inherit' | 'pipe' } = {}): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (opts.stdio === 'inherit') process.stderr.write(d);
    });
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      if (err.length > 64 * 1024) err = err.slice(-32 * 1024);
      if (opts.stdio === 'inherit') process.stderr.write(d);
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code === 0) resolvePromise(out);
      else reject(new Error(`${cmd} ${args.join(' ')} failed (${code ?? signal}):\n${err.slice(-4000)}`));
    });
  });
}

/**
 * The host's enabled apt source files that carry the bookworm suite (so a
 * disabled or third-party source such as nodesource is not copied into the
 * test root). Override with KODER_MMDEBSTRAP_MIRRORS (space separated; any
 * mmdebstrap MIRROR argument: URL, "deb ..." line or file path).
 */
function hostBookwormSources(): string[] {
  const env = process.env.KODER_MMDEBSTRAP_MIRRORS;
  if (env && env.trim()) return env.trim().split(/\s+/);
  const files: string[] = [];
  const main = '/etc/apt/sources.list';
  if (existsSync(main)) files.push(main);
  const dir = '/etc/apt/sources.list.d';
  if (existsSync(dir)) {
    for (const name of readdirSync(dir).sort()) {
      if (name.endsWith('.list') || name.endsWith('.sources')) files.push(join(dir, name));
    }
  }
  const picked = files.filter((f) => {
    try {
      const text = readFileSync(f, 'utf8')
        .split('\n')
        .filter((l) => !l.trimStart().startsWith('#'))
        .join('\n');
      if (/^\s*Enabled:\s*no\s*$/im.test(text)) return false;
      return /\bbookworm\b/.test(text) && /debian/.test(text);
    } catch {
      return false;
    }
  });
  // No usable host source: mmdebstrap's default mirror (deb.debian.org).
  return picked;
}

let tarballPromise: Promise<string> | undefined;

/** Path of the cached bookworm minbase tarball; builds it on first use. */
export function minbaseTarball(): Promise<string> {
  tarballPromise ??= buildMinbase().catch((e: unknown) => {
    tarballPromise = undefined;
    throw e;
  });
  return tarballPromise;
}

async function buildMinbase(): Promise<string> {
  if (existsSync(minbaseTarballPath) && statSync(minbaseTarballPath).size > 0) return minbaseTarballPath;
  await mkdir(cacheDir, { recursive: true });
  const lock = join(cacheDir, 'bookworm-minbase.lock');
  // Inside the lock: re-check, build to a temp name, rename. The temp name
  // ends with .tar.zst so mmdebstrap picks tar format + zstd compression.
  const script = [
    'set -eu',
    'out="$1"; shift',
    '[ -s "$out" ] && exit 0',
    'tmp="${out%.tar.zst}.tmp-$$.tar.zst"',
    'trap \'rm -f "$tmp"\' EXIT',
    'mmdebstrap --quiet --variant=minbase --aptopt=\'Acquire::Check-Valid-Until "false"\' bookworm "$tmp" "$@"',
    'mv -f "$tmp" "$out"',
  ].join('\n');
  await run('flock', [lock, 'sh', '-c', script, 'sh', minbaseTarballPath, ...hostBookwormSources()], {
    stdio: process.env.KODER_VERBOSE ? 'inherit' : 'pipe',
  });
  if (!existsSync(minbaseTarballPath)) throw new Error(`mmdebstrap did not produce ${minbaseTarballPath}`);
  return minbaseTarballPath;
}

async function tryMountTmpfs(dir: string): Promise<boolean> {
  if (process.env.KODER_TEST_ROOT_ON_DISK) return false;
  try {
    await run('mount', ['-t', 'tmpfs', '-o', 'mode=0755,size=2g', 'koder-test-root', dir]);
    return true;
  } catch {
    return false;
  }
}

async function disposer(root: string, onTmpfs: boolean): Promise<() => Promise<void>> {
  let done = false;
  return async () => {
    if (done) return;
    done = true;
    if (onTmpfs) {
      try {
        await run('umount', [root]);
      } catch {
        // Something still holds it (a test left a process behind): detach.
        await run('umount', ['--lazy', root]);
      }
    }
    await rm(root, { recursive: true, force: true });
  };
}

/** A fresh bookworm minbase root (from the cached tarball). */
export async function makeDebianRoot(): Promise<TestRoot> {
  const tarball = await minbaseTarball();
  const root = await mkdtemp(join(tmpdir(), 'koder-debroot-'));
  const onTmpfs = await tryMountTmpfs(root);
  const dispose = await disposer(root, onTmpfs);
  try {
    await run('bash', [
      '-c',
      'set -eo pipefail; zstd -q -d -c -- "$1" | tar -x --numeric-owner --same-permissions --same-owner -f - -C "$2"',
      'bash',
      tarball,
      root,
    ]);
  } catch (e) {
    await dispose();
    throw e;
  }
  return { root, onTmpfs, dispose };
}

/** An empty directory to use as a target root (on disk, not tmpfs). */
export async function makeEmptyRoot(): Promise<TestRoot> {
  const root = await mkdtemp(join(tmpdir(), 'koder-emptyroot-'));
  return { root, onTmpfs: false, dispose: await disposer(root, false) };
}
