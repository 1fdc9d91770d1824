/**
 * Running commands inside the target root.
 *
 * Each call spawns
 *
 *   unshare --mount --propagation private --pid --fork --kill-child -- /bin/sh -c SCRIPT sh ROOT ... -- argv...
 *
 * so the shell runs as PID 1 of a new PID namespace inside a new, private
 * mount namespace. There it builds the chroot's view:
 *
 *   ROOT/dev      tmpfs (0755, nosuid) with mknod null zero full random urandom
 *                 tty (0666), fd/stdin/stdout/stderr symlinks, ptmx -> pts/ptmx
 *   ROOT/dev/pts  a NEW devpts instance (newinstance, ptmxmode=0666)
 *   ROOT/dev/shm  tmpfs 1777
 *   ROOT/proc     proc of the new PID namespace
 *   ROOT/sys      sysfs, read-only
 *   ROOT/run      tmpfs (as on a booted system; /run/lock 1777)
 *   resolv.conf   the host's /etc/resolv.conf bind-mounted read-only over the
 *                 target's (resolved inside the root; if it is missing an
 *                 empty file is created for the duration and removed after)
 *
 * and then runs `chroot ROOT /usr/bin/env -i -- PATH=... DEBIAN_FRONTEND=noninteractive ... argv`
 * (argv passed as "$@", never interpolated). The host's /dev is never bound.
 * A trap unmounts everything in reverse order when the command ends; and
 * because the namespaces belong to the process tree, a SIGKILL of the runner
 * (timeout, abort, crash of node) kills PID 1 (`--kill-child`), which kills
 * every process of the PID namespace, which frees the mount namespace: nothing
 * ever reaches the host's mount table. The runner is started through
 * `setpriv --pdeathsig KILL`, so the same happens if node itself dies.
 *
 * `ROOT/usr/sbin/policy-rc.d` (exit 101: deny service starts) is installed by
 * node for the duration of the call and the previous one (if any) restored
 * afterwards. Because that is a change to the target's disk, not a mount, it
 * is journaled in `ROOT/var/lib/koder-restore/chroot-runner.json` first; the
 * next call (or `recoverChrootLeftovers`) undoes the leftovers of a run whose
 * node process was killed. Calls on the same root are serialized.
 *
 * With `preload` (a shared library of the host), the library is copied into
 * ROOT/run (the tmpfs above: it goes with the namespace, the target's disk
 * never holds it) and named in LD_PRELOAD for the command and everything it
 * starts. A library the target's loader cannot open is skipped by ld.so
 * with a warning; one that needs a newer libc than the target's fails every
 * command (apt-unsafe-io.ts tries it first).
 *
 * With `onStatus`, the command finds a status pipe open on fd 4
 * (STATUS_FD): what it writes there comes to `onStatus`, apart from its
 * stdout and stderr (`apt-get -o APT::Status-Fd=4` writes its machine-readable
 * progress there). Without it, fd 4 is not open in the command.
 */
import { spawn } from 'node:child_process';
import { constants as fsc, existsSync } from 'node:fs';
import { mkdir, readFile, realpath, rmdir, stat, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative } from 'node:path';
import { ensureDirInRoot, PathEscapeError, resolveInRoot } from './safe-path.ts';
import { lstatOrUndefined } from '../util/fs.ts';
import { writeFileAtomic } from '../util/atomic-write.ts';
import { CodedError } from '../util/coded-error.ts';

export const CHROOT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
/** The command's fd for machine-readable status, when `onStatus` is given (fd 3 is the runner's own). */
export const STATUS_FD = 4;

export type ChrootFailurePhase = 'setup' | 'command' | 'timeout' | 'aborted';

/** A chroot command failed (or its environment could not be set up). */
export class ChrootError extends CodedError {
  override name = 'ChrootError';
  declare readonly code: 'chroot_failed';
  constructor(
    readonly command: readonly string[],
    readonly phase: ChrootFailurePhase,
    /** Exit code of the command (null if killed by a signal or never started). */
    readonly exitCode: number | null,
    /** Last lines of stderr (at most ~4 KiB). */
    readonly stderrTail: string,
    readonly signal: NodeJS.Signals | null = null,
  ) {
    const what =
      phase === 'setup'
        ? 'could not set up the chroot for'
        : phase === 'timeout'
          ? 'timed out:'
          : phase === 'aborted'
            ? 'aborted:'
            : `failed with exit code ${exitCode ?? signal}:`;
    super('chroot_failed', `${what} ${command.join(' ')}${stderrTail ? `\n${stderrTail}` : ''}`, { command, phase, exitCode, signal });
  }
}

