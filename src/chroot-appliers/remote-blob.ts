/**
 * A blob the extractor's worker thread fetches over HTTP itself
 * (zstd-worker.ts), attempt by attempt, while whoever made it — the drive
 * client (src/drive/blob-remote.ts) — keeps the policy on the calling
 * thread: which URL and token, whether and when a failed attempt is worth
 * another one. Attempts after the first resume at the byte they reached.
 */

/** One GET to make. */
export interface RemoteRequest {
  url: string;
  headers: Record<string, string>;
}

/** Why the last attempt failed. */
export interface RemoteFailure {
  /** HTTP status; 0 when no answer came or the body was cut. */
  status: number;
  message: string;
  /** The answer's body (an error document), up to 64 KiB. */
  body: string;
  /** 'range_unsupported' when a resume was answered with the whole blob (not retryable). */
  code?: 'range_unsupported';
}

export interface RemoteBlob {
  /**
   * The request for an attempt that starts at byte `from`. After a failed
   * attempt (`after`), it waits as long as its policy says and returns the
   * next request, or rejects with its typed error when it gives up.
   */
  attempt(from: number, after?: RemoteFailure): Promise<RemoteRequest>;
  /** An attempt that received nothing for this long is a failed one (ms). */
  idleMs: number;
}
