/**
 * A small streaming tar reader: POSIX ustar, pax extended headers ('x', 'g'),
 * GNU long names ('L') and long link names ('K'), base-256 numbers.
 *
 * Pull-based and zero-copy for file data: `readTar(source)` yields one entry
 * at a time; an entry's `body()` yields subarrays of the source's chunks
 * (valid until the consumer asks for more: a source may reuse the memory), and
 * the next entry is only read when the consumer asks for it, so memory stays
 * at a couple of source chunks whatever the archive or file size. Unread body
 * bytes are skipped. Metadata records (pax, long names) are bounded
 * (`maxMetaBytes`). After the end-of-archive marker the rest of the source is
 * drained (so a hash computed over the source covers all of it).
 *
 * Names are decoded as UTF-8 (strict); an archive with non-UTF-8 names is
 * rejected with TarFormatError.
 */

export type TarEntryType =
  | 'file'
  | 'hardlink'
  | 'symlink'
  | 'character-device'
  | 'block-device'
  | 'directory'
  | 'fifo'
  | 'unsupported';

export interface TarHeader {
  /** Entry path as stored (prefix/name, or the pax / GNU long name). */
  name: string;
  type: TarEntryType;
  /** The raw typeflag character ('0', '5', 'S', ...). */
  typeflag: string;
  /** Permission bits including setuid/setgid/sticky (mode & 0o7777). */
  mode: number;
  uid: number;
  gid: number;
  /** Bytes of data following the header (0 for links, dirs, devices). */
  size: number;
  /** Modification time, seconds since the epoch (may be fractional from pax). */
  mtime: number;
  linkname: string;
  uname: string;
  gname: string;
  devmajor: number;
  devminor: number;
  /** pax records that applied to this entry (global + per-entry). */
  pax: Record<string, string>;
}

export interface TarEntry {
  header: TarHeader;
  /** The entry's data, in source-sized chunks (subarrays; do not keep them
   *  past the write that consumes them if memory matters). Readable once. */
  body(): AsyncGenerator<Buffer, void, undefined>;
}

export class TarFormatError extends Error {
  readonly code = 'TAR_FORMAT';
  constructor(
    message: string,
    /** Offset of the offending header in the tar stream. */
    readonly offset?: number,
  ) {
    super(offset === undefined ? message : `${message} (at byte ${offset})`);
    this.name = 'TarFormatError';
  }
}

export interface ReadTarOptions {
  /** Maximum size of a pax header or GNU long name/link record (default 1 MiB). */
  maxMetaBytes?: number;
}

const BLOCK = 512;
const EMPTY: Record<string, string> = Object.freeze({}) as Record<string, string>;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Pull reader over an async iterable of byte chunks. */
class ByteSource {
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

  /** Consume the rest of the input; returns true if it was all zero bytes. */
  async drain(): Promise<boolean> {
    let zero = true;
    while (await this.fill()) {
      if (zero) {
        for (let i = this.off; i < this.buf.length; i++) {
          if (this.buf[i] !== 0) {
            zero = false;
            break;
          }
        }
      }
      this.position += this.avail;
      this.off = this.buf.length;
    }
    return zero;
  }
}

function cstring(b: Buffer, start: number, len: number, what: string, offset: number): string {
  let end = start;
  const max = start + len;
  let ascii = true;
  while (end < max && b[end] !== 0) {
    if (b[end]! >= 0x80) ascii = false;
    end++;
  }
  if (end === start) return '';
  if (ascii) return b.toString('latin1', start, end);
  try {
    return utf8.decode(b.subarray(start, end));
  } catch {
    throw new TarFormatError(`${what} is not valid UTF-8`, offset);
  }
}

function parseNumber(b: Buffer, start: number, len: number, what: string, offset: number): number {
  const first = b[start]!;
  if ((first & 0x80) !== 0) {
    // GNU base-256: big-endian two's complement, first byte's top bit is the marker.
    if (first === 0xff) throw new TarFormatError(`negative ${what}`, offset);
    let v = first & 0x7f;
    for (let i = start + 1; i < start + len; i++) {
      v = v * 256 + b[i]!;
      if (v > Number.MAX_SAFE_INTEGER) throw new TarFormatError(`${what} too large`, offset);
    }
    return v;
  }
  // Octal, optionally preceded by spaces, ended by NUL or space (what follows is ignored).
  let i = start;
  const end = start + len;
  while (i < end && b[i] === 0x20) i++;
  let v = 0;
  let digits = 0;
  for (; i < end; i++) {
    const c = b[i]!;
    if (c === 0 || c === 0x20) break;
    if (c < 0x30 || c > 0x37) {
      throw new TarFormatError(`bad octal ${what}: ${JSON.stringify(b.toString('latin1', start, end))}`, offset);
    }
    v = v * 8 + (c - 0x30);
    digits++;
  }
  if (digits > 0 && !Number.isSafeInteger(v)) throw new TarFormatError(`${what} too large`, offset);
  return v;
}

