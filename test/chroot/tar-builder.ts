/** Builds tar archives byte by byte (ustar headers), for malicious-archive tests. */
import { spawnSync } from 'node:child_process';

export interface RawEntry {
  /** Bytes where a name is not UTF-8. */
  name: string | Buffer;
  /** '0' file, '1' hardlink, '2' symlink, '3' char dev, '4' block dev, '5' dir, '6' fifo, 'x' pax, 'L' GNU long name */
  type?: string;
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: number;
  linkname?: string | Buffer;
  data?: Buffer | string;
  /** Bytes written over the header before its checksum: [offset, bytes] (sparse maps, base-256 numbers). */
  patch?: Array<[number, Buffer]>;
  devmajor?: number;
  devminor?: number;
}

function octal(n: number, len: number): string {
  return n.toString(8).padStart(len - 1, '0') + '\0';
}

export function header(e: RawEntry, size: number): Buffer {
  const b = Buffer.alloc(512);
  const put = (s: string | Buffer, off: number, len: number) => {
    const bytes = Buffer.from(s);
    if (bytes.length > len) throw new Error(`field too long: ${s.toString()}`);
    bytes.copy(b, off);
  };
  put(e.name, 0, 100);
  put(octal(e.mode ?? 0o644, 8), 100, 8);
  put(octal(e.uid ?? 0, 8), 108, 8);
  put(octal(e.gid ?? 0, 8), 116, 8);
  put(octal(size, 12), 124, 12);
  put(octal(e.mtime ?? 1_700_000_000, 12), 136, 12);
  b.write('        ', 148, 'latin1');
  put(e.type ?? '0', 156, 1);
  put(e.linkname ?? '', 157, 100);
  b.write('ustar\0', 257, 'latin1');
  b.write('00', 263, 'latin1');
  put('root', 265, 32);
  put('root', 297, 32);
  put(octal(e.devmajor ?? 0, 8), 329, 8);
  put(octal(e.devminor ?? 0, 8), 337, 8);
  for (const [off, bytes] of e.patch ?? []) bytes.copy(b, off);
  let sum = 0;
  for (const c of b) sum += c;
  b.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'latin1');
  return b;
}

/** An uncompressed tar with the given entries and the end-of-archive marker. */
export function buildTar(entries: RawEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const data = e.data === undefined ? Buffer.alloc(0) : Buffer.from(e.data);
    parts.push(header(e, data.length));
    parts.push(data);
    const pad = (512 - (data.length % 512)) % 512;
    parts.push(Buffer.alloc(pad));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

/** A pax 'x' record set (for the next entry); values as bytes where they are not UTF-8, pairs where a key repeats. */
export function paxData(records: Record<string, string | Buffer> | Array<[string, string | Buffer]>): Buffer {
  const out: Buffer[] = [];
  for (const [k, v] of Array.isArray(records) ? records : Object.entries(records)) {
    const body = Buffer.concat([Buffer.from(` ${k}=`), Buffer.from(v), Buffer.from('\n')]);
    let len = body.length + 1;
    while (String(len).length + body.length !== len) len = String(len).length + body.length;
    out.push(Buffer.from(String(len)), body);
  }
  return Buffer.concat(out);
}

/** Compresses with the system zstd CLI (independent of the code under test). */
export function zstdCli(data: Buffer, level = 3): Buffer {
  const r = spawnSync('zstd', ['-q', `-${level}`, '-c'], { input: data, maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`zstd failed: ${r.stderr.toString()}`);
  return r.stdout;
}
