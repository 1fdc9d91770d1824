/**
 * pax extended header records (`LEN key=value\n`, POSIX.1-2001), read
 * straight from the stream one record at a time: the values the reader
 * acts on (`wanted`) are kept as bytes (a path is bytes, and
 * `hdrcharset=BINARY` archives hold non-UTF-8 ones), bounded by
 * `maxValue`; every other value (xattrs, ACLs, vendor keys, of any size)
 * is skipped unread. Memory stays bounded whatever the header's size.
 *
 * Malformed records (no length, a length past the header, no `=`, a NUL in
 * the key, no closing newline) are a TarFormatError, as GNU tar reports
 * them. NUL bytes where a record would start are padding: the rest of the
 * header is skipped.
 */
import type { ByteSource } from './byte-source.ts';
import { TarFormatError } from './tar-errors.ts';

export interface PaxRecord {
  key: string;
  value: Buffer;
}

/** Longest key we read (keys are short words; the bound keeps the byte-wise scan small). */
const MAX_KEY = 1024;

export async function readPaxRecords(
  src: ByteSource,
  size: number,
  offset: number,
  wanted: (key: string) => boolean,
  maxValue: number,
): Promise<PaxRecord[]> {
  const records: PaxRecord[] = [];
  let left = size;
  const byte = async (): Promise<number> => {
    const b = await src.read(1);
    if (b.length === 0) throw new TarFormatError('truncated', 'truncated pax header', offset);
    left -= 1;
    return b[0]!;
  };
  const bad = (what: string) => new TarFormatError('bad-pax', `malformed pax record: ${what}`, offset);
  while (left > 0) {
    // The decimal length of the whole record, then a space.
    let len = 0;
    let digits = 0;
    for (;;) {
      if (left === 0) throw bad('no length');
      const c = await byte();
      if (c === 0 && digits === 0) {
        if ((await src.skip(left)) < left) throw new TarFormatError('truncated', 'truncated pax header', offset);
        return records;
      }
      if (c === 0x20 && digits > 0) break;
      if (c < 0x30 || c > 0x39 || digits >= 16) throw bad('no length');
      len = len * 10 + (c - 0x30);
      digits += 1;
    }
    let rest = len - digits - 1; // key=value\n
    if (rest < 2 || rest > left) throw bad(`length ${len}`);
    const key: number[] = [];
    for (;;) {
      if (rest <= 1) throw bad('no "="');
      const c = await byte();
      rest -= 1;
      if (c === 0x3d) break;
      if (c === 0 || c === 0x0a) throw bad('NUL or newline in the key');
      if (key.length >= MAX_KEY) throw bad('key too long');
      key.push(c);
    }
    const name = Buffer.from(key).toString('utf8');
    const valueLen = rest - 1;
    if (wanted(name)) {
      if (valueLen > maxValue) throw new TarFormatError('too-large', `pax ${name} of ${valueLen} bytes exceeds ${maxValue}`, offset);
      const value = Buffer.from(await src.read(valueLen));
      if (value.length < valueLen) throw new TarFormatError('truncated', 'truncated pax header', offset);
      left -= valueLen;
      records.push({ key: name, value });
    } else {
      if ((await src.skip(valueLen)) < valueLen) throw new TarFormatError('truncated', 'truncated pax header', offset);
      left -= valueLen;
    }
    if ((await byte()) !== 0x0a) throw bad('no closing newline');
  }
  return records;
}
