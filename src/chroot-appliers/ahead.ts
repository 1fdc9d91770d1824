/**
 * Fetch-ahead: while the first steps of a restore run — apt above all, busy
 * with dpkg, the disk and the CPU rather than with our server — the blobs of
 * the later steps the plan marks `ahead` (data v2 packs and tree roots of
 * folders and repositories, v1 archives and bundles) are downloaded whole
 * into a folder on the target's disk, each verified (its sha256 is its
 * address) before it gets its name, within a disk budget. Those steps then
 * read them from there (local-blobs.ts `withLocal`) and fetch only the rest.
 * Once a step's blobs are here, its stager (index.ts defaultStagers) does
 * what it can ahead: a data v2 folder staged, a repository built.
 *
 *   start(steps)   the steps not finished yet that have a step before them; their blobs, each once
 *   sizes          HEAD of every blob (the budget and the progress need them)
 *   loop           two downloads at a time, in step order; a blob that would pass the budget
 *                  is left to its step
 *   staged         a step staged whole names the blobs it will not read any more; copies no
 *                  other step reads are deleted at once (not written to the disk dpkg is using)
 *   claim(step)    the step starts: its blobs still queued are dropped (it reads the ranges it
 *                  needs itself), the ones in flight are awaited
 *   finished(step) blobs no step still to run needs are deleted (budget freed)
 *   close()        everything stopped; the folder removed when the restore finished
 *
 * From a source whose blobs are files already (an export on a drive) nothing
 * is fetched: the staging ahead runs beside apt all the same.
 *
 * Interrupted (SIGKILL): a verified blob keeps its name, a partial one its
 * `.part`; the next run finds them: a named one is hashed again (the copies
 * are not fsync'ed: forcing them to disk slowed dpkg beside them, and a
 * crash of the machine may leave other bytes under a name) and not fetched
 * again when it is whole, a part is resumed. The fetch-ahead never fails a restore: a blob it could
 * not fetch is left to its step, which reads it from the server as it would
 * without fetch-ahead (and stops the restore if the bytes are not authentic).
 */
import { mkdir, readdir, rm, rmdir, stat, statfs } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { BlobRef, Manifest } from '../manifest/types.ts';
import { blobHex } from '../manifest/index.ts';
import { isV2Files, repoBundleBlobs } from '../manifest/types.ts';
import { pool } from '../drive/retry.ts';
import { fileHashesTo } from '../drive/download.ts';
import type { PlanStep, RestorePlan } from '../restore-machine/plan.ts';
import type { AheadProgress } from '../restore-machine/types.ts';
import type { BlobSource, Progress } from './applier.ts';
import { LocalBlobs, withLocal } from './local-blobs.ts';
import { stagingDirFor } from './commit-staging.ts';
import type { Target } from './target.ts';
import { errMessage } from '../util/fs.ts';

export type { AheadProgress } from '../restore-machine/types.ts';

/** The blobs a step marked `ahead` reads whole: what fetching ahead brings to the target's disk. */
export function aheadBlobs(step: PlanStep, m: Manifest): BlobRef[] {
  if (!step.ahead) return [];
  if (step.kind === 'files.restore') {
    const f = m.files?.entry?.find((e) => e.local_path === step.key);
    if (!f) return [];
    return isV2Files(f) ? [f.tree, ...f.packs] : [f.blob];
  }
  if (step.kind === 'repo.restore') {
    const r = m.repos?.entry?.find((e) => e.path === step.key);
    return r ? repoBundleBlobs(r) : [];
  }
  return [];
}

/** Where the fetched-ahead blobs live: beside the staging folders, on the target's root filesystem. */
export function aheadDir(target: Target): Promise<string> {
  return stagingDirFor(target.root, '/', 'ahead', { keep: true });
}

const GiB = 1024 ** 3;
const mib = (n: number) => `${(n / 1024 ** 2).toFixed(0)} MiB`;

/**
 * The disk budget of the fetch-ahead in `dir`: at most `max` (default
 * 8 GiB), and never so much that what the restore still has to write
 * (`writes`, the plan's bytes) and what apt may need (2 GiB, or a quarter
 * of the free space on a small disk) would not fit any more.
 */
