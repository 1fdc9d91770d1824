/**
 * A blob for a reader that makes the GETs itself — the files restore's
 * worker thread, which downloads, hashes and decompresses off the busy
 * thread (src/chroot-appliers/remote-blob.ts, zstd-worker.ts) — while the
 * rules stay here, the same as openBlobStream's: the client's token (a 401
 * refreshes it once), transient failures (no answer, a cut body, 408/429/5xx)
 * retried with the client's backoff and resumed with `Range` at the byte
 * reached, a server that answers a resume with the whole blob not continued.
 * The reader checks the bytes against the address.
 */
import type { DriveClient } from './client.ts';
import { blobFetchError, checkBlobHex, DriveError, errorFromBody } from './errors.ts';
import { retryBudget } from './retry.ts';

export interface BlobRemoteOptions {
  owner?: string;
  signal?: AbortSignal;
  /** An attempt that received nothing for this long failed (ms, default 30 000). */
  stallMs?: number;
  retries?: number;
}

/** Structurally the chroot appliers' RemoteBlob (this layer does not import theirs). */
export interface BlobAttempts {
  attempt(from: number, after?: { status: number; message: string; body: string; code?: 'range_unsupported' }): Promise<{ url: string; headers: Record<string, string> }>;
  idleMs: number;
}

export function openBlobRemote(c: DriveClient, hex: string, o: BlobRemoteOptions = {}): BlobAttempts {
  checkBlobHex(hex);
  const retry = retryBudget(c.retry, o.retries, o.signal);
  const tokens = c.tokenSource;
  let refreshed = false;
  return {
    idleMs: o.stallMs ?? 30_000,
    async attempt(from, after) {
      if (o.signal?.aborted) throw new DriveError(0, 'aborted', 'download aborted', {}, { cause: o.signal.reason });
      if (after) {
        const err =
          after.code === 'range_unsupported'
            ? new DriveError(after.status, 'range_unsupported', `blob ${hex}: ${after.message}`)
            : after.status === 0
              ? new DriveError(0, 'network', `blob ${hex}: ${after.message}`)
              : errorFromBody(after.status, after.message, after.body);
        if (err.status === 401 && !refreshed && tokens.refresh) {
          refreshed = true;
          await tokens.refresh();
        } else {
          await retry(err).catch((e: unknown) => {
            if (o.signal?.aborted) throw new DriveError(0, 'aborted', 'download aborted', {}, { cause: e });
            throw e instanceof DriveError ? blobFetchError(e, hex, c.blobPath(hex, o.owner)) : e;
          });
        }
      }
      const token = await tokens.accessToken();
      return {
        url: c.url(c.blobPath(hex, o.owner)),
        headers: { authorization: `Bearer ${token}`, ...(from > 0 ? { range: `bytes=${from}-` } : {}) },
      };
    },
  };
}
