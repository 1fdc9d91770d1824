/** Messages between the capture (calling thread) and capture-worker.ts. */

export interface CaptureWorkerData {
  idKey: Uint8Array;
  chunkKeyRoot: Uint8Array;
  /** The chunker's gear table (chunker.ts). */
  gear: Int32Array;
  level: number;
}

export type ToCaptureWorker = { type: 'batch'; batch: number; files: Uint8Array[] } | { type: 'ack' };

/** One sealed chunk in an `out` buffer: `buf[at, at+32)` id, `[at+32, at+64)` key, then `len` sealed bytes. */
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
