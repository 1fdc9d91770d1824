/**
 * Starts a worker thread from a module of ours. In the source tree the
 * module is TypeScript, run through tsx: Node 20 does not apply `--import`
 * hooks to a worker's entry module, so the worker starts from a one-line
 * shim that registers tsx and then imports the module. A built bundle points
 * at its emitted `.js` file and starts it directly.
 */
import { Worker, type WorkerOptions } from 'node:worker_threads';

export function startWorker(url: URL, opts: WorkerOptions = {}): Worker {
  if (!url.pathname.endsWith('.ts')) return new Worker(url, opts);
  const tsx = import.meta.resolve('tsx/esm/api');
  const shim = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(url.href)}); })`;
  return new Worker(shim, { ...opts, eval: true });
}