function checksumOk(b: Buffer, offset: number): boolean {
  const stored = parseNumber(b, 148, 8, 'checksum', offset);
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const c = i >= 148 && i < 156 ? 0x20 : b[i]!;
    unsigned += c;
    signed += c > 127 ? c - 256 : c;
  }
  return stored === unsigned || stored === signed;
}

function isZeroBlock(b: Buffer): boolean {
  for (let i = 0; i < b.length; i++) if (b[i] !== 0) return false;
  return true;
}

/** Parses pax records "LEN key=value\n". */
export function parsePax(data: Buffer, offset: number): Record<string, string> {
  const out: Record<string, string> = {};
  let pos = 0;
  while (pos < data.length) {
    if (data[pos] === 0) break; // some writers pad with NULs
    const sp = data.indexOf(0x20, pos);
    if (sp === -1) throw new TarFormatError('malformed pax record (no length)', offset);
    const len = Number(data.subarray(pos, sp).toString('latin1'));
    if (!Number.isInteger(len) || len <= sp - pos + 1 || pos + len > data.length) {
      throw new TarFormatError('malformed pax record length', offset);
    }
    const rec = data.subarray(sp + 1, pos + len);
    if (rec[rec.length - 1] !== 0x0a) throw new TarFormatError('pax record not newline-terminated', offset);
    const eq = rec.indexOf(0x3d);
    if (eq === -1) throw new TarFormatError('pax record without "="', offset);
    let key: string;
    let value: string;
    try {
      key = utf8.decode(rec.subarray(0, eq));
      value = utf8.decode(rec.subarray(eq + 1, rec.length - 1));
    } catch {
      throw new TarFormatError('pax record is not valid UTF-8', offset);
    }
    out[key] = value;
    pos += len;
  }
  return out;
}

function typeOf(flag: string): TarEntryType {
  switch (flag) {
    case '0':
    case '\0':
    case '7':
      return 'file';
    case '1':
      return 'hardlink';
    case '2':
      return 'symlink';
    case '3':
      return 'character-device';
    case '4':
      return 'block-device';
    case '5':
      return 'directory';
    case '6':
      return 'fifo';
    default:
      return 'unsupported';
  }
}

function paxNumber(v: string | undefined, what: string, offset: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new TarFormatError(`bad pax ${what}: ${JSON.stringify(v)}`, offset);
  return n;
}

/**
 * Reads a tar stream entry by entry. The consumer must finish with an entry
 * (or ignore its body) before asking for the next; unread data is skipped.
 */
