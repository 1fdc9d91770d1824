/**
 * Starts a worker thread from a module of ours. In the source tree the
 * module is TypeScript, run through tsx: Node 20 does not apply `--import`
 * hooks to a worker's entry module, so the worker starts from a one-line
 * shim that registers tsx and then imports the module. A bundle (the
 * worker's module emitted beside the bundle that asks for it, as
 * `NAME.mjs` or `NAME.js`) has no `.ts` file there: the emitted one is
 * started directly.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';

export function startWorker(url: URL, opts: WorkerOptions = {}): Worker {
  if (!url.pathname.endsWith('.ts')) return new Worker(url, opts);
  if (url.protocol === 'file:' && !existsSync(fileURLToPath(url))) {
    for (const ext of ['.mjs', '.js']) {
      const built = new URL(url.href.replace(/\.ts$/, ext));
      if (existsSync(fileURLToPath(built))) return new Worker(built, opts);
    }
  }
  const tsx = import.meta.resolve('tsx/esm/api');
  const shim = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(url.href)}); })`;
  return new Worker(shim, { ...opts, eval: true });
}