export async function aheadBudget(dir: string, writes: number, max = Number(process.env.KODER_AHEAD_MAX_BYTES ?? 8 * GiB)): Promise<number> {
  const fs = await statfs(dir);
  const free = Number(fs.bavail) * Number(fs.bsize);
  return Math.max(0, Math.min(max, free - writes - Math.min(2 * GiB, free / 4)));
}

interface Item {
  ref: BlobRef;
  hex: string;
  /** Steps that read it, in plan order. */
  steps: string[];
  size?: number;
  state: 'queued' | 'fetching' | 'local' | 'left';
  /** Resolves once the item is local or left to its steps. */
  settled: Promise<void>;
  settle: () => void;
}

/** A step whose data comes ahead. */
export interface AheadStep {
  id: string;
  blobs: BlobRef[];
  /** Stages the step's data once its blobs are here (applier.ts StepStager, bound to the step): resolves with the blobs the step no longer reads. */
  stage?: (progress: Progress) => Promise<readonly BlobRef[] | void>;
}

interface StepState {
  items: Item[];
  stage?: AheadStep['stage'];
  /** The staging ahead, once started. */
  staging?: Promise<void>;
  /** Set once the step is staged: the blobs (hex) it will not read any more. */
  unread?: Set<string>;
}

export interface FetchAheadOptions {
  /** The folder (created if missing); what an interrupted run left there is used. */
  dir: string;
  /** The restore's source: it must have `fetch`, else nothing is fetched ahead. */
  source: BlobSource;
  /** Bytes the folder may hold. */
  budget: number;
  /** Downloads at a time (default 2). */
  parallel?: number;
  signal?: AbortSignal;
  log?: (line: string) => void;
  onProgress?: (p: AheadProgress) => void;
}

export class FetchAhead {
  readonly local: LocalBlobs;
  private items = new Map<string, Item>();
  private order: Item[] = [];
  private steps = new Map<string, StepState>();
  private claimed = new Set<string>();
  private used = 0;
  private fetched = 0;
  private abort = new AbortController();
  private loops: Promise<void>[] = [];
  private reportedAt = 0;
  private reportLater?: ReturnType<typeof setTimeout>;

  private constructor(private readonly o: FetchAheadOptions) {
    this.local = new LocalBlobs(o.dir, 'the fetched-ahead copies');
  }

  static async open(o: FetchAheadOptions): Promise<FetchAhead> {
    await mkdir(o.dir, { recursive: true, mode: 0o700 });
    const a = new FetchAhead(o);
    o.signal?.addEventListener('abort', () => a.abort.abort(), { once: true });
    return a;
  }

  /** The restore's source with the fetched-ahead copies read first. */
  blobs(): BlobSource {
    return withLocal(this.o.source, this.local);
  }

  /** What is fetched ahead so far. */
  progress(): AheadProgress {
    let total = 0;
    let have = 0;
    for (const it of this.order) {
      if (it.state === 'left' || it.size === undefined) continue;
      total += it.size;
      if (it.state === 'local') have += it.size;
    }
    const open = [...this.steps].filter(([id]) => !this.claimed.has(id));
    return {
      bytes: have,
      total,
      fetched: this.fetched,
      ready: open.filter(([, s]) => s.items.length > 0 && s.items.every((i) => i.state === 'local')).map(([id]) => id),
      staged: open.filter(([, s]) => s.unread !== undefined).map(([id]) => id),
    };
  }

