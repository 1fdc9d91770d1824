/** Messages between the capture (calling thread) and capture-worker.ts. */

export interface CaptureWorkerData {
  idKey: Uint8Array;
  chunkKeyRoot: Uint8Array;
  /** The chunker's gear table (chunker.ts). */
  gear: Int32Array;
  level: number;
}

/** A file to read: its path, and the ids (32 bytes each, concatenated) of chunks the store already has that it probably holds (its parent version's). */
export interface FileJob {
  path: Uint8Array;
  known?: Uint8Array;
}

export type ToCaptureWorker =
  | { type: 'batch'; batch: number; files: FileJob[] }
  /** An `out` buffer handed back, read: the worker fills it again. */
  | { type: 'ack'; buf: ArrayBuffer };

/**
 * One chunk in an `out` buffer: `buf[at, at+32)` id, `[at+32, at+64)` key,
 * then `len` sealed bytes — none (`len` 0) when the chunk is one the file's
 * `known` list named: stored already, not sealed again.
 */
export interface OutItem {
  /** Index of the file in its batch. */
  file: number;
  raw: number;
  at: number;
  len: number;
}

export type FileResult = { size: number } | { error: string };

export interface OutMessage {
  type: 'out';
  batch: number;
  buf: ArrayBuffer;
  items: OutItem[];
  /** Present on the batch's last message: each file's bytes read, or why it could not be read. */
  results?: FileResult[];
}
