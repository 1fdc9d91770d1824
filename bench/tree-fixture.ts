/**
 * What several benches share: a size argument ("512M", "1G"), a generated
 * tree of mixed files, and dropping the page cache before a timed run. A
 * module of its own so that no bench imports another bench's entry point
 * (restore-files.ts awaits its main at top level: peer-restic.ts importing it
 * while restore-files.ts imported peer-restic.ts deadlocked, exit 13).
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const MiB = 1024 * 1024;

export function parseSize(s: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([KMG]?)i?B?$/i.exec(s.trim());
  if (!m) throw new Error(`bad size ${s}`);
  const mult = { '': 1, K: 1024, M: MiB, G: 1024 * MiB }[m[2]!.toUpperCase() as '' | 'K' | 'M' | 'G'];
  return Math.round(Number(m[1]) * mult);
}

/** A pool of word-like text to slice compressible file contents from. */
function textPool(bytes: number): Buffer {
  const words = Array.from({ length: 4000 }, () =>
    randomBytes(3 + Math.floor(Math.random() * 7))
      .toString('base64')
      .replace(/[^a-z]/gi, '')
      .toLowerCase(),
  ).filter((w) => w.length > 1);
  const parts: string[] = [];
  let n = 0;
  while (n < bytes) {
    const line = Array.from({ length: 6 + Math.floor(Math.random() * 10) }, () => words[Math.floor(Math.random() * words.length)]).join(' ') + '\n';
    parts.push(line);
    n += line.length;
  }
  return Buffer.from(parts.join(''), 'latin1').subarray(0, bytes);
}

/**
 * Writes about `total` bytes of files under `dir`: ~55% of the bytes in a few
 * large files (4-48 MiB), ~30% in medium ones (64 KiB - 1 MiB), ~15% in small
 * ones (100 B - 16 KiB), spread over nested directories. Two thirds of the
 * files are text (zstd ~3-4x), one third random bytes.
 */
export function makeTree(dir: string, total: number): { files: number; bytes: number } {
  const pool = textPool(8 * MiB);
  let files = 0;
  let bytes = 0;
  const content = (size: number): Buffer => {
    if (Math.random() < 1 / 3) return randomBytes(size);
    const out = Buffer.allocUnsafe(size);
    for (let off = 0; off < size; ) {
      const start = Math.floor(Math.random() * (pool.length - 65536));
      const n = Math.min(size - off, 4096 + Math.floor(Math.random() * 60000));
      pool.copy(out, off, start, start + n);
      off += n;
    }
    return out;
  };
  const write = (size: number, kind: string) => {
    const d = join(dir, kind, `d${Math.floor(files / 200)}`, `s${files % 7}`);
    mkdirSync(d, { recursive: true });
    writeFileSync(join(d, `f${files}.${kind === 'small' ? 'txt' : 'bin'}`), content(size), { mode: files % 5 === 0 ? 0o755 : 0o644 });
    files += 1;
    bytes += size;
  };
  const budget = (share: number) => Math.floor(total * share);
  for (let b = 0, target = budget(0.15); b < target; ) {
    const s = 100 + Math.floor(Math.random() * 16 * 1024);
    write(s, 'small');
    b += s;
  }
  for (let b = 0, target = budget(0.3); b < target; ) {
    const s = 64 * 1024 + Math.floor(Math.random() * (MiB - 64 * 1024));
    write(s, 'medium');
    b += s;
  }
  for (let b = 0, target = budget(0.55); b < target; ) {
    const s = Math.min(target - b, 4 * MiB + Math.floor(Math.random() * 44 * MiB));
    write(Math.max(s, 1), 'large');
    b += s;
  }
  return { files, bytes };
}

export function dropCaches(): boolean {
  try {
    spawnSync('sync');
    writeFileSync('/proc/sys/vm/drop_caches', '3');
    return true;
  } catch {
    return false;
  }
}
