/**
 * The one way to start a worker thread of ours. A worker runs a file:
 * - in the .deb, the worker's own bundle beside the CLI's
 *   (`lib/cli/NAME.mjs`, emitted by scripts/deb.ts, which defines
 *   KODER_BUNDLED_WORKERS);
 * - in the source tree, `NAME.ts` through tsx's require hooks: a worker
 *   thread does not inherit the parent's loader, and these hooks cost ≈ 40 ms
 *   a worker against ≈ 200 ms for tsx's ESM loader, which starts a thread of
 *   its own.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Worker, parentPort, workerData, type Transferable, type WorkerOptions } from 'node:worker_threads';
import { CodedError, isErrorCode } from './coded-error.ts';

/** Set by the .deb bundle (esbuild `define`). */
declare const KODER_BUNDLED_WORKERS: boolean | undefined;

/** Every worker module, by name: its source file, and its bundle's name in the .deb. */
export const WORKERS = {
  'zstd-worker': 'src/chroot-appliers/zstd-worker.ts',
  'capture-worker': 'src/store/capture-worker.ts',
  'restore-worker': 'src/store/restore-worker.ts',
  'argon2-worker': 'src/keys/argon2-worker.ts',
  'repo-worker': 'src/chroot-appliers/repo-worker.ts',
} as const;
export type WorkerName = keyof typeof WORKERS;

const repoRoot = new URL('../../', import.meta.url);

export function startWorker(name: WorkerName, opts: WorkerOptions = {}): Worker {
  if (typeof KODER_BUNDLED_WORKERS === 'boolean' && KODER_BUNDLED_WORKERS) return new Worker(new URL(`./${name}.mjs`, import.meta.url), opts);
  const tsx = createRequire(import.meta.url).resolve('tsx/cjs/api');
  const file = fileURLToPath(new URL(WORKERS[name], repoRoot));
  return new Worker(`require(${JSON.stringify(tsx)}).register();\nrequire(${JSON.stringify(file)});`, { ...opts, eval: true });
}

/** What a one-job worker answers (oneJob / answerJob). */
export type JobReply<T> = { result: T } | { error: string; code?: string };

/**
 * Runs one job in a short-lived worker thread (its workerData in, one reply
 * out, then the thread ends): work that would hold the calling thread's
 * event loop for seconds, or grow memory that a thread takes with it when
 * it ends. A CodedError in the worker comes back as one with the same code.
 */
export function oneJob<T>(name: WorkerName, job: unknown): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const w = startWorker(name, { workerData: job });
    let settled = false;
    w.once('message', (m: JobReply<T>) => {
      settled = true;
      if ('result' in m) resolve(m.result);
      else reject(isErrorCode(m.code) ? new CodedError(m.code, m.error) : new Error(m.error));
    });
    w.once('error', (e) => {
      settled = true;
      reject(e);
    });
    w.once('exit', (code) => {
      if (!settled) reject(new Error(`the ${name} thread ended (code ${code}) without an answer`));
    });
  });
}

/** The worker's side of oneJob: runs `work` on the job it was started with and posts the one reply. */
export function answerJob<J, T>(work: (job: J) => Promise<T>, transfer: (result: T) => Transferable[] = () => []): void {
  if (!parentPort) throw new Error('answerJob runs in a worker thread');
  const port = parentPort;
  // No top-level await in a worker: in the source tree it is loaded as CommonJS.
  void work(workerData as J).then(
    (result) => port.postMessage({ result } satisfies JobReply<T>, transfer(result)),
    (e: unknown) => port.postMessage({ error: e instanceof Error ? e.message : String(e), ...(e instanceof CodedError ? { code: e.code } : {}) } satisfies JobReply<T>),
  );
}
