/**
 * The time left of a restore, from measured rates per kind of work, kept
 * steady for a person watching it. Pure: the clock is given.
 *
 * Input at each update: the plan's steps as tasks — a group (tasks of one
 * group run at the same time, groups one after the other: today every step
 * is its own group; a prefetch running beside apt would share apt's), a
 * status, and work parts by rate class (what the step reported while
 * running, e.g. apt's archive bytes and dpkg packages, else a guess from the
 * plan: `guessedWork`). A task's parts are done one after the other.
 *
 *  1. Rates. Per rate class, the work done per second of time a task spent
 *     on a part of that class (measured parts only; guesses never are), over
 *     the last 20 s of such time, blended with a prior worth 2 s of
 *     observation at first and nothing once the class was measured for
 *     20 s. apt's downloads and the files' share `network`.
 *  2. Raw estimate: per task, what is left of its parts at their class's
 *     rate (a `time` part: its guessed seconds minus the time it has run,
 *     never below a tenth of them); per group its longest task; the groups
 *     added up.
 *  3. Shown estimate: counts down with the clock; the raw estimate pulls it
 *     down quickly (τ 5 s) and up slowly (τ 12 s), so a raw estimate a little
 *     above only slows the countdown and the shown one rises only when the
 *     raw one is well above it (by more than about τ). So it does not jump
 *     back and forth, and a lasting change of speed still shows within a few
 *     τ. None before the kinds of work in hand have 2 s of measured work
 *     each (or 8 s of restore).
 *  4. Shares done (the bars): per task, time spent / (time spent + time
 *     left), never going back; the whole restore: the same over all tasks.
 */
import type { PlanStep } from '../restore-machine/plan.ts';
import type { RateClass, StepProgress, WorkPart } from '../restore-machine/types.ts';

export type { RateClass, WorkPart } from '../restore-machine/types.ts';

export interface EtaTask {
  id: string;
  /** Tasks of one group run at the same time; groups run one after the other, in ascending order. */
  group: number;
  status: 'pending' | 'running' | 'finished';
  parts: WorkPart[];
  /** The parts' `done` are measurements (reported by the step), not guesses: they feed the rates. */
  measured: boolean;
}

export interface EtaResult {
  /** Seconds left, smoothed; absent until there is something to go on. */
  etaSeconds?: number;
  /** Share of the whole restore done, 0..1, never going back. */
  fraction: number;
  /** Share done per task, 0..1, never going back. */
  shares: Record<string, number>;
  /** Seconds per task, spent + left (for weighing tasks against each other). */
  seconds: Record<string, number>;
}

/** Starting rates, replaced by measured ones as soon as there are some (units: see RateClass). */
export const PRIOR_RATES: Record<RateClass, number> = {
  network: 6e6, // bytes/s: a 50 Mbit/s home link
  extract: 100e6, // bytes/s written from a local pack
  apt: 4, // packages dpkg unpacks per second (11.5 measured for bench/install-restore's 278 on this VM's disk, 9 for the 93 of test/fixtures/apt/bookworm-install-24)
  configure: 16, // packages dpkg configures per second (CONFIGURE_SPEEDUP × apt's, until apt's is measured)
  flatpak: 1 / 30, // refs per second
  kpkg: 0.2,
  time: 1,
};

/** Guessed seconds of steps whose work has no unit worth measuring. */
const GUESSED_SECONDS: Partial<Record<PlanStep['kind'], number>> = {
  'system.hostname': 1,
  'system.timezone': 5,
  'system.locale': 20,
  'system.keyboard': 5,
  'system.gpu': 120,
  'system.gsettings': 1,
  'secrets.restore': 1,
  'firstboot.install': 1,
};
/**
 * Until configuring is measured, it is taken to go this many times as fast
 * as unpacking was (bench/install-restore.ts, 278 packages: unpacked in
 * 29 s, configured in 7 s; the ETA that treated a percent of either alike
 * said 55 s when 36 were left).
 */
const CONFIGURE_SPEEDUP = 4;
/** apt before it says: dependencies per requested package, archive bytes per package. */
const APT_DEPS_PER_PACKAGE = 3;
const APT_BYTES_PER_PACKAGE = 800e3;
const SOURCE_SECONDS = 5;
const CLONE_SECONDS = 10;

/**
 * A step's work by rate class before it reports its own: from the plan
 * (bytes, items) and what it reported so far (bytes, items done). `measured`
 * when those done values are real (files' bytes, flatpak refs), not when
 * the parts are a guess with nothing done (apt before its summary).
 */
