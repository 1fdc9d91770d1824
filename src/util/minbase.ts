/**
 * A cached Debian bookworm minbase root tarball (`.cache/bookworm-minbase.tar.zst`),
 * built once with `mmdebstrap --variant=minbase bookworm OUT <host's bookworm
 * apt sources>`. Concurrency-safe across processes: the build runs under
 * `flock(1)` on `.cache/bookworm-minbase.lock`, writes to a temporary name and
 * renames it into place. Used by the chroot tests and by `npm start`'s scratch
 * target root. KODER_CACHE_DIR moves the cache.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const cacheDir = resolve(process.env.KODER_CACHE_DIR ?? join(here, '..', '..', '.cache'));
export const minbaseTarballPath = join(cacheDir, 'bookworm-minbase.tar.zst');

export function run(cmd: string, args: string[], opts: { stdio?: 'inherit' | 'pipe' } = {}): Promise<string> {
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

/**
 * Extracts the minbase tarball into `dir` (owners and modes kept). GNU tar
 * reads the file itself through `--zstd`: a `zstd -d | tar -x` pipe under
 * `pipefail` races — tar stops at the end-of-archive marker, zstd still
 * writing the trailing padding dies of SIGPIPE (141) when the machine is
 * busy — whereas tar ignores its own decompressor's SIGPIPE before EOF.
 */
export async function extractMinbase(dir: string): Promise<void> {
  await run('tar', ['--zstd', '-x', '--numeric-owner', '--same-permissions', '--same-owner', '-f', await minbaseTarball(), '-C', dir]);
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

