/**
 * A long operation of the app (a backup, a restore of files): an actor the
 * daemon owns, which the page follows on the state stream — closing the page
 * loses nothing. One at a time per kind.
 *
 *   start(work) → running ──done──▶ done (result)
 *                    │    ──throw──▶ failed (error)
 *                 cancel()
 *                    ▼
 *               cancelling (the work's signal is aborted; it stops where it
 *                    │        can and cleans up: the capture lock, staging)
 *                    ▼
 *               cancelled
 *
 * Every state change is written to `<stateDir>/<kind>.json` (progress at most
 * once a second), so the last outcome is still shown after the daemon
 * restarts; a job the daemon died in the middle of is shown as failed
 * ("interrupted"). Both works resume what an interrupted run left: capture
 * reuses the packs it uploaded, a files restore its staging and journal.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../../util/atomic-write.ts';
import { CodedError } from '../../util/coded-error.ts';
import type { ErrorView, JobView } from './contract.ts';

export type Work<P, R> = (signal: AbortSignal, report: (progress: P) => void) => Promise<R>;

export class Job<P, R> {
  private current?: JobView<P, R>;
  private abort?: AbortController;
  private running?: Promise<void>;
  private lastPersist = 0;
  private writes: Promise<void> = Promise.resolve();

  private constructor(
    private readonly file: string,
    private readonly onChange: () => void,
    private readonly toError: (e: unknown) => ErrorView,
  ) {}

  /** The job of `kind` kept in `stateDir` (its last view, if any). */
  static async open<P, R>(stateDir: string, kind: string, onChange: () => void, toError: (e: unknown) => ErrorView): Promise<Job<P, R>> {
    const job = new Job<P, R>(join(stateDir, `${kind}.json`), onChange, toError);
    const saved = await readFile(job.file, 'utf8').then((t) => JSON.parse(t) as JobView<P, R>, () => undefined);
    if (saved && typeof saved === 'object' && typeof saved.id === 'string') {
      job.current = saved.state === 'running' || saved.state === 'cancelling'
        ? { ...saved, state: 'failed', endedAt: saved.endedAt ?? Date.now(), error: { code: 'interrupted', message: 'the Backup app stopped while this was running; starting it again goes on from where it stopped' } }
        : saved;
    }
    return job;
  }

  get view(): JobView<P, R> | undefined {
    return this.current;
  }

  get busy(): boolean {
    return this.running !== undefined;
  }

  /** Starts `work`; refused while one runs. Returns the job's id. */
  start(initial: P, work: Work<P, R>): string {
    if (this.running) throw new CodedError('app_job_running', 'one is already running: wait for it or cancel it');
    const abort = new AbortController();
    const view: JobView<P, R> = { id: randomBytes(8).toString('hex'), state: 'running', startedAt: Date.now(), progress: initial };
    this.abort = abort;
    this.current = view;
    this.persist(true);
    const report = (p: P) => {
      if (this.current !== view) return;
      view.progress = p;
      this.persist(false);
      this.onChange();
    };
    this.running = (async () => {
      try {
        const result = await work(abort.signal, report);
        Object.assign(view, { state: abort.signal.aborted ? 'cancelled' : 'done', result, endedAt: Date.now() });
      } catch (e) {
        Object.assign(view, abort.signal.aborted ? { state: 'cancelled', endedAt: Date.now() } : { state: 'failed', error: this.toError(e), endedAt: Date.now() });
      } finally {
        this.running = undefined;
        this.abort = undefined;
        this.persist(true);
        this.onChange();
      }
    })();
    this.onChange();
    return view.id;
  }

  /** Asks the running work to stop; resolves when it has. False when nothing ran. */
  async cancel(): Promise<boolean> {
    if (!this.running || !this.abort || !this.current) return false;
    this.current.state = 'cancelling';
    this.abort.abort(new CodedError('app_job_cancelled', 'cancelled by the person'));
    this.persist(true);
    this.onChange();
    await this.running;
    return true;
  }

  /** Waits for the running work (tests, shutdown). */
  async settled(): Promise<void> {
    await this.running;
    await this.writes;
  }

  private persist(now: boolean): void {
    const t = Date.now();
    if (!now && t - this.lastPersist < 1000) return;
    this.lastPersist = t;
    const text = JSON.stringify(this.current);
    // In order: a later view is never overwritten by an earlier one still being written.
    this.writes = this.writes
      .then(() => writeFileAtomic(this.file, text, { mode: 0o600 }))
      .catch(() => {
        /* the view stays in memory; only a restart would forget it */
      });
  }
}
