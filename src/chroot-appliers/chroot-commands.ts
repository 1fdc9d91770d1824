/**
 * The appliers' way to run commands in the target: runInChroot with the
 * context's abort signal, the command logged, the exit code returned rather
 * than thrown (a failing command is an item to report, not a crash), and
 * output delivered line by line for progress parsing (a line ends at `\n`
 * or at a lone `\r`, as a progress bar redrawn in place), as is the status
 * pipe (fd 4, APT::Status-Fd) when asked for. Errors of the chroot itself
 * (setup, timeout, abort) still throw: they are not about one item.
 */
import { runInChroot, type RunResult } from './chroot-runner.ts';
import type { ApplyContext } from './applier.ts';

export interface TargetCommandOptions {
  env?: Record<string, string>;
  stdin?: string | Buffer;
  timeoutMs?: number;
  /** Each complete output line, as it comes. */
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
  /** Each line the command writes to fd STATUS_FD (4); the pipe exists only when this is given. */
  onStatusLine?: (line: string) => void;
  /** The command's CPU niceness (RunInChrootOptions.nice). */
  nice?: number;
  /** A host library preloaded into the command (RunInChrootOptions.preload). */
  preload?: string;
}

/** Splits a byte stream into lines (`\n`, `\r\n` or a lone `\r`); `end()` delivers a last unterminated one. */
export function lineSplitter(onLine: (line: string) => void): { push(chunk: Buffer): void; end(): void } {
  let partial = '';
  return {
    push(chunk) {
      const lines = (partial + chunk.toString('utf8')).split(/\r\n|\n|\r(?!$)/);
      partial = lines.pop() ?? '';
      for (const l of lines) if (l !== '') onLine(l);
    },
    end() {
      const last = partial.replace(/\r$/, '');
      partial = '';
      if (last !== '') onLine(last);
    },
  };
}

/** POSIX-shell single quoting of one word. */
export function shQuote(s: string): string {
  if (s.includes('\0')) throw new Error('NUL in a shell word');
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** What running a command in the target needs of the restore's context. */
export type TargetCommandContext = Pick<ApplyContext, 'target' | 'signal' | 'log'>;

export function runInTarget(ctx: TargetCommandContext, argv: readonly string[], opts: TargetCommandOptions = {}): Promise<RunResult> {
  ctx.log(`[chroot] ${argv.map(shQuote).join(' ')}`);
  const { onLine, onStatusLine } = opts;
  const out = onLine ? { stdout: lineSplitter((l) => onLine(l, 'stdout')), stderr: lineSplitter((l) => onLine(l, 'stderr')) } : undefined;
  const status = onStatusLine ? lineSplitter(onStatusLine) : undefined;
  return runInChroot(ctx.target.root, argv, {
    check: false,
    signal: ctx.signal,
    env: { LC_ALL: 'C.UTF-8', ...opts.env },
    ...(opts.stdin !== undefined ? { stdin: opts.stdin } : {}),
    ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
    ...(opts.nice !== undefined ? { nice: opts.nice } : {}),
    ...(opts.preload !== undefined ? { preload: opts.preload } : {}),
    ...(out ? { onOutput: (chunk: Buffer, stream: 'stdout' | 'stderr') => out[stream].push(chunk) } : {}),
    ...(status ? { onStatus: (chunk: Buffer) => status.push(chunk) } : {}),
  }).then((r) => {
    out?.stdout.end();
    out?.stderr.end();
    status?.end();
    return r;
  });
}

/** Whether `name` is a command in the target (`command -v` in the chroot). */
export async function targetHasCommand(ctx: ApplyContext, name: string): Promise<boolean> {
  const r = await runInTarget(ctx, ['/bin/sh', '-c', 'command -v "$1" >/dev/null 2>&1', 'sh', name]);
  return r.code === 0;
}

/** dpkg's state of packages, from one `dpkg-query -W` (see dpkgStatus). */
export class DpkgStatus {
  /** Per line: binary:Package (name, `:arch` for a foreign one), name:arch, the status abbreviation (`ii`, `iU`, `un`…). */
  constructor(private readonly rows: readonly (readonly [string, string, string])[]) {}

  static parse(text: string): DpkgStatus {
    const rows: [string, string, string][] = [];
    for (const line of text.split('\n')) {
      const [bin, withArch, status] = line.split('\t');
      if (bin && withArch && status) rows.push([bin, withArch, status]);
    }
    return new DpkgStatus(rows);
  }

  /** The names among `packages` that dpkg has fully installed ("ii"); a name may carry an architecture (`libc6:i386`). */
  whole(packages: readonly string[]): Set<string> {
    const seen = new Set<string>();
    for (const [bin, withArch, status] of this.rows) {
      if (!status.startsWith('ii')) continue;
      seen.add(bin);
      seen.add(withArch);
      seen.add(bin.split(':')[0]!);
    }
    return new Set(packages.filter((p) => seen.has(p)));
  }

  /** `name:arch` of every package dpkg has files of on disk, whole or not (installed, unpacked, half-installed or -configured, triggers pending). */
  onDisk(): Set<string> {
    return new Set(this.rows.filter(([, , status]) => 'iHUFWt'.includes(status[1] ?? 'n')).map(([, withArch]) => withArch));
  }
}

/**
 * dpkg's state of `packages` (of every package it knows when none are
 * named). Unknown names are simply absent; the query's own exit code (1 for
 * a name it does not know) is not an error.
 */
export async function dpkgStatus(ctx: TargetCommandContext, packages: readonly string[] = []): Promise<DpkgStatus> {
  const r = await dpkgQuery(ctx, packages);
  if (packages.length === 0 && r.code !== 0) throw new Error(`dpkg-query in the target failed: ${errorSummary(r)}`);
  return DpkgStatus.parse(r.stdout);
}

/** The `dpkg-query -W` behind dpkgStatus, its result as it is (DpkgStatus.parse reads its stdout). */
export function dpkgQuery(ctx: TargetCommandContext, packages: readonly string[] = []): Promise<RunResult> {
  return runInTarget(ctx, ['dpkg-query', '-W', '-f=${binary:Package}\t${Package}:${Architecture}\t${db:Status-Abbrev}\n', ...(packages.length ? ['--', ...packages] : [])]);
}

/**
 * The names among `packages` that dpkg has fully installed ("ii"). A name
 * may carry an architecture (`libc6:i386`).
 */
export async function installedPackages(ctx: ApplyContext, packages: readonly string[]): Promise<Set<string>> {
  if (packages.length === 0) return new Set();
  return (await dpkgStatus(ctx, packages)).whole(packages);
}

/** The most telling line of a failed command's output (last `E:`/`error:` line, else the last line). */
export function errorSummary(r: Pick<RunResult, 'stdout' | 'stderr' | 'code'>): string {
  const lines = `${r.stdout}\n${r.stderr}`.split('\n').map((l) => l.trim()).filter(Boolean);
  const err = [...lines].reverse().find((l) => /^(E:|error:|Error:|dpkg: error)/.test(l));
  const line = err ?? lines[lines.length - 1] ?? '';
  return `${line || 'no output'} (exit ${r.code})`.slice(0, 400);
}
