/** Exponential backoff with full jitter, and a small parallel pool. */
import type { DriveError } from './errors.ts';

export interface RetryPolicy {
  /** Attempts after the first. Default 8. */
  retries: number;
  /** First delay, ms. Default 200. */
  baseMs: number;
  /** Largest delay, ms. Default 10 000. */
  maxMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { retries: 8, baseMs: 200, maxMs: 10_000 };

export function backoffMs(attempt: number, p: RetryPolicy = DEFAULT_RETRY): number {
  const cap = Math.min(p.maxMs, p.baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(cap / 2 + (Math.random() * cap) / 2);
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * The retry rule of one transfer: `next(err)` waits the backoff before
 * another attempt, or throws `err` when it is not transient or `retries`
 * attempts were already repeated.
 */
export function retryBudget(policy: RetryPolicy, retries = policy.retries, signal?: AbortSignal): (err: DriveError) => Promise<void> {
  let failures = 0;
  return async (err) => {
    if (!err.transient || failures >= retries) throw err;
    failures += 1;
    await sleep(backoffMs(failures, policy), signal);
  };
}

/** Runs `fn` over `items` with at most `n` at a time; rejects with the first error (after the running ones end). */
export async function pool<T, R>(items: readonly T[], n: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  let failed: unknown;
  const worker = async () => {
    while (failed === undefined && next < items.length) {
      const i = next++;
      try {
        out[i] = await fn(items[i]!, i);
      } catch (e) {
        failed ??= e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(n, items.length)) }, worker));
  if (failed !== undefined) throw failed;
  return out;
}
