/**
 * A generated documents folder mixed like a real one (deterministic, seeded):
 * ~45 % incompressible "photos" (1–8 MiB) and "videos" (16–48 MiB), ~40 %
 * text documents (pseudo-prose, 4 KiB–2 MiB), ~15 % small source-like files
 * (1–20 KiB), 200 files a folder. Used by bench/capture.ts and
 * bench/peer-restic.ts.
 */
import { closeSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const MiB = 1024 * 1024;

/** xorshift32: deterministic, fast. */
export function xorshift(seed = 0x9e3779b9): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 0x100000000;
  };
}

const WORDS = 'o a de que e do da em um para é com não uma os no se na por mais as dos como mas foi ao ele das tem à seu sua ou ser quando muito há nos já está eu também só pelo pela até isso ela entre era depois sem mesmo aos ter seus quem nas me esse eles estão você tinha foram essa num nem suas meu às minha têm numa pelos elas havia seja qual será nós tenho lhe deles essas esses pelas este fosse dele the of and to in is that it was for on are with as his they be at one have this from by hot word but what some we can out other were all there when up use your how said an each she which do their time if will way about many then them write would like so these her long make thing see him two has look more day could go come did number sound no most people my over know water than call first who may down side been now find'.split(' ');

export function textBlock(rnd: () => number, bytes: number): Buffer {
  const parts: string[] = [];
  let n = 0;
  while (n < bytes) {
    let line = '';
    const words = 6 + Math.floor(rnd() * 14);
    for (let i = 0; i < words; i++) line += (i ? ' ' : '') + WORDS[Math.floor(rnd() * WORDS.length)];
    line += rnd() < 0.1 ? ` ${Math.floor(rnd() * 1e6)}.\n\n` : '.\n';
    parts.push(line);
    n += Buffer.byteLength(line);
  }
  return Buffer.from(parts.join('')).subarray(0, bytes);
}

export function randomBlock(rnd: () => number, bytes: number): Buffer {
  const b = Buffer.allocUnsafe(bytes);
  let i = 0;
  for (; i + 4 <= bytes; i += 4) b.writeUInt32LE(Math.floor(rnd() * 0x100000000), i);
  for (; i < bytes; i++) b[i] = Math.floor(rnd() * 256);
  return b;
}

/** Writes `size` bytes of files under `docs`; returns the number of files. */
export function generateDocuments(docs: string, size: number, rnd: () => number = xorshift()): { files: number } {
  let left = size;
  let files = 0;
  const kinds = [
    { share: 0.3, dir: 'Fotos', ext: 'jpg', min: 1 * MiB, max: 8 * MiB, text: false },
    { share: 0.15, dir: 'Videos', ext: 'mp4', min: 16 * MiB, max: 48 * MiB, text: false },
    { share: 0.4, dir: 'Textos', ext: 'txt', min: 4096, max: 2 * MiB, text: true },
    { share: 0.15, dir: 'src', ext: 'ts', min: 1024, max: 20 * 1024, text: true },
  ];
  for (const k of kinds) {
    let budget = Math.floor(size * k.share);
    let i = 0;
    while (budget > 0 && left > 0) {
      const bytes = Math.min(budget, left, Math.floor(k.min + rnd() * (k.max - k.min)));
      const dir = join(docs, k.dir, String(Math.floor(i / 200)).padStart(3, '0'));
      if (i % 200 === 0) mkdirSync(dir, { recursive: true });
      const file = join(dir, `${k.dir.toLowerCase()}-${i}.${k.ext}`);
      const fd = openSync(file, 'w');
      for (let done = 0; done < bytes; ) {
        const n = Math.min(4 * MiB, bytes - done);
        writeFileSync(fd, k.text ? textBlock(rnd, n) : randomBlock(rnd, n));
        done += n;
      }
      closeSync(fd);
      budget -= bytes;
      left -= bytes;
      files++;
      i++;
    }
  }
  return { files };
}
