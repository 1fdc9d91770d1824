/**
 * Content-addressed blobs of each user: a row in `blobs` (user, sha256,
 * size, upload time, object key) and the bytes in the object store
 * (objects/: files or an S3 bucket).
 *
 * put: if the blob is already stored, the body is only hashed (nothing is
 * written) and refused like any other when its sha256 is not the address.
 * Otherwise the body streams into a NEW object — each upload its own key,
 * `<user>/<aa>/<nonce>.<hex>` — hashed and counted against the quota on
 * the way; only when the sha256 matches the address is the row inserted
 * (`ON CONFLICT DO NOTHING`). Two processes storing one blob at once: one
 * row wins, the other deletes its own object and answers "had it" (200).
 * A mismatch or any failure deletes the object (or the store never made it
 * visible): no blob, no row. Objects are never overwritten, so a collector
 * deleting an old object can never take a newer upload's bytes with it.
 *
 * delete / collect: the row goes first, in one statement that also checks
 * nothing references it (and, for orphans, its age), then the object it
 * named. On PostgreSQL a reference committed meanwhile by another process
 * makes that statement fail (foreign key): the blob stays.
 */
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { pipeline as pipelineCb } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Database, Sql } from '../db/database.ts';
import type { ObjectStore, ByteRange } from '../objects/object-store.ts';
import type { Clock } from '../clock.ts';
import type { Quota } from '../quota.ts';
import { BadRequestError, UnprocessableError } from '../errors.ts';
import { discard, Meter } from './meter.ts';

export const HEX64 = /^[0-9a-f]{64}$/;

export function assertBlobHex(hex: string): void {
  if (!HEX64.test(hex)) throw new BadRequestError('invalid_blob_address', 'a blob address is 64 lowercase hex digits (sha256)');
}

export interface BlobInfo {
  hash: string;
  size: number;
  created_at: number;
  /** The object's key; null for blobs stored before keys were recorded (see `objectKey`). */
  object: string | null;
}

/** Where a blob's bytes are: its recorded key, or the first layout's `<user>/<aa>/<hex>`. */
export function objectKey(userId: string, b: { hash: string; object: string | null }): string {
  return b.object ?? `${userId}/${b.hash.slice(0, 2)}/${b.hash}`;
}

const nonce = () => randomBytes(8).toString('hex');

export class BlobStore {
  constructor(
    private db: Database,
    readonly objects: ObjectStore,
    private clock: Clock,
    private quota: Quota,
  ) {}

  info(userId: string, hex: string): Promise<BlobInfo | undefined> {
    return this.db.get<BlobInfo>('SELECT hash, size, created_at, object FROM blobs WHERE user_id = ? AND hash = ?', [userId, hex]);
  }

  /** The user's blobs after `after` (address order), at most `limit`. */
  list(userId: string, after: string, limit: number): Promise<{ hash: string; size: number }[]> {
    return this.db.all('SELECT hash, size FROM blobs WHERE user_id = ? AND hash > ? ORDER BY hash LIMIT ?', [userId, after, limit]);
  }

  /** Which of `hexes` are missing for this user. */
  async missing(userId: string, hexes: string[], q: Sql = this.db): Promise<string[]> {
    const have = new Set<string>();
    const unique = [...new Set(hexes)];
    for (let i = 0; i < unique.length; i += 500) {
      const part = unique.slice(i, i + 500);
      const rows = await q.all<{ hash: string }>(`SELECT hash FROM blobs WHERE user_id = ? AND hash IN (${part.map(() => '?').join(', ')})`, [userId, ...part]);
      for (const r of rows) have.add(r.hash);
    }
    return hexes.filter((h) => !have.has(h));
  }

  /**
   * Stores the body under `hex` if its sha256 matches. `declaredLength` (the
   * Content-Length) is checked against the quota before any byte is read.
   * Already stored: the body is hashed, not written, and refused the same way.
   */
  async put(userId: string, hex: string, body: Readable, declaredLength?: number): Promise<{ created: boolean; size: number }> {
    assertBlobHex(hex);
    // the body may fail while the database answers: the pipeline below still sees that error, nothing else must throw it
    const later = () => {};
    body.on('error', later);
    let existing: BlobInfo | undefined;
    try {
      existing = await this.info(userId, hex);
    } finally {
      body.off('error', later);
    }
    if (existing) {
      if (declaredLength !== undefined && declaredLength !== existing.size) {
        throw new UnprocessableError('hash_mismatch', `a body of ${declaredLength} bytes is not the stored blob of ${existing.size} bytes`, { expected: hex, size: existing.size, declared: declaredLength });
      }
      const m = new Meter(declaredLength);
      await pipeline(body, m, discard());
      if (m.digest() !== hex) throw hashMismatch(hex, m.digest());
      return { created: false, size: existing.size };
    }
    const r = await this.store(userId, `${userId}/${hex.slice(0, 2)}/${nonce()}.${hex}`, body, declaredLength, hex);
    return { created: r.created, size: r.size };
  }

  /** Stores a body whose address is whatever its sha256 turns out to be (multipart uploads). */
  putUnaddressed(userId: string, body: Readable): Promise<{ hash: string; created: boolean; size: number }> {
    return this.store(userId, `${userId}/up/${nonce()}${nonce()}`, body, undefined, undefined);
  }

