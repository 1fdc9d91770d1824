/**
 * apt in the target: the shared `aptInstall` helper every applier uses to
 * install packages, the run's `apt-get update`, and the `apt.install`
 * applier (`apt.sources` is in apt-sources.ts).
 *
 * aptInstall(ctx, packages):
 *   1. dpkg-query: what is already installed is not touched again;
 *   2. `apt-get update`, once per restore run (remembered per ApplyContext);
 *   3. ONE `apt-cache policy p1 p2 …`: a name without a block, or with
 *      `Candidate: (none)`, is not in the target's archives → reported, skipped;
 *   4. ONE `apt-get install -y` of the available ones, dpkg without its
 *      fsyncs and one sync after (apt-unsafe-io.ts: a run that died
 *      has its packages reinstalled first); if it fails, dpkg/apt
 *      are repaired and the ones still missing are installed one by one,
 *      each failure reported;
 *   5. `apt-mark manual` of every requested package that is installed.
 * Nothing is ever removed (`--no-remove`); conffile prompts keep the
 * target's version. Running it again with everything installed is a
 * dpkg-query and an apt-mark: the target does not change.
 *
 * Progress while it runs (when given a Progress): phase 'update' (the apt
 * lists), then from apt's Status-Fd (fd 4, apt-status.ts) 'download' and
 * 'install' with the package in hand; `bytes` = archive bytes fetched,
 * `items` = requested packages installed ("Setting up NAME"), and `work` =
 * the archive bytes to fetch (rate class network), the packages dpkg
 * unpacks (apt) and configures (configure), from which the daemon counts
 * apt's time left.
 */
import type { ApplyContext, Progress, StepApplier, StepOutcome } from './applier.ts';
import { dpkgStatus, errorSummary, installedPackages, runInTarget, type DpkgStatus, type TargetCommandContext } from './chroot-commands.ts';
import type { Target } from './target.ts';
import { ChrootError, STATUS_FD } from './chroot-runner.ts';
import { AptRunTracker, type AptRun } from './apt-status.ts';
import { recoverUnsafeIo, unsafeIoBegin, unsafeIoEnd, unsafeIoOptions, unsafeIoRun } from './apt-unsafe-io.ts';
import type { WorkPart } from '../restore-machine/types.ts';

// ---------------------------------------------------------------------------
/**
 * apt-get (update and install) runs ahead of everything else of the restore
 * on the CPU: it is the longest step and the one the person waits for,
 * while the fetch-ahead of later steps (files, repositories) only fills the
 * time apt and dpkg leave (bench/install-restore.ts: at the same priority
 * the fetch-ahead slowed apt by 4.2 s of 34 on two cores).
 */
export const APT_NICE = -10;

// apt-get update, once per run

export interface AptUpdateResult {
  ok: boolean;
  /** `W:` / `E:` / `Err:` lines of the update. */
  problems: string[];
}

const updates = new WeakMap<ApplyContext, Promise<AptUpdateResult>>();

const APT_OPTS = ['-o', 'DPkg::Lock::Timeout=300', '-o', 'Dpkg::Options::=--force-confdef', '-o', 'Dpkg::Options::=--force-confold'];

function problemLines(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => /^(W|E): /.test(l) || /^Err:\d+/.test(l));
}

/** One `apt-get update` in the target, with extra apt options (the sources probe gives its own source list). */
export async function runAptUpdate(ctx: ApplyContext, extra: string[] = []): Promise<AptUpdateResult> {
  // The exported .debs (a drive's), checked and offered as a local source before apt reads its sources.
  const local = (await ctx.localDebs?.enable(ctx)) ?? [];
  return aptGetUpdate(ctx, extra, local);
}

