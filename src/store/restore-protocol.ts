/** Messages between a files restore (folder-restore.ts) and restore-worker.ts. */

/** Where a sealed chunk's plaintext goes: a staged file and the offset in it. */
export interface Target {
  /** Index of the file in the restore's file list. */
  file: number;
  pos: number;
}

/** A staged file the worker may finish itself (its only chunk): owner, mode, times, size. */
export interface Finish {
  file: number;
  size: number;
  mode: number;
  uid: number;
  gid: number;
  /** mtime in ns, as a decimal string. */
  mtimeNs: string;
}

export interface JobItem {
  /** Offset of the sealed chunk in the pack. */
  offset: number;
  length: number;
  raw: number;
  id: Uint8Array;
  key: Uint8Array;
  targets: Target[];
}

/** A run of chunks of one pack: the bytes [start, end) of it. */
export interface Job {
  type: 'job';
  job: number;
  pack: string;
  start: number;
  end: number;
  items: JobItem[];
  /** Staged path (bytes) of each file the items write, by file index. */
  paths: Record<number, Uint8Array>;
  /** Files this job completes, when the worker may finish them. */
  finish: Finish[];
  /** How to get the bytes: a GET (url and headers for the first attempt) or a local file. */
  source: { url: string; headers: Record<string, string> } | { file: string };
  idleMs: number;
}

export type ToRestoreWorker = Job | { type: 'retry'; job: number; url: string; headers: Record<string, string> } | { type: 'give-up'; job: number };

export type FromRestoreWorker =
  | { type: 'progress'; job: number; bytes: number; raw: number }
  /** The attempt failed after `have` bytes of the range: ask the policy for another. */
  | { type: 'attempt-failed'; job: number; have: number; status: number; message: string; body: string; code?: string }
  /** Every item written; `written` lists (file, chunks written) for multi-chunk files. */
  | { type: 'done'; job: number }
  | { type: 'error'; job: number; code: string; message: string };
