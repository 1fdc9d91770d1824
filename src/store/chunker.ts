/**
 * Content-defined chunking: FastCDC (Xia et al., USENIX ATC 2016) with
 * normalized chunking (level 2) over a 32-bit gear hash whose table is
 * seeded with the account's chunker key, so chunk boundaries do not
 * fingerprint known files for anyone without the key.
 *
 *   gear[i] = first 4 bytes (big-endian, as int32) of HMAC-SHA256(chunkerKey, [i]),  i = 0…255
 *
 * A cut in `data[start…]` (the bytes from the previous cut on):
 *   n = bytes available; n ≤ min → cut at n (only at the end of the input)
 *   h = 0; for i in [min, min(avg, n)):  h = (h << 1) + gear[byte]  (32-bit); (h & MASK_S) = 0 → cut after i
 *          for i in [avg, min(max, n)):  same with MASK_L
 *   no cut found → cut at min(max, n)
 * MASK_S = top 22 bits, MASK_L = top 18 bits (a gear hash's high bits
 * depend on the last 32 bytes, its low bits on fewer). Sizes: min 256 KiB,
 * average ≈ 1 MiB, max 8 MiB.
 */
import { createHmac } from 'node:crypto';

export const MIN_CHUNK = 256 * 1024;
export const AVG_CHUNK = 1024 * 1024;
export const MAX_CHUNK = 8 * 1024 * 1024;
const MASK_S = 0xfffffc00 | 0; // 22 bits
const MASK_L = 0xffffc000 | 0; // 18 bits

export function gearTable(chunkerKey: Uint8Array): Int32Array {
  const g = new Int32Array(256);
  for (let i = 0; i < 256; i++) g[i] = createHmac('sha256', chunkerKey).update(Uint8Array.of(i)).digest().readInt32BE(0);
  return g;
}

/**
 * Where the chunk that starts at `start` ends (exclusive), looking at
 * `data[start, end)`. With `final` false and no cut found before `end`, the
 * caller must bring more bytes (returns -1) unless `end - start ≥ MAX_CHUNK`.
 */
export function nextCut(gear: Int32Array, data: Uint8Array, start: number, end: number, final: boolean): number {
  const n = end - start;
  if (n <= MIN_CHUNK) return final ? end : -1;
  const normal = start + Math.min(AVG_CHUNK, n);
  const limit = start + Math.min(MAX_CHUNK, n);
  let h = 0;
  let i = start + MIN_CHUNK;
  for (; i < normal; i++) {
    h = ((h << 1) + gear[data[i]!]!) | 0;
    if ((h & MASK_S) === 0) return i + 1;
  }
  for (; i < limit; i++) {
    h = ((h << 1) + gear[data[i]!]!) | 0;
    if ((h & MASK_L) === 0) return i + 1;
  }
  if (limit - start === MAX_CHUNK || final) return limit;
  return -1;
}

/** All cuts of a whole buffer (tests, vectors, small inputs). */
export function chunkBoundaries(gear: Int32Array, data: Uint8Array): number[] {
  const cuts: number[] = [];
  let start = 0;
  while (start < data.length) {
    const c = nextCut(gear, data, start, data.length, true);
    cuts.push(c);
    start = c;
  }
  return cuts;
}
