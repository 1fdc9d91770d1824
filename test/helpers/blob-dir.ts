/**
 * A real BlobSource over a plain "blob store" directory, for tests: a blob
 * `sha256:HEX` is the file `DIR/HEX`. `open` streams the file, hashing while
 * it streams, and fails the stream (BlobHashMismatchError, before the `end`
 * event; code `hash_mismatch` as the drive client's) if the bytes do not hash
 * to the address — the contract of
 * `BlobSource.open` (src/chroot-appliers/applier.ts). The production
 * BlobSource (over the drive client) is built elsewhere; this one is only
 * for tests, but it is a real one: tampering with a stored file is noticed
 * exactly as a wrong download would be.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import type { BlobOpenOptions, BlobSource } from '../../src/chroot-appliers/applier.ts';
import type { BlobRef } from '../../src/manifest/types.ts';
import { CodedError } from '../../src/util/coded-error.ts';

/** The stored bytes do not hash to the address: the catalogue's `hash_mismatch`, a verification failure. */
export class BlobHashMismatchError extends CodedError {
  override name = 'BlobHashMismatchError';
  constructor(
    readonly ref: BlobRef,
    readonly actual: string,
  ) {
    super('hash_mismatch', `blob ${ref}: stored bytes hash to sha256:${actual}`, { ref, actual });
  }
}

export class BlobNotFoundError extends CodedError {
  override name = 'BlobNotFoundError';
  constructor(readonly ref: BlobRef) {
    super('blob_not_found', `blob ${ref} not found`, { ref });
  }
}

export const blobRefOf = (bytes: Uint8Array): BlobRef => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

export class BlobDir implements BlobSource {
  /** Every `open` call, in order (to check what an applier fetched). */
  readonly opened: BlobRef[] = [];
  /** Bytes to deliver per chunk (small values exercise chunk boundaries). */
  chunkSize = 64 * 1024;

  constructor(readonly dir: string) {}

  static async create(dir: string): Promise<BlobDir> {
    await mkdir(dir, { recursive: true });
    return new BlobDir(dir);
  }

  private hexOf(ref: BlobRef): string {
    const m = /^sha256:([0-9a-f]{64})$/.exec(ref);
    if (!m) throw new Error(`bad blob ref ${ref}`);
    return m[1]!;
  }

  pathOf(ref: BlobRef): string {
    return join(this.dir, this.hexOf(ref));
  }

  /** Stores bytes under their address. */
  async put(bytes: Uint8Array): Promise<BlobRef> {
    const ref = blobRefOf(bytes);
    await writeFile(this.pathOf(ref), bytes);
    return ref;
  }

  async read(ref: BlobRef): Promise<Buffer> {
    return readFile(this.pathOf(ref));
  }

  /** Replaces the stored bytes of `ref` (an attacker or a broken disk). */
  async tamper(ref: BlobRef, change: (b: Buffer) => Buffer): Promise<void> {
    const b = await this.read(ref);
    await writeFile(this.pathOf(ref), change(Buffer.from(b)));
  }

  async open(ref: BlobRef, opts: BlobOpenOptions = {}): Promise<Readable> {
    this.opened.push(ref);
    const expected = this.hexOf(ref);
    const file = createReadStream(this.pathOf(ref), { highWaterMark: this.chunkSize });
    await new Promise<void>((resolve, reject) => {
      file.once('open', () => resolve());
      file.once('error', (e: NodeJS.ErrnoException) => reject(e.code === 'ENOENT' ? new BlobNotFoundError(ref) : e));
    });
    const hash = createHash('sha256');
    const check = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        hash.update(chunk);
        opts.onBytes?.(chunk.length);
        cb(null, chunk);
      },
      flush(cb) {
        if (opts.callerVerifies) return cb(); // as the drive stream does: the consumer hashes
        const actual = hash.digest('hex');
        cb(actual === expected ? null : new BlobHashMismatchError(ref, actual));
      },
    });
    file.on('error', (e) => check.destroy(e));
    check.on('close', () => file.destroy());
    if (opts.signal) {
      const abort = () => check.destroy(opts.signal!.reason instanceof Error ? opts.signal!.reason : new Error('aborted'));
      if (opts.signal.aborted) abort();
      else opts.signal.addEventListener('abort', abort, { once: true });
    }
    return file.pipe(check);
  }
}
