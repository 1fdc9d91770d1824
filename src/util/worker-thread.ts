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
import { Worker, type WorkerOptions } from 'node:worker_threads';

/** Set by the .deb bundle (esbuild `define`). */
declare const KODER_BUNDLED_WORKERS: boolean | undefined;

/** Every worker module, by name: its source file, and its bundle's name in the .deb. */
export const WORKERS = {
  'zstd-worker': 'src/chroot-appliers/zstd-worker.ts',
  'capture-worker': 'src/store/capture-worker.ts',
  'restore-worker': 'src/store/restore-worker.ts',
  'argon2-worker': 'src/keys/argon2-worker.ts',
} as const;
export type WorkerName = keyof typeof WORKERS;

const repoRoot = new URL('../../', import.meta.url);

export function startWorker(name: WorkerName, opts: WorkerOptions = {}): Worker {
  if (typeof KODER_BUNDLED_WORKERS === 'boolean' && KODER_BUNDLED_WORKERS) return new Worker(new URL(`./${name}.mjs`, import.meta.url), opts);
  const tsx = createRequire(import.meta.url).resolve('tsx/cjs/api');
  const file = fileURLToPath(new URL(WORKERS[name], repoRoot));
  return new Worker(`require(${JSON.stringify(tsx)}).register();\nrequire(${JSON.stringify(file)});`, { ...opts, eval: true });
}