  /**
   * Starts fetching the blobs of `steps` (plan order; the caller passes the
   * ones still to run that have work before them), and staging each step
   * that can be once its blobs are here. Returns at once.
   */
  start(steps: AheadStep[]): void {
    if (this.loops.length || (!this.o.source.fetch && !this.o.source.local)) return;
    for (const s of steps) {
      const list: Item[] = [];
      for (const ref of s.blobs) {
        const hex = blobHex(ref);
        let it = this.items.get(hex);
        if (!it) {
          let settle!: () => void;
          const settled = new Promise<void>((r) => (settle = r));
          it = { ref, hex, steps: [], state: 'queued', settled, settle };
          this.items.set(hex, it);
          this.order.push(it);
        }
        if (!it.steps.includes(s.id)) it.steps.push(s.id);
        if (!list.includes(it)) list.push(it);
      }
      this.steps.set(s.id, { items: list, ...(s.stage ? { stage: s.stage } : {}) });
    }
    const quiet = (what: string) => (e: unknown) => {
      if (!this.abort.signal.aborted) this.o.log?.(`fetch-ahead: ${what} stopped: ${errMessage(e)}`);
    };
    this.loops.push(
      (this.o.source.fetch ? this.fetchAll() : this.findLocal())
        .catch(quiet('downloads'))
        .finally(() => this.order.forEach((i) => (i.state === 'queued' && (i.state = 'left'), i.settle()))),
      this.stageAll().catch(quiet('staging')),
    );
  }

  /** At most four reports a second, but always the last one. */
  private report(force = false): void {
    const now = Date.now();
    if (!force && now - this.reportedAt < 250) {
      this.reportLater ??= setTimeout(() => ((this.reportLater = undefined), this.report(true)), 250);
      return;
    }
    this.reportedAt = now;
    this.o.onProgress?.(this.progress());
  }

  private async fetchAll(): Promise<void> {
    const fetch = this.o.source.fetch!;
    const signal = this.abort.signal;
    // What an interrupted run left: verified blobs (their names) and parts.
    const present = new Map<string, number>();
    for (const name of await readdir(this.o.dir).catch(() => [] as string[])) {
      const path = `${this.o.dir}/${name}`;
      const st = await stat(path).catch(() => undefined);
      if (!st?.isFile()) continue;
      // A copy no step still to run reads (its steps finished before the interruption) goes.
      if (!this.items.has(name.replace(/\.part$/, ''))) {
        await rm(path, { force: true });
        continue;
      }
      // The copies are not fsync'ed: after a crash of the machine one may hold other bytes.
      if (!name.endsWith('.part') && !(await fileHashesTo(path, name))) {
        this.o.log?.(`fetch-ahead: ${name} left by an interrupted run does not hash to its name: fetched again`);
        await rm(path, { force: true });
        continue;
      }
      present.set(name, st.size);
      this.used += st.size;
    }
    for (const it of this.order) {
      const size = present.get(it.hex);
      if (size === undefined) continue;
      it.size = size;
      it.state = 'local';
      it.settle();
    }
    // Sizes, eight HEADs at a time.
    await pool(this.order.filter((i) => i.state === 'queued'), 8, async (it) => {
      if (signal.aborted || it.state !== 'queued') return;
      it.size = await fetch.size(it.ref, { signal }).catch(() => undefined);
      if (it.size === undefined) this.leave(it);
    });
    this.report();
    let over = 0;
    await pool(this.order, this.o.parallel ?? 2, async (it) => {
      if (signal.aborted || it.state !== 'queued') return;
      const part = present.get(`${it.hex}.part`) ?? 0;
      if (this.used - part + it.size! > this.o.budget) {
        if (over++ === 0) this.o.log?.(`fetch-ahead: its disk budget (${mib(this.o.budget)}) is reached; what does not fit is left to its step`);
        return this.leave(it);
      }
      this.used += it.size! - part;
      it.state = 'fetching';
      try {
        // Not fsync'ed: a copy found after a restart is hashed again before it is used (below).
        await fetch.download(it.ref, this.local.path(it.hex), { signal, durable: false, onBytes: (n) => (this.fetched += n) });
        it.state = 'local';
        it.settle();
      } catch (e) {
        this.used -= it.size!;
        await rm(`${this.local.path(it.hex)}.part`, { force: true });
        this.leave(it);
        if (!signal.aborted) this.o.log?.(`fetch-ahead: ${it.ref} left to its step (${errMessage(e)})`);
      }
      this.report();
    });
  }

