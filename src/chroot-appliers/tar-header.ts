/**
 * One 512-byte tar header block: its fields, as bytes where they are names
 * (file names are bytes on Linux; nothing is decoded here), as numbers
 * where they are numbers (octal, or GNU base-256 for large or negative
 * values), and its checksum. POSIX ustar, GNU (old and new) and v7 headers.
 */
import { TarFormatError } from './tar-errors.ts';

export const BLOCK = 512;

export type HeaderFormat = 'ustar' | 'gnu' | 'v7';

export interface HeaderBlock {
  typeflag: string;
  format: HeaderFormat;
  /** The name field; for POSIX ustar, `prefix/name` when the prefix is set. */
  name: Buffer;
  linkname: Buffer;
  /** mode & 0o7777. */
  mode: number;
  uid: number;
  gid: number;
  /** The size field: bytes stored after this header (for GNU sparse, the stored data). */
  size: number;
  /** Seconds since the epoch; negative before 1970. */
  mtime: number;
  uname: Buffer;
  gname: Buffer;
  devmajor: number;
  devminor: number;
}

/** The bytes of a NUL-terminated (or full-width) field. */
export function field(b: Buffer, start: number, len: number): Buffer {
  const f = b.subarray(start, start + len);
  const nul = f.indexOf(0);
  return nul === -1 ? f : f.subarray(0, nul);
}

/**
 * A numeric field: octal (leading spaces, ended by NUL or space), or GNU
 * base-256 (first byte 0x80 for positive, 0xff for negative, then
 * big-endian two's complement). Negative values only where `signed`.
 */
export function parseNumber(b: Buffer, start: number, len: number, what: string, offset: number, signed = false): number {
  const first = b[start]!;
  if ((first & 0x80) !== 0) {
    let v = 0n;
    for (let i = start; i < start + len; i++) v = (v << 8n) | BigInt(i === start ? first & 0x7f : b[i]!);
    if (first === 0xff) v -= 1n << BigInt(8 * len - 1); // two's complement, the marker bit being the sign
    if (v < 0n && !signed) throw new TarFormatError('bad-number', `negative ${what}`, offset);
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < -BigInt(Number.MAX_SAFE_INTEGER)) throw new TarFormatError('bad-number', `${what} out of range`, offset);
    return Number(v);
  }
  let i = start;
  const end = start + len;
  while (i < end && b[i] === 0x20) i++;
  let v = 0;
  for (; i < end; i++) {
    const c = b[i]!;
    if (c === 0 || c === 0x20) break;
    if (c < 0x30 || c > 0x37) {
      throw new TarFormatError('bad-number', `bad octal ${what}: ${JSON.stringify(b.toString('latin1', start, end))}`, offset);
    }
    v = v * 8 + (c - 0x30);
  }
  if (!Number.isSafeInteger(v)) throw new TarFormatError('bad-number', `${what} out of range`, offset);
  return v;
}

/** A number we do not act on (owners, device numbers): 0 when unreadable rather than a refusal. */
function lenientNumber(b: Buffer, start: number, len: number): number {
  try {
    return parseNumber(b, start, len, '', 0);
  } catch {
    return 0;
  }
}

export function checksumOk(b: Buffer, offset: number): boolean {
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

export function isZeroBlock(b: Buffer): boolean {
  for (let i = 0; i < b.length; i++) if (b[i] !== 0) return false;
  return true;
}

/** Parses a header block whose checksum was checked. */
export function parseHeaderBlock(block: Buffer, offset: number): HeaderBlock {
  const magic = block.toString('latin1', 257, 263);
  const format: HeaderFormat = magic === 'ustar\0' ? 'ustar' : magic === 'ustar ' ? 'gnu' : 'v7';
  let name = field(block, 0, 100);
  if (format === 'ustar') {
    // Old GNU headers keep atime/ctime where POSIX has the prefix.
    const prefix = field(block, 345, 155);
    if (prefix.length > 0) name = Buffer.concat([prefix, Buffer.from('/'), name]);
  }
  const special = format !== 'v7';
  return {
    typeflag: String.fromCharCode(block[156]!),
    format,
    name: Buffer.from(name),
    linkname: Buffer.from(field(block, 157, 100)),
    mode: parseNumber(block, 100, 8, 'mode', offset) & 0o7777,
    uid: lenientNumber(block, 108, 8),
    gid: lenientNumber(block, 116, 8),
    size: parseNumber(block, 124, 12, 'size', offset),
    mtime: parseNumber(block, 136, 12, 'mtime', offset, true),
    uname: special ? Buffer.from(field(block, 265, 32)) : Buffer.alloc(0),
    gname: special ? Buffer.from(field(block, 297, 32)) : Buffer.alloc(0),
    devmajor: special ? lenientNumber(block, 329, 8) : 0,
    devminor: special ? lenientNumber(block, 337, 8) : 0,
  };
}