export function guessedWork(step: Pick<PlanStep, 'kind' | 'bytes' | 'items'>, done: Pick<StepProgress, 'bytes' | 'items'> = { bytes: 0, items: 0 }): { parts: WorkPart[]; measured: boolean } {
  switch (step.kind) {
    case 'apt.install': {
      const packages = step.items * APT_DEPS_PER_PACKAGE;
      return {
        parts: [
          { rate: 'network', total: packages * APT_BYTES_PER_PACKAGE, done: 0 },
          { rate: 'apt', total: packages, done: 0 },
          { rate: 'configure', total: packages, done: 0 },
        ],
        measured: false,
      };
    }
    case 'apt.sources':
      return { parts: [{ rate: 'time', total: step.items * SOURCE_SECONDS, done: 0 }], measured: false };
    case 'flatpak.system':
      return { parts: [{ rate: 'flatpak', total: step.items, done: Math.min(done.items, step.items) }], measured: true };
    case 'kpkg.install':
      return { parts: [{ rate: 'kpkg', total: step.items, done: Math.min(done.items, step.items) }], measured: true };
    case 'files.restore':
    case 'repo.restore':
      if (step.bytes > 0) return { parts: [{ rate: 'network', total: step.bytes, done: Math.min(done.bytes, step.bytes) }], measured: true };
      return { parts: [{ rate: 'time', total: step.kind === 'repo.restore' ? CLONE_SECONDS : 1, done: 0 }], measured: false };
    default:
      return { parts: [{ rate: 'time', total: GUESSED_SECONDS[step.kind] ?? 2, done: 0 }], measured: false };
  }
}

/**
 * How a person is told the time left, in whole minutes: 0 means "under a
 * minute"; past an hour, in steps of 5 minutes ("about 1 h 25 min").
 */
export function aboutMinutes(seconds: number): number {
  if (seconds < 45) return 0;
  const m = Math.max(1, Math.round(seconds / 60));
  return m > 60 ? Math.round(m / 5) * 5 : m;
}

const WINDOW = 20; // seconds of measured time a rate looks back over
const PRIOR_WEIGHT = 2; // seconds of pseudo-observation at the prior rate
const TAU_DOWN = 5;
const TAU_UP = 12;
const WARM_MEASURED = 2;
const WARM_ELAPSED = 8;
const TIME_FLOOR = 0.1;

interface ClassState {
  work: number;
  active: number;
  /** [active seconds, work] at each measured interval (the first is [0, 0]). */
  samples: Array<[number, number]>;
}

export class EtaEstimator {
  private readonly priors: Record<RateClass, number>;
  private firstAt?: number;
  private lastAt?: number;
  private classes = new Map<RateClass, ClassState>();
  private lastDone = new Map<string, number>();
  private activeBefore = new Set<RateClass>();
  private clocks = new Map<string, { start: number; end?: number }>();
  private shown?: number;
  private shownAt?: number;
  private shareMax = new Map<string, number>();
  private fractionMax = 0;

  constructor(priors: Partial<Record<RateClass, number>> = {}) {
    this.priors = { ...PRIOR_RATES, ...priors };
  }

  /** The current rate of a class (units of its work per second). */
  rate(c: RateClass): number {
    if (c === 'time') return 1;
    const prior = c === 'configure' && this.classes.get('apt')?.active ? CONFIGURE_SPEEDUP * this.rate('apt') : this.priors[c];
    const s = this.classes.get(c);
    if (!s || s.active <= 0) return prior;
    const from = s.active - WINDOW;
    // The last sample at or before the window's start (the first one is [0, 0]).
    let base = s.samples[0]!;
    for (const x of s.samples) if (x[0] <= from) base = x;
    const dw = s.work - base[1];
    const da = s.active - base[0];
    // The prior's weight fades out as the class is measured for a window's worth of time.
    const w = PRIOR_WEIGHT * Math.max(0, 1 - s.active / WINDOW);
    return Math.max((dw + prior * w) / (da + w), prior * 1e-3);
  }

