/**
 * Content-addressed blob files, one tree per user:
 *   DATA/blobs/<userId>/<aa>/<hex>      (aa = first two hex digits)
 *
 * put: if the blob is already stored, the body is only hashed (nothing is
 * written) and refused like any other when its sha256 is not the address.
 * Otherwise the temp file DATA/tmp/<random> is opened first, then the body
 * streams into it while being hashed and counted against the quota; only when
 * the sha256 matches the address is the file fsync'ed, closed, renamed into
 * place (atomic on one filesystem), its folder fsync'ed, and the row
 * inserted. Any failure or mismatch closes, then unlinks the temp file — it
 * exists from the start, so no late open can create it again after the
 * unlink: an interrupted upload leaves no blob, no row and no temp file.
 * Files left in DATA/tmp by a crash are removed at the next start.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, mkdirSync, rmSync, readdirSync, type ReadStream } from 'node:fs';
import { open, rename, rm, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Db } from '../db/open.ts';
import type { Clock } from '../clock.ts';
import type { Quota } from '../quota.ts';
import { BadRequestError, NotFoundError, UnprocessableError } from '../errors.ts';
import { fsyncDir } from '../../util/fs.ts';

export const HEX64 = /^[0-9a-f]{64}$/;

export function assertBlobHex(hex: string): void {
  if (!HEX64.test(hex)) throw new BadRequestError('invalid_blob_address', 'a blob address is 64 lowercase hex digits (sha256)');
}

export interface BlobInfo {
  hash: string;
  size: number;
  created_at: number;
}

export class BlobStore {
  readonly root: string;
  readonly tmp: string;

  constructor(
    private db: Db,
    dataDir: string,
    private clock: Clock,
    private quota: Quota,
  ) {
    this.root = join(dataDir, 'blobs');
    this.tmp = join(dataDir, 'tmp');
    mkdirSync(this.root, { recursive: true, mode: 0o700 });
    mkdirSync(this.tmp, { recursive: true, mode: 0o700 });
    for (const f of readdirSync(this.tmp)) rmSync(join(this.tmp, f), { force: true, recursive: true });
  }

  userDir(userId: string): string {
    return join(this.root, userId);
  }

  path(userId: string, hex: string): string {
    return join(this.root, userId, hex.slice(0, 2), hex);
  }

  info(userId: string, hex: string): BlobInfo | undefined {
    return this.db.prepare('SELECT hash, size, created_at FROM blobs WHERE user_id = ? AND hash = ?').get(userId, hex) as
      | BlobInfo
      | undefined;
  }

  /** The user's blobs after `after` (address order), at most `limit`. */
  list(userId: string, after: string, limit: number): { hash: string; size: number }[] {
    return this.db.prepare('SELECT hash, size FROM blobs WHERE user_id = ? AND hash > ? ORDER BY hash LIMIT ?').all(userId, after, limit) as { hash: string; size: number }[];
  }

  /** Which of `hexes` are missing for this user. */
  missing(userId: string, hexes: string[]): string[] {
    const stmt = this.db.prepare('SELECT 1 FROM blobs WHERE user_id = ? AND hash = ?');
    return hexes.filter((h) => !stmt.get(userId, h));
  }

  /**
   * Stores the body under `hex` if its sha256 matches. `declaredLength` (the
   * Content-Length) is checked against the quota before any byte is read.
   * Already stored: the body is hashed, not written, and refused the same way.
   */
  async put(userId: string, hex: string, body: Readable, declaredLength?: number): Promise<{ created: boolean; size: number }> {
    assertBlobHex(hex);
    const existing = this.info(userId, hex);
    if (existing) {
      if (declaredLength !== undefined && declaredLength !== existing.size) {
        throw new UnprocessableError('hash_mismatch', `a body of ${declaredLength} bytes is not the stored blob of ${existing.size} bytes`, { expected: hex, size: existing.size, declared: declaredLength });
      }
      const m = new Meter(declaredLength);
      await pipeline(body, m, discard());
      if (m.digest() !== hex) throw hashMismatch(hex, m.digest());
      return { created: false, size: existing.size };
    }
    const { digest, size, tmpPath } = await this.receive(userId, body, declaredLength);
    if (digest !== hex) {
      await unlink(tmpPath).catch(() => {});
      throw hashMismatch(hex, digest);
    }
    return this.commit(userId, hex, size, tmpPath);
  }

  /** Stores a body whose address is whatever its sha256 turns out to be (multipart uploads). */
  async putUnaddressed(userId: string, body: Readable): Promise<{ hash: string; created: boolean; size: number }> {
    const { digest, size, tmpPath } = await this.receive(userId, body, undefined);
    if (this.info(userId, digest)) {
      await unlink(tmpPath).catch(() => {});
      return { hash: digest, created: false, size };
    }
    return { hash: digest, ...(await this.commit(userId, digest, size, tmpPath)) };
  }

  /** Streams `body` into a new temp file, hashed and counted; on any failure the file is closed and gone. */
  private async receive(userId: string, body: Readable, declaredLength: number | undefined) {
    const reservation = this.quota.begin(userId);
    let fh: FileHandle | undefined;
    const tmpPath = join(this.tmp, randomBytes(12).toString('hex'));
    try {
      if (declaredLength !== undefined) reservation.add(declaredLength);
      // the body may fail while the file opens: pipeline() below still sees that error, nothing else must throw it
      const later = () => {};
      body.on('error', later);
      try {
        fh = await open(tmpPath, 'wx', 0o600);
      } finally {
        body.off('error', later);
      }
      const m = new Meter(declaredLength, declaredLength === undefined ? (n) => reservation.add(n) : undefined);
      await pipeline(body, m, fileSink(fh));
      await fh.sync();
      await fh.close();
      return { digest: m.digest(), size: m.size, tmpPath };
    } catch (e) {
      if (fh) {
        await fh.close().catch(() => {});
        await unlink(tmpPath).catch(() => {});
      }
      throw e;
    } finally {
      reservation.release();
    }
  }

  private async commit(userId: string, hex: string, size: number, tmpPath: string) {
    const dir = join(this.root, userId, hex.slice(0, 2));
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      await rename(tmpPath, join(dir, hex));
      await fsyncDir(dir);
    } catch (e) {
      await unlink(tmpPath).catch(() => {});
      throw e;
    }
    try {
      const r = this.db
        .prepare('INSERT OR IGNORE INTO blobs (user_id, hash, size, created_at) VALUES (?, ?, ?, ?)')
        .run(userId, hex, size, this.clock.now());
      return { created: r.changes > 0, size };
    } catch (e) {
      // the user was erased while this upload streamed: leave no file behind
      await rm(join(dir, hex), { force: true });
      throw e;
    }
  }

  /** A read stream over [start, end] (inclusive) of a stored blob. */
  read(userId: string, hex: string, start?: number, end?: number): { stream: ReadStream; size: number } {
    assertBlobHex(hex);
    const info = this.info(userId, hex);
    if (!info) throw new NotFoundError('blob');
    const opts = start === undefined ? {} : { start, end };
    return { stream: createReadStream(this.path(userId, hex), opts), size: info.size };
  }

  /** Deletes the given blobs of a user (row, then file). */
  async remove(userId: string, hexes: string[]): Promise<void> {
    const del = this.db.prepare('DELETE FROM blobs WHERE user_id = ? AND hash = ?');
    for (const h of hexes) {
      del.run(userId, h);
      await rm(this.path(userId, h), { force: true });
    }
  }

  /**
   * Garbage collection: deletes the user's blobs that no snapshot references,
   * among `candidates` (any age), and any unreferenced blob older than
   * `orphanAgeMs` (uploads whose manifest never came).
   */
  async collect(userId: string, candidates: string[], orphanAgeMs: number): Promise<string[]> {
    const referenced = this.db.prepare('SELECT 1 FROM snapshot_blobs WHERE user_id = ? AND hash = ? LIMIT 1');
    const gone = candidates.filter((h) => !referenced.get(userId, h));
    const old = this.db
      .prepare(
        `SELECT hash FROM blobs b WHERE user_id = ? AND created_at < ?
           AND NOT EXISTS (SELECT 1 FROM snapshot_blobs s WHERE s.user_id = b.user_id AND s.hash = b.hash)`,
      )
      .all(userId, this.clock.now() - orphanAgeMs) as { hash: string }[];
    const all = [...new Set([...gone, ...old.map((r) => r.hash)])];
    await this.remove(userId, all);
    return all;
  }

  /** Removes every blob file of a user (erasure). */
  async removeUserTree(userId: string): Promise<void> {
    await rm(this.userDir(userId), { recursive: true, force: true });
  }
}

