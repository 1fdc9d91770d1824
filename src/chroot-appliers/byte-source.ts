/**
 * A pull reader over an async iterable of byte chunks, for the tar reader:
 * exact reads (headers, metadata), zero-copy partial reads (file data),
 * skips, and a final drain. A source may reuse a chunk's memory once the
 * next one is requested (the zstd worker's rings do): what `read` returns
 * across chunks is a copy, what it returns within one chunk is a view valid
 * until the next call.
 */
export class ByteSource {
  private buf: Buffer = Buffer.alloc(0);
  private off = 0;
  private done = false;
  /** Bytes handed out so far. */
  position = 0;
  private readonly it: AsyncIterator<Uint8Array>;

  constructor(source: AsyncIterable<Uint8Array>) {
    this.it = source[Symbol.asyncIterator]();
  }

  private get avail(): number {
    return this.buf.length - this.off;
  }

  private async fill(): Promise<boolean> {
    while (this.avail === 0) {
      if (this.done) return false;
      const r = await this.it.next();
      if (r.done) {
        this.done = true;
        return false;
      }
      const c = r.value;
      this.buf = Buffer.isBuffer(c) ? c : Buffer.from(c.buffer, c.byteOffset, c.byteLength);
      this.off = 0;
    }
    return true;
  }

  /** Exactly n bytes, or fewer only at end of input (the caller checks). */
  async read(n: number): Promise<Buffer> {
    if (!(await this.fill())) return Buffer.alloc(0);
    if (this.avail >= n) {
      const out = this.buf.subarray(this.off, this.off + n);
      this.off += n;
      this.position += n;
      return out;
    }
    const parts: Buffer[] = [];
    let need = n;
    while (need > 0 && (await this.fill())) {
      const take = Math.min(need, this.avail);
      // Copied: a source may reuse a chunk's memory once the next is requested.
      parts.push(Buffer.from(this.buf.subarray(this.off, this.off + take)));
      this.off += take;
      this.position += take;
      need -= take;
    }
    return Buffer.concat(parts);
  }

  /** Up to n bytes as one chunk (at least 1 unless at end of input). */
  async readSome(n: number): Promise<Buffer> {
    if (!(await this.fill())) return Buffer.alloc(0);
    const take = Math.min(n, this.avail);
    const out = this.buf.subarray(this.off, this.off + take);
    this.off += take;
    this.position += take;
    return out;
  }

  /** Skips n bytes; returns how many there were. */
  async skip(n: number): Promise<number> {
    let left = n;
    while (left > 0 && (await this.fill())) {
      const take = Math.min(left, this.avail);
      this.off += take;
      this.position += take;
      left -= take;
    }
    return n - left;
  }

  /** Consumes the rest of the input (so a hash computed over the source covers all of it). */
  async drain(): Promise<void> {
    while (await this.fill()) {
      this.position += this.avail;
      this.off = this.buf.length;
    }
  }
}