  /** Folds in the tasks as they are at `now` (epoch ms) and returns the estimate. Call it as often as you like. */
  update(now: number, tasks: readonly EtaTask[]): EtaResult {
    this.firstAt ??= now;
    const dt = this.lastAt === undefined ? 0 : Math.max(0, (now - this.lastAt) / 1000);
    this.lastAt = now;

    for (const t of tasks) {
      const clock = this.clocks.get(t.id);
      if (t.status === 'running' && !clock) this.clocks.set(t.id, { start: now });
      if (t.status === 'finished' && clock && clock.end === undefined) clock.end = now;
    }

    // 1. Work done since the last update, credited to the classes that were at work meanwhile.
    const gained = new Map<RateClass, number>();
    for (const t of tasks) {
      if (!t.measured) continue;
      t.parts.forEach((p, i) => {
        if (p.rate === 'time') return;
        const key = `${t.id}\u0000${i}\u0000${p.rate}`;
        const before = this.lastDone.get(key);
        this.lastDone.set(key, p.done);
        if (before !== undefined && p.done > before && this.activeBefore.has(p.rate)) gained.set(p.rate, (gained.get(p.rate) ?? 0) + (p.done - before));
      });
    }
    if (dt > 0) {
      for (const c of this.activeBefore) {
        let s = this.classes.get(c);
        if (!s) this.classes.set(c, (s = { work: 0, active: 0, samples: [[0, 0]] }));
        s.active += dt;
        s.work += gained.get(c) ?? 0;
        s.samples.push([s.active, s.work]);
        while (s.samples.length > 2 && s.samples[1]![0] <= s.active - WINDOW) s.samples.shift();
      }
    }
    this.activeBefore = new Set();
    for (const t of tasks) {
      if (t.status !== 'running' || !t.measured) continue;
      const part = t.parts.find((p) => p.done < p.total);
      if (part && part.rate !== 'time') this.activeBefore.add(part.rate);
    }

    // 2. What is left, per task and in all.
    const left = new Map<string, number>();
    for (const t of tasks) left.set(t.id, this.remaining(t, now));
    const groups = new Map<number, number>();
    for (const t of tasks) groups.set(t.group, Math.max(groups.get(t.group) ?? 0, left.get(t.id)!));
    const raw = [...groups.values()].reduce((a, b) => a + b, 0);

    // 4. Shares done.
    const shares: Record<string, number> = {};
    const seconds: Record<string, number> = {};
    let spentAll = 0;
    let leftAll = 0;
    for (const t of tasks) {
      const l = left.get(t.id)!;
      const clock = this.clocks.get(t.id);
      const spent = clock ? ((clock.end ?? now) - clock.start) / 1000 : t.status === 'finished' ? this.seconds(t.parts) : 0;
      spentAll += spent;
      leftAll += l;
      seconds[t.id] = spent + l;
      // A measured task that has not done any of its work yet shows none done, however long it has
      // run (a step waiting on something before its first byte is not 99 % done because the rate
      // it will go at is fast).
      const idle = t.measured && t.status === 'running' && t.parts.every((p) => p.rate === 'time' || p.done === 0);
      const share = t.status === 'finished' ? 1 : idle ? 0 : spent + l > 0 ? spent / (spent + l) : 0;
      const kept = Math.max(this.shareMax.get(t.id) ?? 0, Math.min(1, share));
      this.shareMax.set(t.id, kept);
      shares[t.id] = kept;
    }
    const allDone = tasks.every((t) => t.status === 'finished');
    const fraction = allDone ? 1 : Math.min(0.99, spentAll + leftAll > 0 ? spentAll / (spentAll + leftAll) : 0);
    this.fractionMax = Math.max(this.fractionMax, fraction);

    // 3. The estimate shown.
    if (allDone) {
      this.shown = 0;
      this.shownAt = now;
    } else if (this.shown === undefined || this.shownAt === undefined) {
      // Warm once the kinds of work in hand now (activeBefore: the running measured tasks' current parts)
      // were measured (not another task's: the fetch-ahead's downloads measured for 2 s said nothing of
      // dpkg's speed, and the first estimate was 3 times the truth), or once the restore has run a while.
      // A running task whose work is still a guess (apt before its summary) is not measured at all.
      const guessed = tasks.some((t) => t.status === 'running' && !t.measured && (t.parts.find((p) => p.done < p.total)?.rate ?? 'time') !== 'time');
      const needs = this.activeBefore;
      const measured = guessed
        ? 0
        : needs.size
          ? Math.min(...[...needs].map((c) => this.classes.get(c)?.active ?? 0))
          : [...this.classes.values()].reduce((n, s) => n + s.active, 0);
      if (measured >= WARM_MEASURED || (now - this.firstAt) / 1000 >= WARM_ELAPSED) {
        this.shown = raw;
        this.shownAt = now;
      }
    } else {
      const step = Math.max(0, (now - this.shownAt) / 1000);
      const predicted = Math.max(0, this.shown - step);
      const diff = raw - predicted;
      this.shown = predicted + diff * (1 - Math.exp(-step / (diff > 0 ? TAU_UP : TAU_DOWN)));
      this.shownAt = now;
    }
    return { ...(this.shown !== undefined ? { etaSeconds: Math.round(this.shown) } : {}), fraction: this.fractionMax, shares, seconds };
  }

  /** Seconds the parts take in all at the current rates. */
  private seconds(parts: readonly WorkPart[]): number {
    return parts.reduce((n, p) => n + p.total / this.rate(p.rate), 0);
  }

  private remaining(t: EtaTask, now: number): number {
    if (t.status === 'finished') return 0;
    const clock = this.clocks.get(t.id);
    const ran = t.status === 'running' && clock ? (now - clock.start) / 1000 : 0;
    let s = 0;
    for (const p of t.parts) {
      if (p.rate === 'time') s += Math.max(p.total - ran, p.total * TIME_FLOOR);
      else s += Math.max(0, p.total - p.done) / this.rate(p.rate);
    }
    return s;
  }
}
