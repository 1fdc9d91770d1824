/**
 * The stream an upload passes through: hashes (sha256) and counts the bytes,
 * refuses more than the declared length (400 length_mismatch) — and fewer,
 * when the body ends early — and asks `reserve` for each chunk's bytes (the
 * quota: it throws 413). A refusal errors the stream, which aborts the write
 * it feeds.
 */
import { createHash } from 'node:crypto';
import { Transform, Writable } from 'node:stream';
import { BadRequestError } from '../errors.ts';

export class Meter extends Transform {
  size = 0;
  private hash = createHash('sha256');
  private hex?: string;

  constructor(
    private declaredLength?: number,
    private reserve?: (bytes: number) => Promise<void>,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null, data?: Buffer) => void): void {
    this.size += chunk.length;
    if (this.declaredLength !== undefined && this.size > this.declaredLength) {
      cb(new BadRequestError('length_mismatch', 'body longer than Content-Length'));
      return;
    }
    this.hash.update(chunk);
    if (!this.reserve) {
      cb(null, chunk);
      return;
    }
    this.reserve(chunk.length).then(
      () => cb(null, chunk),
      (e: Error) => cb(e),
    );
  }

  override _flush(cb: (e?: Error | null) => void): void {
    if (this.declaredLength !== undefined && this.size !== this.declaredLength) cb(new BadRequestError('length_mismatch', 'body shorter than Content-Length'));
    else cb();
  }

  digest(): string {
    return (this.hex ??= this.hash.digest('hex'));
  }
}

export function discard(): Writable {
  return new Writable({ write: (_chunk, _enc, cb) => cb() });
}