  /** A source whose blobs are files already (a drive's export): nothing to fetch, the staging can begin. */
  private async findLocal(): Promise<void> {
    for (const it of this.order) {
      if (this.o.source.local?.(it.ref)) {
        it.state = 'local';
        it.size = 0;
        it.settle();
      } else this.leave(it);
    }
    this.report();
  }

  private leave(it: Item): void {
    it.state = 'left';
    it.settle();
  }

  /** Step by step, once its blobs are settled: its staging, if it has one and has not started. */
  private async stageAll(): Promise<void> {
    for (const [id, s] of this.steps) {
      if (!s.stage) continue;
      await Promise.all(s.items.map((i) => i.settled));
      if (this.abort.signal.aborted) return;
      if (this.claimed.has(id)) continue;
      s.staging = s.stage(() => this.report()).then(
        async (unread) => {
          s.unread = new Set((unread ?? []).map((r) => blobHex(r)));
          await this.dropUnread();
          this.report();
        },
        (e: unknown) => {
          if (!this.abort.signal.aborted) this.o.log?.(`fetch-ahead: staging for ${id} stopped (${errMessage(e)}); the step does it`);
        },
      );
      await s.staging;
    }
  }

  /**
   * The step starts: its blobs not fetched yet are its own to read; the
   * ones in flight, and its staging if it began, are awaited.
   */
  async claim(stepId: string): Promise<void> {
    this.claimed.add(stepId);
    const s = this.steps.get(stepId);
    if (!s) return;
    for (const it of s.items) if (it.state === 'queued' && it.steps.every((x) => this.claimed.has(x))) this.leave(it);
    await Promise.all(s.items.map((it) => it.settled));
    await s.staging;
    this.report();
  }

  /**
   * Copies no step will read any more — every step that reads one is
   * finished or staged whole without it — are deleted now, not when those
   * steps finish after apt: deleted within seconds of their writing, their
   * pages never go to the disk dpkg is busy with (593 MiB of packs in
   * bench/install-restore.ts).
   */
  private async dropUnread(): Promise<void> {
    for (const it of this.order) {
      if (it.state !== 'local' || !it.steps.every((x) => !this.steps.has(x) || this.steps.get(x)!.unread?.has(it.hex))) continue;
      it.state = 'left';
      this.used -= it.size ?? 0;
      await rm(this.local.path(it.hex), { force: true });
    }
  }

  /** The step finished: the copies only it (and steps before it) read are deleted. */
  async finished(stepId: string): Promise<void> {
    this.claimed.add(stepId);
    for (const it of this.steps.get(stepId)?.items ?? []) {
      if (it.state !== 'local' || !it.steps.every((x) => this.claimed.has(x))) continue;
      it.state = 'left';
      this.used -= it.size ?? 0;
      await rm(this.local.path(it.hex), { force: true });
    }
    this.steps.delete(stepId);
    this.report();
  }

  /** Stops every download; `remove` deletes the folder (the restore finished), else it stays for a resume. */
  async close(o: { remove: boolean }): Promise<void> {
    this.abort.abort();
    await Promise.all(this.loops);
    clearTimeout(this.reportLater);
    if (o.remove) {
      await rm(this.o.dir, { recursive: true, force: true });
      await rmdir(dirname(this.o.dir)).catch(() => undefined); // the staging folders' parent, when empty
    }
  }
}

/**
 * The fetch-ahead of a restore into `target`: its folder on the target's
 * disk, its budget from the free space there; undefined when the plan has
 * nothing to fetch ahead, or the source neither fetches whole blobs nor has
 * them as files (a drive's export has: nothing is fetched, the staging ahead
 * still runs beside apt).
 */
export async function openAhead(target: Target, plan: RestorePlan, source: BlobSource, signal: AbortSignal | undefined, log: (line: string) => void, onProgress: (p: AheadProgress) => void): Promise<FetchAhead | undefined> {
  if ((!source.fetch && !source.local) || !plan.steps.some((s) => s.ahead)) return undefined;
  const dir = await aheadDir(target);
  const budget = await aheadBudget(dirname(dir), plan.totals.bytes);
  return FetchAhead.open({ dir, source, budget, log, onProgress, ...(signal ? { signal } : {}) });
}