async function aptGetUpdate(ctx: TargetCommandContext, extra: string[], local: string[] = []): Promise<AptUpdateResult> {
  const r = await runInTarget(ctx, ['apt-get', ...APT_OPTS, ...extra, 'update'], { nice: APT_NICE });
  const problems = [...local, ...problemLines(`${r.stdout}\n${r.stderr}`)];
  const failed = r.code !== 0 || local.length > 0 || problems.some((l) => /^E: /.test(l) || /^Err:/.test(l) || /^W: (Failed to fetch|GPG error)/.test(l));
  return { ok: !failed, problems };
}

/**
 * `apt-get update` in the target, once per run (per ApplyContext object).
 * `force` runs it again (after the sources changed).
 */
export function aptUpdate(ctx: ApplyContext, opts: { force?: boolean } = {}): Promise<AptUpdateResult> {
  const cached = updates.get(ctx);
  if (cached && !opts.force) return cached;
  // The update begun early is the run's own; one that could not even start (it threw) is run again here.
  const early = !opts.force ? ctx.aptLists : undefined;
  const p = (early ? early.catch(() => runAptUpdate(ctx)) : runAptUpdate(ctx)).catch((e: unknown) => {
    updates.delete(ctx);
    throw e;
  });
  updates.set(ctx, p);
  return p;
}

/**
 * The run's `apt-get update` begun before the apply, in the target (root and
 * user checked): the restore session starts it beside the vault's key
 * derivation (≈ 1.3 s of Argon2id) once the plan has apt work and the person
 * already said yes — the CLI without --dry-run. The apt steps take it as
 * theirs (ApplyContext.aptLists); the lists are all it changes in the target.
 */
export function startAptUpdate(target: Target, log: (line: string) => void): Promise<AptUpdateResult> {
  return aptGetUpdate({ target, log }, []);
}

// ---------------------------------------------------------------------------
// availability

/** Debian package name, optionally with `:arch`. Anything else never reaches apt (no regex/glob expansion, no options). */
export const PACKAGE_NAME = /^[a-z0-9][a-z0-9+.-]+(:[a-z0-9-]+)?$/;

/**
 * `apt-cache policy` output → name → candidate version (null for
 * `Candidate: (none)`). Names apt did not know have no block at all. Blocks
 * of other packages (regex matches) are returned too; callers look up the
 * exact names they asked for.
 */
export function parseAptCachePolicy(text: string): Map<string, string | null> {
  const out = new Map<string, string | null>();
  let current: string | undefined;
  for (const line of text.split('\n')) {
    const head = /^(\S+):$/.exec(line);
    if (head) {
      current = head[1]!;
      if (!out.has(current)) out.set(current, null);
      continue;
    }
    const cand = /^\s+Candidate:\s*(.+?)\s*$/.exec(line);
    if (cand && current !== undefined) out.set(current, cand[1] === '(none)' ? null : cand[1]!);
  }
  return out;
}

// ---------------------------------------------------------------------------
// aptInstall

export interface AptInstallOptions {
  /** `--no-install-recommends` (for helper packages such as tzdata, locales). */
  noRecommends?: boolean;
}

export interface AptInstallResult {
  /** Installed by this call. */
  installed: string[];
  /** Already installed before. */
  present: string[];
  /** Not in the target's archives (or not a valid package name). */
  missing: string[];
  /** In the archives, but could not be installed. */
  failed: string[];
  /** One line per missing/failed package (and apt problems worth knowing). */
  details: string[];
}

/**
 * Installs `packages` in the target (see the file header). Never throws for
 * a package; only the chroot itself failing (setup, abort) throws.
 */
