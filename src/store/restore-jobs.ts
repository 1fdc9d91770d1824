/**
 * Runs a files restore's jobs (runs of one pack's chunks) on worker threads
 * (restore-worker.ts), two in flight per worker; the workers stay up across
 * calls to `run` (a restore runs its files in windows: folder-restore.ts).
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
  /** A local file holding the pack. */
  file?(pack: string): string;
}

/** A run of one pack's chunks, before it starts (paths and finishing data are added as it starts). */
export type PlannedJob = Pick<Job, 'pack' | 'start' | 'end' | 'items'>;
export type PreparedJob = Omit<Job, 'job' | 'source' | 'idleMs'>;

export interface JobEvents {
  progress(bytes: number, raw: number): void;
  done(job: PlannedJob): void;
}

type Attempts = ReturnType<NonNullable<PackSource['remote']>>;

export class JobRunner {
  private readonly workers: Worker[] = [];
  private nextId = 0;
  /** The current run's handlers (one run at a time). */
  private current: { onMessage(w: Worker, m: FromRestoreWorker): void; fail(e: unknown): void } | undefined;

  constructor(
    private readonly packs: PackSource,
    private readonly count: number,
    private readonly signal?: AbortSignal,
  ) {}

  private worker(i: number): Worker {
    let w = this.workers[i];
    if (!w) {
      const nw = startWorker('restore-worker');
      nw.on('error', (e) => this.current?.fail(e));
      nw.on('message', (m: FromRestoreWorker) => this.current?.onMessage(nw, m));
      this.workers[i] = nw;
      w = nw;
    }
    return w;
  }

  /** Runs `jobs`; resolves when every one is written, rejects at the first failure. */
  async run(jobs: PlannedJob[], prepare: (j: PlannedJob) => PreparedJob, ev: JobEvents): Promise<void> {
    if (!jobs.length) return;
    const n = Math.max(1, Math.min(this.count, jobs.length));
    await new Promise<void>((resolve, reject) => {
      let next = 0;
      let active = 0;
      let failed = false;
      const inFlight = new Map<number, { job: PlannedJob; attempts?: Attempts }>();
      const fail = (e: unknown) => {
        if (failed) return;
        failed = true;
        this.signal?.removeEventListener('abort', onAbort);
        reject(e);
      };
      const onAbort = () => fail(new CodedError('restore_aborted', 'the restore was cancelled'));
      this.signal?.addEventListener('abort', onAbort, { once: true });
      if (this.signal?.aborted) return onAbort();
      const launch = async (w: Worker) => {
        if (failed) return;
        if (next >= jobs.length) {
          if (active === 0) {
            this.signal?.removeEventListener('abort', onAbort);
            resolve();
          }
          return;
        }
        const job = jobs[next++]!;
        const id = this.nextId++;
        active++;
        try {
          let source: Job['source'];
          let idleMs = 30_000;
          let attempts: Attempts | undefined;
          if (this.packs.remote) {
            attempts = this.packs.remote(job.pack);
            const req = await attempts.attempt(0);
            const { range: _drop, ...headers } = req.headers;
            source = { url: req.url, headers };
            idleMs = attempts.idleMs;
          } else if (this.packs.file) source = { file: this.packs.file(job.pack) };
          else throw new Error('no way to read packs');
          inFlight.set(id, { job, ...(attempts ? { attempts } : {}) });
          w.postMessage({ ...prepare(job), job: id, source, idleMs } satisfies Job);
        } catch (e) {
          fail(e);
        }
      };
      this.current = {
        fail,
        onMessage: (w, m) => {
          const f = inFlight.get(m.job);
          if (!f) return;
          if (m.type === 'progress') ev.progress(m.bytes, m.raw);
          else if (m.type === 'done') {
            inFlight.delete(m.job);
            active--;
            ev.done(f.job);
            void launch(w);
          } else if (m.type === 'error') {
            inFlight.delete(m.job);
            fail(new CodedError(m.code === 'chunk_auth_failed' || m.code === 'chunk_missing' ? m.code : 'restore_write_failed', m.message));
          } else if (m.type === 'attempt-failed') {
            f.attempts!.attempt(m.have, m).then(
              (req) => {
                const { range: _drop, ...headers } = req.headers;
                w.postMessage({ type: 'retry', job: m.job, url: req.url, headers });
              },
              (e: unknown) => {
                w.postMessage({ type: 'give-up', job: m.job });
                fail(e);
              },
            );
          }
        },
      };
      for (let i = 0; i < n; i++) {
        const w = this.worker(i);
        void launch(w).then(() => launch(w));
      }
    });
  }

  async close(): Promise<void> {
    this.current = undefined;
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