/** The given root is not usable as a target root. */
export class TargetRootError extends CodedError {
  override name = 'TargetRootError';
  constructor(
    readonly root: string,
    readonly reason: string,
  ) {
    super('target_root', `refusing target root ${JSON.stringify(root)}: ${reason}`, { root });
  }
}

export interface RunInChrootOptions {
  /** Extra environment (added to PATH, HOME, LANG, DEBIAN_FRONTEND, ...). Nothing of node's own env leaks in. */
  env?: Record<string, string>;
  /** Fed to the command's stdin (default: /dev/null). */
  stdin?: string | Buffer;
  /** Kill the whole namespace after this long (ChrootError phase 'timeout'). */
  timeoutMs?: number;
  /** Live output, as it comes. */
  onOutput?: (chunk: Buffer, stream: 'stdout' | 'stderr') => void;
  /** What the command writes to fd STATUS_FD (a pipe opened only when this is given). */
  onStatus?: (chunk: Buffer) => void;
  /** Throw ChrootError on a non-zero exit (default true). */
  check?: boolean;
  /** Kill the whole namespace when aborted (ChrootError phase 'aborted'). */
  signal?: AbortSignal;
  /**
   * CPU niceness of the command and everything it starts (nice(1) around the
   * runner, so no child is forked before it applies). Negative values need
   * root; without it nice(1) says so and runs the command unchanged.
   */
  nice?: number;
  /** Called with the runner's pid (the `unshare` process) once spawned. */
  onSpawn?: (pid: number) => void;
  /** Keep at most this many bytes of stdout / stderr each (default 32 MiB; the tail is kept). */
  maxOutputBytes?: number;
  /** Host path of a shared library to preload into the command (see the file header). */
  preload?: string;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Canonical path of a usable target root: an existing directory (after
 * symlinks) that is not the host's `/`.
 */
export async function assertTargetRoot(root: string): Promise<string> {
  if (typeof root !== 'string' || root === '') throw new TargetRootError(String(root), 'empty path');
  if (!isAbsolute(root)) throw new TargetRootError(root, 'not an absolute path');
  let real: string;
  try {
    real = await realpath(root);
  } catch {
    throw new TargetRootError(root, 'does not exist (is the new system mounted there?)');
  }
  const st = await stat(real);
  if (!st.isDirectory()) throw new TargetRootError(root, 'not a directory');
  const hostRoot = await stat('/');
  if (real === '/' || (st.dev === hostRoot.dev && st.ino === hostRoot.ino)) {
    throw new TargetRootError(root, "is this running system's own / (restore into a mounted system, e.g. /mnt)");
  }
  return real;
}

// ---------------------------------------------------------------------------
// The namespace script. Positional parameters:
//   $1 ROOT   $2 host resolv.conf ('' = none)   $3 target resolv.conf, relative
//   to ROOT ('' = none)   $4 '1' if $3 lies in /run (create it in the tmpfs)
//   $5 host path of a library to copy into ROOT/run/koder-preload ('' = none)
//   then: NAME=VALUE... -- argv...   (handed to env -i as is)
// fd 3: "ready" is written there once the mounts are done, then closed.
const SCRIPT = String.raw`
set -eu
ROOT=$1; RESOLV_SRC=$2; RESOLV_DST=$3; RESOLV_IN_RUN=$4; PRELOAD=$5
shift 5
M_DEV= M_PTS= M_SHM= M_PROC= M_SYS= M_RUN= M_RESOLV=
cleanup() {
  rc=$?
  trap - EXIT HUP INT TERM
  set +e
  if [ -n "$M_RESOLV" ]; then umount "$ROOT/$RESOLV_DST"; fi
  if [ -n "$M_RUN" ]; then umount "$ROOT/run"; fi
  if [ -n "$M_SYS" ]; then umount "$ROOT/sys"; fi
  if [ -n "$M_PROC" ]; then umount "$ROOT/proc"; fi
  if [ -n "$M_SHM" ]; then umount "$ROOT/dev/shm"; fi
  if [ -n "$M_PTS" ]; then umount "$ROOT/dev/pts"; fi
  if [ -n "$M_DEV" ]; then umount "$ROOT/dev"; fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

mount -t tmpfs -o mode=0755,nosuid,noexec,size=4m koder-dev "$ROOT/dev"; M_DEV=1
mknod -m 0666 "$ROOT/dev/null" c 1 3
mknod -m 0666 "$ROOT/dev/zero" c 1 5
mknod -m 0666 "$ROOT/dev/full" c 1 7
mknod -m 0666 "$ROOT/dev/random" c 1 8
mknod -m 0666 "$ROOT/dev/urandom" c 1 9
mknod -m 0666 "$ROOT/dev/tty" c 5 0
ln -s /proc/self/fd "$ROOT/dev/fd"
ln -s /proc/self/fd/0 "$ROOT/dev/stdin"
ln -s /proc/self/fd/1 "$ROOT/dev/stdout"
ln -s /proc/self/fd/2 "$ROOT/dev/stderr"
mkdir -m 0755 "$ROOT/dev/pts"
mount -t devpts -o newinstance,ptmxmode=0666,mode=0620,nosuid,noexec koder-devpts "$ROOT/dev/pts"; M_PTS=1
ln -s pts/ptmx "$ROOT/dev/ptmx"
mkdir -m 1777 "$ROOT/dev/shm"
mount -t tmpfs -o mode=1777,nosuid,nodev koder-shm "$ROOT/dev/shm"; M_SHM=1
mount -t proc -o nosuid,nodev,noexec koder-proc "$ROOT/proc"; M_PROC=1
mount -t sysfs -o ro,nosuid,nodev,noexec koder-sysfs "$ROOT/sys"; M_SYS=1
mount -t tmpfs -o mode=0755,nosuid,nodev koder-run "$ROOT/run"; M_RUN=1
mkdir -m 1777 "$ROOT/run/lock"
if [ -n "$PRELOAD" ]; then
  mkdir -m 0755 "$ROOT/run/koder-preload"
  cp "$PRELOAD" "$ROOT/run/koder-preload/"
fi
if [ -n "$RESOLV_SRC" ] && [ -n "$RESOLV_DST" ]; then
  if [ "$RESOLV_IN_RUN" = 1 ]; then
    mkdir -p "$(dirname "$ROOT/$RESOLV_DST")"
    : > "$ROOT/$RESOLV_DST"
  fi
  mount --bind "$RESOLV_SRC" "$ROOT/$RESOLV_DST"; M_RESOLV=1
  mount -o remount,bind,ro "$ROOT/$RESOLV_DST"
fi

printf 'ready\n' >&3
exec 3>&-
set +e
chroot "$ROOT" /usr/bin/env -i "$@"
rc=$?
exit $rc
`;

const BASE_ENV: Record<string, string> = {
  PATH: CHROOT_PATH,
  HOME: '/root',
  LANG: 'C.UTF-8',
  DEBIAN_FRONTEND: 'noninteractive',
  DEBCONF_NONINTERACTIVE_SEEN: 'true',
  APT_LISTCHANGES_FRONTEND: 'none',
};

const POLICY_RC_D = '#!/bin/sh\n# koder-snapshots: deny service starts while restoring into this root\nexit 101\n';
const POLICY_MARKER = '# koder-snapshots:';
const STATE_DIR = 'var/lib/koder-restore';
const JOURNAL = `${STATE_DIR}/chroot-runner.json`;
const SAVED_POLICY = `${STATE_DIR}/policy-rc.d.saved`;

interface Journal {
  /** Mode of the target's own policy-rc.d, saved to SAVED_POLICY; null = there was none. */
  policySavedMode: number | null;
  /** Root-relative files we created and must remove (if still empty). */
  createdFiles: string[];
}


/** Host path of `rel` inside the root: parents resolved as if chrooted (never
 *  out of the root), the last component itself not followed. */
function inRoot(realRoot: string, rel: string): Promise<string> {
  return resolveInRoot(realRoot, rel, { followFinal: false });
}

/** The target's /usr/sbin (resolved inside the root), if it is a directory. */
async function sbinDir(realRoot: string): Promise<string | undefined> {
  const p = await resolveInRoot(realRoot, 'usr/sbin');
  const st = await lstatOrUndefined(p);
  return st?.isDirectory() ? p : undefined;
}

/** A real (non-symlink) directory inside root, as a host path. */
async function realDirIn(root: string, rel: string): Promise<string | undefined> {
  const p = join(root, rel);
  const st = await lstatOrUndefined(p);
  if (!st) return undefined;
  if (st.isSymbolicLink() || !st.isDirectory()) throw new TargetRootError(root, `/${rel} is not a directory`);
  return p;
}

/**
 * Undoes what a killed run left on the target's disk (policy-rc.d, an empty
 * resolv.conf we created). Mounts never need undoing: they died with the
 * namespace. Safe to call any time no run is active on this root.
 */
export async function recoverChrootLeftovers(root: string): Promise<void> {
  const realRoot = await assertTargetRoot(root);
  const journalPath = await inRoot(realRoot, JOURNAL);
  let journal: Journal;
  try {
    journal = JSON.parse(await readFile(journalPath, 'utf8')) as Journal;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  await undo(realRoot, journal);
  await unlink(journalPath);
  await rmdir(await inRoot(realRoot, STATE_DIR)).catch(() => undefined);
}

async function undo(realRoot: string, journal: Journal): Promise<void> {
  const sbin = await sbinDir(realRoot);
  if (sbin) {
    const policy = join(sbin, 'policy-rc.d');
    const saved = await inRoot(realRoot, SAVED_POLICY);
    const cur = await lstatOrUndefined(policy);
    const ours = cur?.isFile() && (await readFile(policy, 'utf8')).includes(POLICY_MARKER);
    if (journal.policySavedMode !== null) {
      const savedSt = await lstatOrUndefined(saved);
      if (savedSt?.isFile() && (ours || !cur)) {
        await writeFileAtomic(policy, await readFile(saved), { mode: journal.policySavedMode });
      }
      if (savedSt) await unlink(saved);
    } else if (ours) {
      await unlink(policy);
    }
  }
  for (const rel of journal.createdFiles) {
    const p = await resolveInRoot(realRoot, rel, { followFinal: false }).catch(() => undefined);
    if (!p) continue;
    const st = await lstatOrUndefined(p);
    if (st?.isFile() && st.size === 0) await unlink(p);
  }
}

const queues = new Map<string, Promise<unknown>>();

/** Serializes work per target root within this process. */
function serialized<T>(key: string, fn: () => Promise<T>): Promise<T> {
  const prev = queues.get(key) ?? Promise.resolve();
  const run = prev.catch(() => undefined).then(fn);
  const tail = run.catch(() => undefined);
  queues.set(key, tail);
  void tail.then(() => {
    if (queues.get(key) === tail) queues.delete(key);
  });
  return run;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** A shared library's file name (`libeatmydata.so.1`): nothing the shell or LD_PRELOAD's list syntax would read otherwise. */
const PRELOAD_NAME = /^[A-Za-z0-9_+.-]+\.so(\.[0-9]+)*$/;

/**
 * Runs `argv` inside the target root (see the file header for the
 * environment). Resolves with the exit code and output; with `check` (the
 * default) a non-zero exit rejects with ChrootError.
 */
export function runInChroot(root: string, argv: readonly string[], opts: RunInChrootOptions = {}): Promise<RunResult> {
  if (argv.length === 0) return Promise.reject(new Error('runInChroot: empty argv'));
  const first = argv[0]!;
  if (first === '' || first.includes('=')) return Promise.reject(new Error(`runInChroot: bad command ${JSON.stringify(first)}`));
  for (const a of argv) if (a.includes('\0')) return Promise.reject(new Error('runInChroot: NUL in argument'));
  const env = { ...BASE_ENV };
  for (const [k, v] of Object.entries(opts.env ?? {})) {
    if (!ENV_NAME.test(k) || v.includes('\0')) return Promise.reject(new Error(`runInChroot: bad env ${k}`));
    env[k] = v;
  }
  if (opts.preload !== undefined) {
    const name = basename(opts.preload);
    if (!isAbsolute(opts.preload) || !PRELOAD_NAME.test(name)) return Promise.reject(new Error(`runInChroot: bad preload ${JSON.stringify(opts.preload)}`));
    env.LD_PRELOAD = `/run/koder-preload/${name}`;
  }
  return assertTargetRoot(root).then((realRoot) =>
    serialized(realRoot, () => runSerialized(realRoot, argv, env, opts)),
  );
}

async function runSerialized(
  realRoot: string,
  argv: readonly string[],
  env: Record<string, string>,
  opts: RunInChrootOptions,
): Promise<RunResult> {
  await recoverChrootLeftovers(realRoot);
  if (opts.signal?.aborted) throw new ChrootError(argv, 'aborted', null, '');

  // Mount points must be real directories inside the root (a symlink there
  // would make mount(8) follow it, possibly out of the root).
  for (const d of ['dev', 'proc', 'sys', 'run']) {
    if (!(await realDirIn(realRoot, d))) await mkdir(join(realRoot, d), { mode: 0o755 });
  }
  const sbin = await sbinDir(realRoot);
  if (!sbin) throw new TargetRootError(realRoot, '/usr/sbin is missing (not an installed system?)');

  // Plan resolv.conf.
  // stat, not lstat: a dangling host symlink (resolved not running) cannot be bound.
  const hostResolv = (await stat('/etc/resolv.conf').catch(() => undefined))?.isFile() ? '/etc/resolv.conf' : '';
  let resolvDst = '';
  let resolvInRun = false;
  let createResolv = false;
  if (hostResolv) {
    try {
      const p = await resolveInRoot(realRoot, '/etc/resolv.conf', { followFinal: true });
      const rel = relative(realRoot, p);
      const st = await lstatOrUndefined(p);
      if (rel === 'run' || rel.startsWith('run/')) {
        resolvDst = rel;
        resolvInRun = true;
      } else if (st?.isFile()) {
        resolvDst = rel;
      } else if (!st && (await lstatOrUndefined(dirname(p)))?.isDirectory()) {
        resolvDst = rel;
        createResolv = true;
      }
    } catch (e) {
      if (!(e instanceof PathEscapeError)) throw e;
      // A resolv.conf symlink leading out of the root: no DNS, rather than follow it.
    }
  }

  // Journal first, then change the disk.
  const journal: Journal = { policySavedMode: null, createdFiles: createResolv ? [resolvDst] : [] };
  const policy = join(sbin, 'policy-rc.d');
  const existing = await lstatOrUndefined(policy);
  await ensureDirInRoot(realRoot, STATE_DIR, { mode: 0o755 });
  if (existing) {
    if (!existing.isFile()) throw new TargetRootError(realRoot, '/usr/sbin/policy-rc.d is not a regular file');
    journal.policySavedMode = existing.mode & 0o7777;
    await writeFileAtomic(await inRoot(realRoot, SAVED_POLICY), await readFile(policy), { mode: 0o600 });
  }
  await writeFileAtomic(await inRoot(realRoot, JOURNAL), JSON.stringify(journal), { mode: 0o600 });
  try {
    await writeFileAtomic(policy, POLICY_RC_D, { mode: 0o755 });
    if (createResolv) await writeFile(join(realRoot, resolvDst), '', { mode: 0o644, flag: fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | fsc.O_NOFOLLOW });
    return await spawnRunner(realRoot, argv, env, opts, { hostResolv, resolvDst, resolvInRun });
  } finally {
    await undo(realRoot, journal);
    await unlink(await inRoot(realRoot, JOURNAL)).catch(() => undefined);
    await rmdir(await inRoot(realRoot, STATE_DIR)).catch(() => undefined);
  }
}

class OutputBuffer {
  private chunks: Buffer[] = [];
  private size = 0;
  truncated = false;
  constructor(private readonly max: number) {}
  push(b: Buffer): void {
    this.chunks.push(b);
    this.size += b.length;
    while (this.size > this.max && this.chunks.length > 1) {
      this.size -= this.chunks.shift()!.length;
      this.truncated = true;
    }
  }
  text(): string {
    let s = Buffer.concat(this.chunks).toString('utf8');
    if (s.length > this.max) {
      s = s.slice(-this.max);
      this.truncated = true;
    }
    return s;
  }
}

function tail(s: string, max = 4096): string {
  const t = s.length > max ? s.slice(-max) : s;
  return t.replace(/\s+$/, '');
}

const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p));
const NICE = ['/usr/bin/nice', '/bin/nice'].find((p) => existsSync(p));

function spawnRunner(
  realRoot: string,
  argv: readonly string[],
  env: Record<string, string>,
  opts: RunInChrootOptions,
  resolv: { hostResolv: string; resolvDst: string; resolvInRun: boolean },
): Promise<RunResult> {
  const envArgs = Object.entries(env).map(([k, v]) => `${k}=${v}`);
  const args = [
    '--mount',
    '--propagation',
    'private',
    '--pid',
    '--fork',
    '--kill-child=SIGKILL',
    '--',
    '/bin/sh',
    '-c',
    SCRIPT,
    'koder-chroot',
    realRoot,
    resolv.hostResolv,
    resolv.resolvDst,
    resolv.resolvInRun ? '1' : '0',
    opts.preload ?? '',
    '--',
    ...envArgs,
    ...argv,
  ];
  // setpriv --pdeathsig: if node itself dies (SIGKILL, crash), the kernel
  // kills `unshare`, whose --kill-child then takes the namespace down too.
  const [runner, runnerArgs] = SETPRIV ? [SETPRIV, ['--pdeathsig', 'KILL', '--', 'unshare', ...args]] : ['unshare', args];
  // nice(1) execs the runner in place: setpriv's parent-death signal still ties it to node.
  const [cmd, cmdArgs] = opts.nice !== undefined && NICE ? [NICE, ['-n', String(opts.nice), runner, ...runnerArgs]] : [runner, runnerArgs];
  return new Promise<RunResult>((resolvePromise, reject) => {
    const child = spawn(cmd, cmdArgs as string[], {
      stdio: [opts.stdin !== undefined ? 'pipe' : 'ignore', 'pipe', 'pipe', 'pipe', ...(opts.onStatus ? (['pipe'] as const) : [])],
      env: { PATH: process.env.PATH ?? CHROOT_PATH },
    });
    if (child.pid !== undefined) opts.onSpawn?.(child.pid);
    const max = opts.maxOutputBytes ?? 32 * 1024 * 1024;
    const out = new OutputBuffer(max);
    const err = new OutputBuffer(max);
    let ready = false;
    let killedFor: 'timeout' | 'aborted' | undefined;
    let spawnError: Error | undefined;

    child.stdout!.on('data', (b: Buffer) => {
      out.push(b);
      opts.onOutput?.(b, 'stdout');
    });
    child.stderr!.on('data', (b: Buffer) => {
      err.push(b);
      opts.onOutput?.(b, 'stderr');
    });
    const status = child.stdio[3] as NodeJS.ReadableStream | null;
    status?.on('data', (b: Buffer) => {
      if (b.toString().includes('ready')) ready = true;
    });
    status?.on('error', () => undefined);
    if (opts.onStatus) {
      const statusPipe = child.stdio[STATUS_FD] as NodeJS.ReadableStream | null;
      statusPipe?.on('data', (b: Buffer) => opts.onStatus!(b));
      statusPipe?.on('error', () => undefined);
    }
    if (opts.stdin !== undefined && child.stdin) {
      child.stdin.on('error', () => undefined); // EPIPE if the command does not read it
      child.stdin.end(opts.stdin);
    }

    const kill = (why: 'timeout' | 'aborted') => {
      if (killedFor || child.exitCode !== null) return;
      killedFor = why;
      // SIGKILL the runner: --kill-child kills PID 1 of the namespace, and
      // with it every process in it; the mount namespace goes away.
      child.kill('SIGKILL');
    };
    const timer = opts.timeoutMs !== undefined ? setTimeout(() => kill('timeout'), opts.timeoutMs) : undefined;
    const onAbort = () => kill('aborted');
    opts.signal?.addEventListener('abort', onAbort, { once: true });

    child.on('error', (e) => {
      spawnError = e;
    });
    child.on('close', (code, sig) => {
      if (timer) clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      const stdout = out.text();
      const stderr = err.text();
      if (spawnError) {
        reject(new ChrootError(argv, 'setup', null, spawnError.message));
        return;
      }
      if (killedFor) {
        reject(new ChrootError(argv, killedFor, null, tail(stderr), 'SIGKILL'));
        return;
      }
      if (!ready) {
        reject(new ChrootError(argv, 'setup', code, tail(stderr), sig));
        return;
      }
      const exit = code ?? 128 + 9;
      if (exit !== 0 && opts.check !== false) {
        reject(new ChrootError(argv, 'command', code, tail(stderr), sig));
        return;
      }
      resolvePromise({ code: exit, stdout, stderr });
    });
  });
}
