/**
 * Where blob bytes live, whichever store holds them: a folder of files
 * (file-store.ts, the embedded default) or an S3-compatible bucket
 * (s3-store.ts). The store knows keys and bytes only; which user a key
 * belongs to, its sha256 and its size are the database's (store/blobs.ts).
 *
 * Every store guarantees: an object is visible whole or not at all (a put
 * cut at any point, the process killed included, leaves no object under the
 * key); `put` resolves only once the bytes are durable; keys are never
 * reused for other bytes (store/blobs.ts gives each upload its own key).
 */
import type { Readable } from 'node:stream';
import { CodedError } from '../../util/coded-error.ts';

export interface StoredObject {
  key: string;
  size: number;
  /** ms since the epoch. */
  modified: number;
}

/** A write begun and never finished: a temp file, an S3 multipart upload not completed. */
export interface UnfinishedWrite {
  id: string;
  /** The key it was for, when the store knows it. */
  key?: string;
  /** ms since the epoch: when it was last written to (file) or started (S3). */
  at: number;
}

export interface ByteRange {
  start: number;
  /** Inclusive. */
  end: number;
}

export interface ObjectStore {
  readonly kind: 'file' | 's3';
  /** Where it is, without credentials. */
  readonly description: string;
  /** An unfinished write this old belongs to no live upload (maintenance discards it). */
  readonly staleAfterMs: number;
  /**
   * Consumes `body` into a new object under `key` (`size`: the exact length,
   * when known — lets a store stream it in one request). On failure `body`
   * is destroyed and nothing is visible under `key`.
   */
  put(key: string, body: Readable, size?: number): Promise<void>;
  /** The object's bytes (a range of them), streamed. Throws ObjectMissingError. */
  get(key: string, range?: ByteRange): Promise<Readable>;
  /** The object's size, or undefined when there is none. */
  head(key: string): Promise<number | undefined>;
  /** Deletes these objects; an absent one is no error. */
  delete(keys: string[]): Promise<void>;
  /** Deletes every object whose key starts with `prefix`; returns how many. */
  deletePrefix(prefix: string): Promise<number>;
  /** Every object (under `prefix`), in key order. */
  list(prefix?: string): AsyncIterable<StoredObject>;
  /** Writes begun and never finished (crashed processes, uploads in progress). */
  unfinished(): Promise<UnfinishedWrite[]>;
  /** Throws those writes away (`id` from `unfinished`). */
  discard(ids: string[]): Promise<void>;
  close(): Promise<void>;
}

export class ObjectMissingError extends CodedError {
  override name = 'ObjectMissingError';
  constructor(readonly key: string, where: string) {
    super('object_missing', `object ${key} is missing from ${where}`, { key });
  }
}

/** Keys are relative, '/'-separated, without empty, '.' or '..' segments (a file store joins them to its folder). */
export function assertObjectKey(key: string): void {
  if (!key || key.startsWith('/') || key.split('/').some((s) => s === '' || s === '.' || s === '..') || key.includes('\\') || key.includes('\0')) {
    throw new CodedError('backend_url', `not an object key: ${JSON.stringify(key)}`);
  }
}