  /** Streams `body` into a new object under `key`, hashed and counted; inserts the row when the hash is right. */
  private async store(userId: string, key: string, body: Readable, declaredLength: number | undefined, hex: string | undefined) {
    const reservation = this.quota.begin(userId);
    const later = () => {};
    body.on('error', later);
    try {
      try {
        if (declaredLength !== undefined) await reservation.add(declaredLength, true);
      } finally {
        body.off('error', later);
      }
      const meter = new Meter(declaredLength, declaredLength === undefined ? (n) => reservation.add(n) : undefined);
      // body → meter → the store; an error anywhere destroys both ends
      pipelineCb(body, meter, () => {});
      await this.objects.put(key, meter, declaredLength);
      const hash = meter.digest();
      if (hex !== undefined && hash !== hex) {
        await this.objects.delete([key]);
        throw hashMismatch(hex, hash);
      }
      let added: number;
      try {
        added = await this.db.run('INSERT INTO blobs (user_id, hash, size, created_at, object) VALUES (?, ?, ?, ?, ?) ON CONFLICT (user_id, hash) DO NOTHING', [
          userId,
          hash,
          meter.size,
          this.clock.now(),
          key,
        ]);
      } catch (e) {
        // the user was erased while this upload streamed: leave no object behind
        await this.objects.delete([key]);
        throw e;
      }
      // stored meanwhile (by another request or process): theirs stays, ours goes
      if (!added) await this.objects.delete([key]);
      return { hash, created: added > 0, size: meter.size };
    } finally {
      await reservation.release();
    }
  }

  /** A stream over [start, end] (inclusive) of a stored blob whose row is `info`. */
  open(userId: string, info: BlobInfo, range?: ByteRange): Promise<Readable> {
    return this.objects.get(objectKey(userId, info), range);
  }

  /** Deletes the row, when `where` (SQL over the row) still holds, then the object it named. */
  private async removeOne(userId: string, hex: string, where: string, params: (string | number)[]): Promise<boolean> {
    let row: { hash: string; object: string | null } | undefined;
    try {
      row = await this.db.get(`DELETE FROM blobs WHERE user_id = ? AND hash = ?${where} RETURNING hash, object`, [userId, hex, ...params]);
    } catch (e) {
      // PostgreSQL: a manifest naming it was committed meanwhile (foreign key): it stays
      if ((e as { code?: string }).code === '23503') return false;
      throw e;
    }
    if (!row) return false;
    await this.objects.delete([objectKey(userId, row)]);
    return true;
  }

  /** Deletes the given blobs of a user (row, then object). */
  async remove(userId: string, hexes: string[]): Promise<void> {
    for (const h of hexes) await this.removeOne(userId, h, '', []);
  }

  /**
   * Garbage collection of one user: deletes, among `candidates` (any age),
   * the blobs no snapshot references, and any unreferenced blob older than
   * `orphanAgeMs` (uploads whose manifest never came).
   */
  async collect(userId: string, candidates: string[], orphanAgeMs: number): Promise<string[]> {
    const gone: string[] = [];
    for (const h of new Set(candidates)) if (await this.removeOne(userId, h, UNREFERENCED, [])) gone.push(h);
    const cutoff = this.clock.now() - orphanAgeMs;
    const old = await this.db.all<{ hash: string }>(`SELECT hash FROM blobs WHERE user_id = ? AND created_at < ?${UNREFERENCED}`, [userId, cutoff]);
    for (const { hash } of old) if (await this.removeOne(userId, hash, ` AND created_at < ?${UNREFERENCED}`, [cutoff])) gone.push(hash);
    return gone;
  }

  /**
   * Maintenance across users: unreferenced blobs older than `orphanAgeMs`,
   * `batch` at a time, and writes the store never finished (a killed
   * process's temp files or multipart uploads) once they are stale.
   */
  async sweep(orphanAgeMs: number, batch = 1000): Promise<{ blobs: number; unfinished: number }> {
    const cutoff = this.clock.now() - orphanAgeMs;
    const old = await this.db.all<{ user_id: string; hash: string }>(`SELECT user_id, hash FROM blobs WHERE created_at < ?${UNREFERENCED} LIMIT ?`, [cutoff, batch]);
    let blobs = 0;
    for (const { user_id, hash } of old) if (await this.removeOne(user_id, hash, ` AND created_at < ?${UNREFERENCED}`, [cutoff])) blobs++;
    const now = Date.now();
    const stale = (await this.objects.unfinished()).filter((u) => now - u.at > this.objects.staleAfterMs);
    await this.objects.discard(stale.map((u) => u.id));
    return { blobs, unfinished: stale.length };
  }

  /** Removes every object of a user (erasure). */
  async removeUserTree(userId: string): Promise<void> {
    await this.objects.deletePrefix(`${userId}/`);
  }
}

const UNREFERENCED = ' AND NOT EXISTS (SELECT 1 FROM snapshot_blobs s WHERE s.user_id = blobs.user_id AND s.hash = blobs.hash)';

function hashMismatch(expected: string, actual: string): UnprocessableError {
  return new UnprocessableError('hash_mismatch', `body sha256 is ${actual}, not ${expected}`, { expected, actual });
}

