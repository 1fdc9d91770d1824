/**
 * A deterministic POSIX (pax) tar writer, streamed: the same folder content
 * gives the same bytes, on any machine, at any time.
 *
 * - entries in walk order (walk.ts: sorted by UTF-8 name, depth first), named
 *   like `tar -C DIR .`: `./`, `./a.txt`, `./sub/`, `./sub/b.txt`;
 * - regular files, folders and (inside-pointing) symlinks only; a hard link is
 *   stored as a regular file;
 * - mode = permission bits without setuid/setgid (the restore refuses them);
 *   mtime kept in whole seconds; uid/gid 0, uname/gname empty; no atime, ctime
 *   or other pax time records;
 * - a pax extended header (`x`) only where ustar cannot hold a value: a name or
 *   link target longer than 100 bytes, a file of 8 GiB or more;
 * - ends with two zero blocks, no padding to a record size.
 *
 * A file that shrinks while it is read is padded with zeros to the size in
 * its header (and reported); one that grows is cut at that size: the archive
 * stays well-formed, the next capture gets the file right.
 */
import { open } from 'node:fs/promises';
import type { WalkEntry } from './walk.ts';

const BLOCK = 512;
const CHUNK = 1024 * 1024;
const MAX_OCTAL_SIZE = 0o77777777777;
const ZERO_BLOCKS = Buffer.alloc(2 * BLOCK);

export interface TarHeaderFields {
  name: string;
  /** '0' file, '2' symlink, '5' directory, 'x' pax header. */
  type: '0' | '2' | '5' | 'x';
  mode: number;
  size: number;
  mtime: number;
  linkname?: string;
}

function writeString(b: Buffer, off: number, len: number, s: string): void {
  const bytes = Buffer.from(s, 'utf8');
  if (bytes.length > len) throw new RangeError(`tar field too long: ${s}`);
  bytes.copy(b, off);
}

/** Octal, zero-padded to len-1 digits, NUL-terminated. */
function writeOctal(b: Buffer, off: number, len: number, n: number): void {
  const s = Math.max(0, Math.floor(n)).toString(8).padStart(len - 1, '0');
  if (s.length > len - 1) throw new RangeError(`tar number too large for its field: ${n}`);
  b.write(s + '\0', off, 'ascii');
}

/** One 512-byte ustar header. Fields must fit (see `entryHeaders` for pax). */
export function ustarHeader(h: TarHeaderFields): Buffer {
  const b = Buffer.alloc(BLOCK);
  writeString(b, 0, 100, h.name);
  writeOctal(b, 100, 8, h.mode);
  writeOctal(b, 108, 8, 0);
  writeOctal(b, 116, 8, 0);
  writeOctal(b, 124, 12, h.size);
  writeOctal(b, 136, 12, h.mtime);
  b.write(h.type, 156, 'ascii');
  if (h.linkname) writeString(b, 157, 100, h.linkname);
  b.write('ustar\0', 257, 'ascii');
  b.write('00', 263, 'ascii');
  writeOctal(b, 329, 8, 0);
  writeOctal(b, 337, 8, 0);
  // Checksum: the header's bytes summed with the checksum field as spaces.
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (const x of b) sum += x;
  b.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'ascii');
  return b;
}

/** One pax record, `LEN key=value\n`, LEN counting the whole record. */
export function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  const bodyLen = Buffer.byteLength(body, 'utf8');
  let len = bodyLen + 1;
  while (String(len).length + bodyLen !== len) len = String(len).length + bodyLen;
  return `${len}${body}`;
}

const padding = (n: number) => (n % BLOCK === 0 ? 0 : BLOCK - (n % BLOCK));

/** The header block(s) of one entry: a pax header first when ustar cannot hold a field. */
export function entryHeaders(h: TarHeaderFields): Buffer {
  const records: string[] = [];
  let { name, linkname, size } = h;
  if (Buffer.byteLength(name, 'utf8') > 100) {
    records.push(paxRecord('path', name));
    name = truncateUtf8(name, 100);
  }
  if (linkname !== undefined && Buffer.byteLength(linkname, 'utf8') > 100) {
    records.push(paxRecord('linkpath', linkname));
    linkname = truncateUtf8(linkname, 100);
  }
  if (size > MAX_OCTAL_SIZE) {
    records.push(paxRecord('size', String(size)));
    size = 0;
  }
  const main = ustarHeader({ ...h, name, size, ...(linkname !== undefined ? { linkname } : {}) });
  if (records.length === 0) return main;
  const data = Buffer.from(records.join(''), 'utf8');
  const pax = ustarHeader({ name: './PaxHeaders/x', type: 'x', mode: 0o644, size: data.length, mtime: h.mtime });
  return Buffer.concat([pax, data, Buffer.alloc(padding(data.length)), main]);
}

/** The longest prefix of `s` of at most `max` UTF-8 bytes that ends on a character boundary. */
function truncateUtf8(s: string, max: number): string {
  let out = '';
  let n = 0;
  for (const ch of s) {
    const l = Buffer.byteLength(ch, 'utf8');
    if (n + l > max) break;
    out += ch;
    n += l;
  }
  return out;
}

export interface TarStreamOptions {
  /** File content bytes read so far (for progress). */
  onBytes?: (n: number) => void;
  /** Something worth telling the person (a file that changed while read). */
  onWarn?: (message: string) => void;
}

/** The tar header fields of a walked entry. */
export function headerOf(e: WalkEntry): TarHeaderFields {
  const mode = Number(e.stat.mode) & 0o7777 & ~0o6000;
  const mtime = Math.max(0, Number(e.stat.mtimeNs / 1_000_000_000n));
  if (e.kind === 'dir') return { name: e.rel === '' ? './' : `./${e.rel}/`, type: '5', mode, size: 0, mtime };
  if (e.kind === 'symlink') return { name: `./${e.rel}`, type: '2', mode, size: 0, mtime, linkname: e.link! };
  return { name: `./${e.rel}`, type: '0', mode, size: Number(e.stat.size), mtime };
}

/** The archive of the walked entries, as chunks (headers, file data, padding, end blocks). */
export async function* tarStream(entries: AsyncIterable<WalkEntry>, o: TarStreamOptions = {}): AsyncGenerator<Buffer, void, undefined> {
  for await (const e of entries) {
    const h = headerOf(e);
    if (e.kind !== 'file') {
      yield entryHeaders(h);
      continue;
    }
    let fh;
    try {
      fh = await open(e.abs, 'r');
    } catch (err) {
      // Gone or unreadable between the walk and now: leave it out (the header is not written yet).
      o.onWarn?.(`${e.abs}: left out (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
      continue;
    }
    try {
      yield entryHeaders(h);
      let left = h.size;
      while (left > 0) {
        const buf = Buffer.allocUnsafe(Math.min(CHUNK, left));
        const { bytesRead } = await fh.read(buf, 0, buf.length, null);
        if (bytesRead === 0) {
          o.onWarn?.(`${e.abs}: shrank while being read; padded with zeros (the next capture will have it right)`);
          for (let z = left; z > 0; z -= CHUNK) yield Buffer.alloc(Math.min(CHUNK, z));
          left = 0;
          break;
        }
        left -= bytesRead;
        o.onBytes?.(bytesRead);
        yield bytesRead === buf.length ? buf : buf.subarray(0, bytesRead);
      }
      const pad = padding(h.size);
      if (pad) yield Buffer.alloc(pad);
    } finally {
      await fh.close();
    }
  }
  yield ZERO_BLOCKS;
}