export async function* readTar(
  source: AsyncIterable<Uint8Array>,
  opts: ReadTarOptions = {},
): AsyncGenerator<TarEntry, void, undefined> {
  const maxMeta = opts.maxMetaBytes ?? 1024 * 1024;
  const src = new ByteSource(source);
  let globalPax: Record<string, string> = {};
  let nextPax: Record<string, string> = {};
  let hasGlobal = false;
  let hasNext = false;
  let longName: string | undefined;
  let longLink: string | undefined;

  const readMeta = async (size: number, what: string, offset: number): Promise<Buffer> => {
    if (size > maxMeta) throw new TarFormatError(`${what} of ${size} bytes exceeds ${maxMeta}`, offset);
    const data = await src.read(size);
    if (data.length < size) throw new TarFormatError(`truncated ${what}`, offset);
    const pad = (BLOCK - (size % BLOCK)) % BLOCK;
    if ((await src.skip(pad)) < pad) throw new TarFormatError(`truncated ${what}`, offset);
    return Buffer.from(data); // copy: it outlives the source chunk
  };

  for (;;) {
    const offset = src.position;
    // Copied for the same reason (reading a pax record may move to the next chunk).
    const block = Buffer.from(await src.read(BLOCK));
    if (block.length === 0) throw new TarFormatError('unexpected end of archive (no end-of-archive marker)', offset);
    if (block.length < BLOCK) throw new TarFormatError('truncated header', offset);
    if (isZeroBlock(block)) {
      // End of archive: a second zero block normally follows, then record padding.
      await src.drain();
      return;
    }
    if (!checksumOk(block, offset)) throw new TarFormatError('header checksum mismatch', offset);

    const typeflag = String.fromCharCode(block[156]!);
    const size = parseNumber(block, 124, 12, 'size', offset);
    const magic = block.subarray(257, 263).toString('latin1');
    const isUstar = magic === 'ustar\0';

    if (typeflag === 'x' || typeflag === 'g') {
      const rec = parsePax(await readMeta(size, 'pax header', offset), offset);
      if (typeflag === 'g') {
        globalPax = { ...globalPax, ...rec };
        hasGlobal = true;
      } else {
        nextPax = { ...nextPax, ...rec };
        hasNext = true;
      }
      continue;
    }
    if (typeflag === 'L' || typeflag === 'K') {
      const data = await readMeta(size, typeflag === 'L' ? 'GNU long name' : 'GNU long link name', offset);
      const nul = data.indexOf(0);
      let text: string;
      try {
        text = utf8.decode(nul === -1 ? data : data.subarray(0, nul));
      } catch {
        throw new TarFormatError('GNU long name is not valid UTF-8', offset);
      }
      if (typeflag === 'L') longName = text;
      else longLink = text;
      continue;
    }

    let name = cstring(block, 0, 100, 'name', offset);
    if (isUstar) {
      const prefix = cstring(block, 345, 155, 'prefix', offset);
      if (prefix) name = `${prefix}/${name}`;
    }
    const pax = hasGlobal || hasNext ? { ...globalPax, ...nextPax } : EMPTY;
    if (longName !== undefined) name = longName;
    if (pax.path !== undefined) name = pax.path;
    let linkname = cstring(block, 157, 100, 'linkname', offset);
    if (longLink !== undefined) linkname = longLink;
    if (pax.linkpath !== undefined) linkname = pax.linkpath;

    let type = typeOf(typeflag);
    // Old (pre-POSIX) archives mark directories with a trailing slash only.
    if (type === 'file' && typeflag !== '7' && name.endsWith('/')) type = 'directory';

    const header: TarHeader = {
      name,
      type,
      typeflag,
      mode: parseNumber(block, 100, 8, 'mode', offset) & 0o7777,
      uid: paxNumber(pax.uid, 'uid', offset) ?? parseNumber(block, 108, 8, 'uid', offset),
      gid: paxNumber(pax.gid, 'gid', offset) ?? parseNumber(block, 116, 8, 'gid', offset),
      size: paxNumber(pax.size, 'size', offset) ?? size,
      mtime: paxNumber(pax.mtime, 'mtime', offset) ?? parseNumber(block, 136, 12, 'mtime', offset),
      linkname,
      uname: pax.uname ?? cstring(block, 265, 32, 'uname', offset),
      gname: pax.gname ?? cstring(block, 297, 32, 'gname', offset),
      devmajor: isUstar || magic === 'ustar ' ? parseNumber(block, 329, 8, 'devmajor', offset) : 0,
      devminor: isUstar || magic === 'ustar ' ? parseNumber(block, 337, 8, 'devminor', offset) : 0,
      pax,
    };
    if (hasNext) nextPax = {};
    hasNext = false;
    longName = undefined;
    longLink = undefined;
    if (!Number.isSafeInteger(header.size)) throw new TarFormatError('bad size', offset);

    // POSIX: no data records follow links, directories and special files.
    const dataSize =
      type === 'hardlink' ||
      type === 'symlink' ||
      type === 'directory' ||
      type === 'character-device' ||
      type === 'block-device' ||
      type === 'fifo'
        ? 0
        : header.size;
    header.size = dataSize;

    let remaining = dataSize;
    let consumed = false;
    const entry: TarEntry = {
      header,
      body: async function* body() {
        if (consumed) throw new Error('tar entry body already read');
        consumed = true;
        while (remaining > 0) {
          const chunk = await src.readSome(remaining);
          if (chunk.length === 0) throw new TarFormatError(`truncated data of ${JSON.stringify(name)}`, offset);
          remaining -= chunk.length;
          yield chunk;
        }
      },
    };
    yield entry;
    consumed = true;
    if (remaining > 0) {
      const skipped = await src.skip(remaining);
      if (skipped < remaining) throw new TarFormatError(`truncated data of ${JSON.stringify(name)}`, offset);
      remaining = 0;
    }
    const pad = (BLOCK - (dataSize % BLOCK)) % BLOCK;
    if ((await src.skip(pad)) < pad) throw new TarFormatError('truncated padding', offset);
  }
}