/**
 * Hashes and counts the bytes passing through; refuses more than the declared
 * length (400), and asks `reserve` for each chunk's bytes (the quota: throws 413).
 */
class Meter extends Transform {
  size = 0;
  private hash = createHash('sha256');
  private hex?: string;

  constructor(
    private declaredLength?: number,
    private reserve?: (bytes: number) => void,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null, data?: Buffer) => void): void {
    this.size += chunk.length;
    try {
      if (this.declaredLength !== undefined && this.size > this.declaredLength) throw new BadRequestError('length_mismatch', 'body longer than Content-Length');
      this.reserve?.(chunk.length);
    } catch (e) {
      cb(e as Error);
      return;
    }
    this.hash.update(chunk);
    cb(null, chunk);
  }

  digest(): string {
    return (this.hex ??= this.hash.digest('hex'));
  }
}

/**
 * Writes into an open FileHandle and leaves it open (the caller syncs and
 * closes it). Not fh.createWriteStream({ autoClose: false }): on Node 20 that
 * stream keeps a reference on the handle, and fh.close() then never settles.
 */
function fileSink(fh: FileHandle): Writable {
  const writeAll = async (chunks: Buffer[]) => {
    let left = chunks;
    while (left.length) {
      const { bytesWritten } = await fh.writev(left);
      left = skipBytes(left, bytesWritten);
    }
  };
  return new Writable({
    writev(chunks, cb) {
      writeAll(chunks.map((c) => c.chunk as Buffer)).then(() => cb(), cb);
    },
  });
}

function skipBytes(chunks: Buffer[], n: number): Buffer[] {
  const out: Buffer[] = [];
  for (const c of chunks) {
    if (n >= c.length) n -= c.length;
    else {
      out.push(n ? c.subarray(n) : c);
      n = 0;
    }
  }
  return out;
}

function discard(): Writable {
  return new Writable({ write: (_chunk, _enc, cb) => cb() });
}

function hashMismatch(expected: string, actual: string): UnprocessableError {
  return new UnprocessableError('hash_mismatch', `body sha256 is ${actual}, not ${expected}`, { expected, actual });
}