export async function aptInstall(ctx: ApplyContext, packages: readonly string[], progress?: Progress, opts: AptInstallOptions = {}): Promise<AptInstallResult> {
  const res: AptInstallResult = { installed: [], present: [], missing: [], failed: [], details: [] };
  const wanted: string[] = [];
  for (const p of new Set(packages)) {
    if (PACKAGE_NAME.test(p)) wanted.push(p);
    else {
      res.missing.push(p);
      res.details.push(`${p}: not a valid package name`);
    }
  }
  let done = 0;
  let run: AptRun | undefined;
  let phase = 'update';
  // An update begun before the apply is over before dpkg or apt are run beside it.
  await ctx.aptLists?.catch(() => undefined);
  const tick = () => {
    if (!progress) return;
    const work = run && aptWork(run);
    progress({ bytes: run?.downloadDone ?? 0, items: done, phase: run && run.phase !== 'resolve' ? run.phase : phase, ...(run?.current ? { detail: run.current } : {}), ...(work ? { work } : {}) });
  };

  // A run with dpkg's fast I/O that died leaves its packages reinstalled first (apt-unsafe-io.ts).
  const reinstalled = await recoverUnsafeIo(ctx);
  if (reinstalled.length > 0) res.details.push(`reinstalled ${reinstalled.length} package${reinstalled.length === 1 ? '' : 's'} an interrupted run had installed with dpkg's fast I/O`);
  // dpkg's whole state, read once: what is present, and the unsafe-I/O record of before the install (nothing runs
  // dpkg in between). A query that fails is not a package's failure: what is present is asked by name then, as
  // before, and the record reads the state itself.
  let status: DpkgStatus | undefined;
  if (wanted.length > 0) status = await dpkgStatus(ctx).catch((e: unknown) => (e instanceof ChrootError ? Promise.reject(e) : undefined));
  const present = status ? status.whole(wanted) : await installedPackages(ctx, wanted);
  res.present.push(...wanted.filter((p) => present.has(p)));
  done += res.present.length;
  const todo = wanted.filter((p) => !present.has(p));
  if (todo.length > 0) tick();

  if (todo.length > 0) {
    const upd = await aptUpdate(ctx);
    if (!upd.ok) res.details.push(`apt-get update had problems: ${upd.problems.slice(0, 3).join(' | ') || 'failed'}`);

    phase = 'resolve';
    tick();
    const policy = await runInTarget(ctx, ['apt-cache', 'policy', ...todo]);
    const candidates = parseAptCachePolicy(policy.stdout);
    const available: string[] = [];
    for (const p of todo) {
      if (candidates.get(p)) available.push(p);
      else {
        res.missing.push(p);
        res.details.push(candidates.has(p) ? `${p}: no installation candidate in the target's archives` : `${p}: not in the target's archives`);
      }
    }

    if (available.length > 0) {
      const pending = new Set(available);
      /** One apt-get run, its progress followed on stdout and Status-Fd. */
      const install = (argv: string[]) => {
        const tracker = new AptRunTracker();
        const onLine = (line: string, stream: 'stdout' | 'stderr') => {
          if (stream !== 'stdout') return;
          const m = /^Setting up ([^\s:]+)(?::\S+)? \(/.exec(line);
          if (m && pending.delete(m[1]!)) done += 1;
          if (tracker.stdout(line) || m) {
            run = tracker.snapshot;
            tick();
          }
        };
        const onStatusLine = (line: string) => {
          if (tracker.status(line)) {
            run = tracker.snapshot;
            tick();
          }
        };
        return runInTarget(ctx, [...argv.slice(0, 1), '-o', `APT::Status-Fd=${STATUS_FD}`, ...argv.slice(1)], { onLine, onStatusLine, nice: APT_NICE, ...fast }).then((r) => {
          if (r.code === 0) {
            tracker.finish();
            run = tracker.snapshot;
            tick();
          }
          return r;
        });
      };
      const base = ['apt-get', ...APT_OPTS, ...unsafeIoOptions(), 'install', '-y', '--no-remove', ...(opts.noRecommends ? ['--no-install-recommends'] : [])];
      const fast = await unsafeIoRun(ctx);
      await unsafeIoBegin(ctx, status);
      const batch = await install([...base, ...available]);
      let nowInstalled: Set<string>;
      if (batch.code === 0) {
        // The check of what is installed (a read in the target) beside the sync that ends dpkg's fast I/O (the host's).
        // Both settle before going on: the record's removal must not run on beside a later recovery.
        const [check, end] = await Promise.allSettled([installedPackages(ctx, available), unsafeIoEnd(ctx)]);
        if (check.status === 'rejected') throw check.reason;
        if (end.status === 'rejected') throw end.reason;
        nowInstalled = check.value;
      } else {
        const why = errorSummary(batch);
        ctx.log(`apt-get install of ${available.length} packages failed (${why}); installing one by one`);
        // Leave dpkg consistent before going on (a half-configured package
        // would make every next apt-get refuse).
        await runInTarget(ctx, ['dpkg', '--configure', '-a'], fast);
        await runInTarget(ctx, [...base, '-f'], fast);
        nowInstalled = await installedPackages(ctx, available);
        for (const p of available) {
          if (nowInstalled.has(p)) continue;
          const one = await install([...base, p]);
          if (one.code === 0) nowInstalled.add(p);
          else {
            res.failed.push(p);
            res.details.push(`${p}: install failed: ${errorSummary(one)}`);
            await runInTarget(ctx, ['dpkg', '--configure', '-a'], fast);
          }
        }
        nowInstalled = await installedPackages(ctx, available);
        await unsafeIoEnd(ctx);
      }
      for (const p of available) {
        if (nowInstalled.has(p)) {
          res.installed.push(p);
          if (pending.delete(p)) done += 1;
        } else if (!res.failed.includes(p)) {
          res.failed.push(p);
          res.details.push(`${p}: not installed after apt-get install: ${errorSummary(batch)}`);
        }
      }
      tick();
    }
  }

  // apt-get marks what it was asked to install as manual; a package that was
  // already there may have come as a dependency (auto), and is marked here.
  const manual = res.present;
  if (manual.length > 0) {
    const mark = await runInTarget(ctx, ['apt-mark', 'manual', ...manual]);
    if (mark.code !== 0) res.details.push(`apt-mark manual failed: ${errorSummary(mark)}`);
  }
  return res;
}

/**
 * An apt run's work by rate class: archive bytes to fetch, then the
 * packages dpkg unpacks, then the packages it configures (counted by
 * package from Status-Fd, not from apt's percentage: a percent of unpacking
 * took 7 times as long as a percent of configuring in bench/install-restore's
 * 278 packages); undefined until apt printed its summary.
 */
export function aptWork(run: AptRun): WorkPart[] | undefined {
  if (run.packages === 0 && run.downloadTotal === 0) return undefined;
  const n = run.packages;
  return [
    { rate: 'network', total: run.downloadTotal, done: run.downloadDone },
    { rate: 'apt', total: n, done: Math.min(n, run.unpacked) },
    { rate: 'configure', total: n, done: Math.min(n, run.configured) },
  ];
}

/** A StepOutcome from an aptInstall result: failed > skipped (missing) > done. */
export function aptOutcome(r: AptInstallResult, noun = 'packages'): StepOutcome {
  const parts = [`${r.installed.length} ${noun} installed`, `${r.present.length} already present`];
  if (r.missing.length) parts.push(`${r.missing.length} not in the target's archives`);
  if (r.failed.length) parts.push(`${r.failed.length} failed`);
  const status = r.failed.length ? 'failed' : r.missing.length ? 'skipped' : 'done';
  return { status, message: parts.join(', '), ...(r.details.length ? { details: r.details } : {}) };
}

// ---------------------------------------------------------------------------
// apt.install

export const applyAptInstall: StepApplier = async (_step, ctx, progress) => {
  const pkgs = ctx.manifest.apps?.apt ?? [];
  if (pkgs.length === 0) return { status: 'done', message: 'no apt packages' };
  return aptOutcome(await aptInstall(ctx, pkgs, progress));
};
