/**
 * Runs a files restore's jobs (runs of one pack's chunks) on worker threads
 * (restore-worker.ts), two in flight per worker; the workers stay up across
 * calls to `run`, which queue (a restore runs its files in windows, the next
 * handed in while the current one runs: folder-restore.ts).
 * A GET's failure is answered with the caller's retry policy (PackSource);
 * a chunk that does not authenticate, or a write that fails, stops the run.
 */
import type { Worker } from 'node:worker_threads';
import { CodedError } from '../util/coded-error.ts';
import { startWorker } from '../util/worker-thread.ts';
import type { FromRestoreWorker, Job } from './restore-protocol.ts';

/** How the bytes of a pack are reached: a GET whose policy the caller keeps, or a local file. */
export interface PackSource {
  /** Attempts of a GET of the pack (drive/blob-remote.ts); the worker adds its own Range. */
  remote?(pack: string): { attempt(from: number, after?: { status: number; message: string; body: string; code?: string }): Promise<{ url: string; headers: Record<string, string> }>; idleMs: number };
  /** A local file holding the pack; undefined when it is to be fetched (then `remote`). */
  file?(pack: string): string | undefined;
}

/** A run of one pack's chunks, before it starts (paths and finishing data are added as it starts). */
export type PlannedJob = Pick<Job, 'pack' | 'start' | 'end' | 'items'>;
export type PreparedJob = Omit<Job, 'job' | 'source' | 'idleMs'>;

export interface JobEvents {
  progress(bytes: number, raw: number): void;
  done(job: PlannedJob): void;
}

type Attempts = ReturnType<NonNullable<PackSource['remote']>>;

/** One call to `run`: its jobs, in order, and how it settles. */
interface Batch {
  jobs: PlannedJob[];
  next: number;
  active: number;
  prepare: (j: PlannedJob) => PreparedJob;
  ev: JobEvents;
  resolve(): void;
  reject(e: unknown): void;
}

/**
 * Jobs run two per worker. Calls to `run` queue behind each other: a
 * restore hands in its next window while the current one runs, so that the
 * workers go on with the next window's jobs instead of waiting at each
 * window's end for its last job (profile of a local export: each worker
 * idle ≈ 20 % of the restore when windows ran one after the other).
 */
export class JobRunner {
  private readonly workers: Worker[] = [];
  private nextId = 0;
  private readonly queue: Batch[] = [];
  private readonly inFlight = new Map<number, { batch: Batch; job: PlannedJob; attempts?: Attempts }>();
  /** Jobs in flight per worker. */
  private readonly load = new Map<Worker, number>();
  /** Set at the first failure: every batch, queued or later, is refused with it. */
  private failure: { error: unknown } | undefined;
  private readonly onAbort = () => this.fail(new CodedError('restore_aborted', 'the restore was cancelled'));

  constructor(
    private readonly packs: PackSource,
    private readonly count: number,
    private readonly signal?: AbortSignal,
  ) {
    signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  private worker(i: number): Worker {
    let w = this.workers[i];
    if (!w) {
      const nw = startWorker('restore-worker');
      nw.on('error', (e) => this.fail(e));
      nw.on('message', (m: FromRestoreWorker) => this.onMessage(nw, m));
      this.workers[i] = nw;
      this.load.set(nw, 0);
      w = nw;
    }
    return w;
  }

  /**
   * Runs `jobs` after those of earlier calls; resolves when every one is
   * written, rejects at the first failure of any call (the restore stops).
   */
  run(jobs: PlannedJob[], prepare: (j: PlannedJob) => PreparedJob, ev: JobEvents): Promise<void> {
    if (this.failure) return Promise.reject(this.failure.error);
    if (this.signal?.aborted) {
      this.onAbort();
      return Promise.reject(this.failure!.error);
    }
    if (!jobs.length) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ jobs, next: 0, active: 0, prepare, ev, resolve, reject });
      const n = Math.max(1, this.count);
      for (let i = 0; i < n; i++) this.worker(i);
      this.pump();
    });
  }

  /** Fills every worker up to two jobs from the oldest batch that has jobs left. */
  private pump(): void {
    for (const w of this.workers) {
      while (!this.failure && (this.load.get(w) ?? 0) < 2) {
        const batch = this.queue.find((b) => b.next < b.jobs.length);
        if (!batch) return;
        const job = batch.jobs[batch.next++]!;
        batch.active++;
        this.load.set(w, (this.load.get(w) ?? 0) + 1);
        void this.launch(w, batch, job);
      }
    }
  }

  private async launch(w: Worker, batch: Batch, job: PlannedJob): Promise<void> {
    const id = this.nextId++;
    try {
      let source: Job['source'];
      let idleMs = 30_000;
      let attempts: Attempts | undefined;
      const file = this.packs.file?.(job.pack);
      if (file) source = { file };
      else if (this.packs.remote) {
        attempts = this.packs.remote(job.pack);
        const req = await attempts.attempt(0);
        const { range: _drop, ...headers } = req.headers;
        source = { url: req.url, headers };
        idleMs = attempts.idleMs;
      } else throw new CodedError('chunk_missing', `pack ${job.pack.slice(0, 12)} is neither here nor reachable`);
      if (this.failure) return;
      this.inFlight.set(id, { batch, job, ...(attempts ? { attempts } : {}) });
      w.postMessage({ ...batch.prepare(job), job: id, source, idleMs } satisfies Job);
    } catch (e) {
      this.fail(e);
    }
  }

  private onMessage(w: Worker, m: FromRestoreWorker): void {
    const f = this.inFlight.get(m.job);
    if (!f || this.failure) return;
    if (m.type === 'progress') f.batch.ev.progress(m.bytes, m.raw);
    else if (m.type === 'done') {
      this.inFlight.delete(m.job);
      this.load.set(w, (this.load.get(w) ?? 1) - 1);
      const b = f.batch;
      b.active--;
      b.ev.done(f.job);
      if (b.next >= b.jobs.length && b.active === 0) {
        this.queue.splice(this.queue.indexOf(b), 1);
        b.resolve();
      }
      this.pump();
    } else if (m.type === 'error') {
      this.inFlight.delete(m.job);
      this.fail(new CodedError(m.code === 'chunk_auth_failed' || m.code === 'chunk_missing' ? m.code : 'restore_write_failed', m.message));
    } else if (m.type === 'attempt-failed') {
      f.attempts!.attempt(m.have, m).then(
        (req) => {
          const { range: _drop, ...headers } = req.headers;
          w.postMessage({ type: 'retry', job: m.job, url: req.url, headers });
        },
        (e: unknown) => {
          w.postMessage({ type: 'give-up', job: m.job });
          this.fail(e);
        },
      );
    }
  }

  /** The first failure stops everything: every batch not yet settled is rejected with it. */
  private fail(e: unknown): void {
    if (this.failure) return;
    this.failure = { error: e };
    this.signal?.removeEventListener('abort', this.onAbort);
    for (const b of this.queue.splice(0)) b.reject(e);
  }

  async close(): Promise<void> {
    this.signal?.removeEventListener('abort', this.onAbort);
    this.queue.length = 0;
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
