/**
 * File data writes of the extractor: synchronous positional writes for
 * small files (a page-cache copy, no libuv pool round trip), and for large
 * ones positional writes through the pool with a bounded window in flight
 * (WriteWindow: bytes and operations), each file closed only after all of
 * its writes landed (FileWrites). The first failure is kept and thrown at
 * the next check.
 */
import { write, writeSync } from 'node:fs';

/** Bounded set of asynchronous writes in flight; the first failure is kept. */
export class WriteWindow {
  private bytes = 0;
  private ops = 0;
  private failure: { error: unknown } | undefined;
  private waiters: Array<() => void> = [];
  constructor(
    private readonly maxBytes: number,
    private readonly maxOps: number,
  ) {}

  track(p: Promise<unknown>, bytes: number): void {
    this.bytes += bytes;
    this.ops += 1;
    const release = () => {
      this.bytes -= bytes;
      this.ops -= 1;
      const w = this.waiters;
      this.waiters = [];
      for (const f of w) f();
    };
    p.then(release, (error: unknown) => {
      this.failure ??= { error };
      release();
    });
  }

  private wait(): Promise<void> {
    return new Promise((r) => this.waiters.push(r));
  }

  check(): void {
    if (this.failure) throw this.failure.error;
  }

  /** Waits until there is room for one more write. */
  async room(): Promise<void> {
    while (this.bytes >= this.maxBytes || this.ops >= this.maxOps) await this.wait();
    this.check();
  }

  /** Waits for everything in flight; throws the first failure. */
  async idle(): Promise<void> {
    while (this.ops > 0) await this.wait();
    this.check();
  }

  /** Waits for everything in flight, ignoring failures. */
  async settle(): Promise<void> {
    while (this.ops > 0) await this.wait();
  }
}

/** Counts the writes of one file so it is closed only after all landed. */
export class FileWrites {
  private pending = 0;
  private failure: { error: unknown } | undefined;
  private waiter: (() => void) | undefined;
  add(p: Promise<unknown>): Promise<unknown> {
    this.pending += 1;
    return p.then(
      () => this.done(),
      (error: unknown) => {
        this.failure ??= { error };
        this.done();
        throw error;
      },
    );
  }
  private done(): void {
    this.pending -= 1;
    if (this.pending === 0 && this.waiter) this.waiter();
  }
  async all(): Promise<void> {
    if (this.pending > 0) await new Promise<void>((r) => (this.waiter = r));
    if (this.failure) throw this.failure.error;
  }
}

export function writeAllSync(fd: number, buf: Buffer, position: number): void {
  let off = 0;
  while (off < buf.length) {
    const n = writeSync(fd, buf, off, buf.length - off, position + off);
    if (n <= 0) throw new Error('short write');
    off += n;
  }
}

/** Positional write of the whole buffer through the libuv pool. */
export function writeAt(fd: number, buf: Buffer, position: number): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const step = (off: number) => {
      write(fd, buf, off, buf.length - off, position + off, (err, n) => {
        if (err) return reject(err);
        if (n <= 0) return reject(new Error('short write'));
        if (off + n < buf.length) step(off + n);
        else resolvePromise();
      });
    };
    step(0);
  });
}

