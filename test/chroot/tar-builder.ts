/** Builds tar archives byte by byte (ustar headers), for malicious-archive tests. */
import { spawnSync } from 'node:child_process';

export interface RawEntry {
  name: string;
  /** '0' file, '1' hardlink, '2' symlink, '3' char dev, '4' block dev, '5' dir, '6' fifo, 'x' pax, 'L' GNU long name */
  type?: string;
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: number;
  linkname?: string;
  data?: Buffer | string;
  devmajor?: number;
  devminor?: number;
}

function octal(n: number, len: number): string {
  return n.toString(8).padStart(len - 1, '0') + '\0';
}

export function header(e: RawEntry, size: number): Buffer {
  const b = Buffer.alloc(512);
  const put = (s: string, off: number, len: number) => {
    const bytes = Buffer.from(s, 'utf8');
    if (bytes.length > len) throw new Error(`field too long: ${s}`);
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

/** A pax 'x' record set (for the next entry). */
export function paxData(records: Record<string, string>): Buffer {
  let out = '';
  for (const [k, v] of Object.entries(records)) {
    const body = ` ${k}=${v}\n`;
    let len = Buffer.byteLength(body) + 1;
    while (String(len).length + Buffer.byteLength(body) !== len) len = String(len).length + Buffer.byteLength(body);
    out += `${len}${body}`;
  }
  return Buffer.from(out, 'utf8');
}

/** Compresses with the system zstd CLI (independent of the code under test). */
export function zstdCli(data: Buffer, level = 3): Buffer {
  const r = spawnSync('zstd', ['-q', `-${level}`, '-c'], { input: data, maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`zstd failed: ${r.stderr.toString()}`);
  return r.stdout;
}
