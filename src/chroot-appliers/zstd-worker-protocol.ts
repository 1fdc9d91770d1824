/**
 * What the calling thread (zstd-worker-source.ts) and the zstd worker
 * (zstd-worker.ts) say to each other, and the sizes of the shared rings.
 */

export const IN_SLOTS = 4;
export const IN_SLOT = 512 * 1024;
export const OUT_SLOTS = 8;
export const OUT_SLOT = 1024 * 1024;
/** Socket bytes the worker holds before pausing the response. */
export const MAX_QUEUED = 4 * 1024 * 1024;

/** The worker's `workerData`. */
export interface ZstdWorkerData {
  /** sha256 of the compressed input (the blob's address). */
  hashBlob: boolean;
  /** sha256 of the decompressed tar. */
  hashTar: boolean;
  /** IN_SLOTS x IN_SLOT (empty when the worker downloads the blob itself). */
  inSab: SharedArrayBuffer;
  /** OUT_SLOTS x OUT_SLOT. */
  outSab: SharedArrayBuffer;
}

/** Calling thread → worker. */
export type ToWorker =
  | { type: 'data'; slot: number; len: number }
  | { type: 'end' }
  | { type: 'free'; slot: number }
  | { type: 'get'; url: string; headers: Record<string, string>; from: number; idleMs: number };

/** Worker → calling thread. */
export type FromWorker =
  | { type: 'out'; slot: number; len: number; compressed: number }
  | { type: 'consumed'; slot: number }
  /** An HTTP attempt failed after `have` bytes in all; `code` 'range_unsupported' when a resume got a whole body. */
  | { type: 'attempt-failed'; status: number; message: string; body: string; code: '' | 'range_unsupported'; have: number }
  | { type: 'done'; tarSha: string | null; blobSha: string | null; compressed: number }
  | { type: 'error'; message: string };
