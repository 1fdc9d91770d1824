/**
 * GNU sparse files: a map of data regions (offset, length) inside a file of
 * `realSize` bytes; the archive stores only the regions' bytes, in order,
 * and everything between them reads as zeros (holes). Four encodings:
 *
 * - old GNU, typeflag 'S': up to 4 regions in the header (offset 386),
 *   then extension blocks of 21 while the "is extended" byte is set; the
 *   real size at offset 483;
 * - pax 0.0: `GNU.sparse.offset` / `GNU.sparse.numbytes` records in pairs,
 *   `GNU.sparse.size` the real size;
 * - pax 0.1: `GNU.sparse.map=o,n,o,n,...`, `GNU.sparse.size`;
 * - pax 1.0 (`GNU.sparse.major=1`, `minor=0`): the map in decimal lines
 *   (count, then offset/length pairs) at the start of the data, padded to a
 *   block; `GNU.sparse.realsize`.
 *
 * The pax forms name the file `GNUSparseFile.N/name` in the header and the
 * real name in `GNU.sparse.name` (tar-reader.ts applies it). A map must be
 * ordered, non-overlapping, inside the real size, and its lengths must add
 * up to the data stored: anything else is a TarFormatError ('bad-sparse-map'),
 * never a file with other bytes.
 */
import type { ByteSource } from './byte-source.ts';
import { TarFormatError } from './tar-errors.ts';
import { BLOCK, parseNumber } from './tar-header.ts';
import type { PaxRecord } from './tar-pax.ts';

export interface SparseRegion {
  offset: number;
  length: number;
}

const bad = (what: string, offset: number) => new TarFormatError('bad-sparse-map', `sparse map: ${what}`, offset);

function entries(block: Buffer, start: number, count: number, offset: number): SparseRegion[] {
  const out: SparseRegion[] = [];
  for (let i = 0; i < count; i++) {
    const at = start + i * 24;
    // An entry whose offset or length field is empty ends the list (GNU tar, Go, libarchive).
    if (block[at] === 0 || block[at + 12] === 0) break;
    out.push({ offset: parseNumber(block, at, 12, 'sparse offset', offset), length: parseNumber(block, at + 12, 12, 'sparse length', offset) });
  }
  return out;
}

/** The old GNU 'S' header's own regions, whether extension blocks follow, and the real size. */
export function oldGnuSparseHeader(block: Buffer, offset: number): { regions: SparseRegion[]; extended: boolean; realSize: number } {
  return { regions: entries(block, 386, 4, offset), extended: block[482] !== 0, realSize: parseNumber(block, 483, 12, 'sparse real size', offset) };
}

/** One old GNU sparse extension block: 21 regions, then the "is extended" byte. */
export function oldGnuSparseExtension(block: Buffer, offset: number): { regions: SparseRegion[]; extended: boolean } {
  return { regions: entries(block, 0, 21, offset), extended: block[504] !== 0 };
}

function decimal(s: string, what: string, offset: number): number {
  if (!/^[0-9]+$/.test(s)) throw bad(`${what} ${JSON.stringify(s.slice(0, 40))}`, offset);
  const n = Number(s);
  if (!Number.isSafeInteger(n)) throw bad(`${what} out of range`, offset);
  return n;
}

function pairs(numbers: number[], offset: number): SparseRegion[] {
  if (numbers.length % 2 !== 0) throw bad('an offset without a length', offset);
  const out: SparseRegion[] = [];
  for (let i = 0; i < numbers.length; i += 2) out.push({ offset: numbers[i]!, length: numbers[i + 1]! });
  return out;
}

/** pax 0.0: the offset/numbytes records, in the order they came. */
export function paxSparse00(records: PaxRecord[], offset: number): SparseRegion[] {
  const numbers: number[] = [];
  for (const r of records) {
    const want = numbers.length % 2 === 0 ? 'GNU.sparse.offset' : 'GNU.sparse.numbytes';
    if (r.key !== 'GNU.sparse.offset' && r.key !== 'GNU.sparse.numbytes') continue;
    if (r.key !== want) throw bad(`${r.key} where ${want} was expected`, offset);
    numbers.push(decimal(r.value.toString('latin1'), r.key, offset));
  }
  return pairs(numbers, offset);
}

/** pax 0.1: `GNU.sparse.map`. */
export function paxSparse01(map: string, offset: number): SparseRegion[] {
  if (map === '') return [];
  return pairs(map.split(',').map((s) => decimal(s, 'GNU.sparse.map value', offset)), offset);
}

/**
 * pax 1.0: reads the map at the start of the entry's data. Returns the
 * regions and the bytes it took (whole blocks), bounded by `maxBytes`.
 */
export async function readSparse10Map(src: ByteSource, dataSize: number, maxBytes: number, offset: number): Promise<{ regions: SparseRegion[]; consumed: number }> {
  const numbers: number[] = [];
  let want = -1; // numbers to read: 1 (the count), then 1 + 2 * count
  let line = '';
  let consumed = 0;
  while (want < 0 || numbers.length < want) {
    if (consumed + BLOCK > dataSize) throw bad('the map runs past the data', offset);
    if (consumed + BLOCK > maxBytes) throw new TarFormatError('too-large', `sparse map over ${maxBytes} bytes`, offset);
    const block = await src.read(BLOCK);
    if (block.length < BLOCK) throw new TarFormatError('truncated', 'truncated sparse map', offset);
    consumed += BLOCK;
    for (let i = 0; i < BLOCK && (want < 0 || numbers.length < want); i++) {
      const c = block[i]!;
      if (c !== 0x0a) {
        line += String.fromCharCode(c);
        if (line.length > 40) throw bad(`number ${JSON.stringify(line)}`, offset);
        continue;
      }
      numbers.push(decimal(line, 'map number', offset));
      line = '';
      if (numbers.length === 1) want = 1 + 2 * numbers[0]!;
      if (numbers[0]! * 4 > maxBytes) throw new TarFormatError('too-large', `sparse map of ${numbers[0]} regions`, offset);
    }
  }
  return { regions: pairs(numbers.slice(1), offset), consumed };
}

/** Checks a map against the file's real size and the data stored (see the file header). */
export function checkSparse(regions: SparseRegion[], realSize: number, stored: number, offset: number): void {
  if (!Number.isSafeInteger(realSize) || realSize < 0) throw bad(`real size ${realSize}`, offset);
  let end = 0;
  let sum = 0;
  for (const r of regions) {
    if (!Number.isSafeInteger(r.offset) || !Number.isSafeInteger(r.length) || r.offset < 0 || r.length < 0) throw bad('bad region', offset);
    if (r.offset < end) throw bad(`region at ${r.offset} overlaps or is out of order`, offset);
    end = r.offset + r.length;
    if (end > realSize) throw bad(`region ${r.offset}+${r.length} past the real size ${realSize}`, offset);
    sum += r.length;
  }
  if (sum !== stored) throw bad(`regions hold ${sum} bytes, the archive stores ${stored}`, offset);
}

/**
 * Places an entry's stored data into its file: `place(chunk)` gives each
 * piece of the chunk with the file offset it belongs at (pieces are
 * subarrays of the chunk). Without a map, the data is the file from
 * offset 0. Synchronous: it costs a file of one chunk nothing.
 */
export class DataPlacer {
  private r = 0;
  private inRegion = 0;
  private pos = 0;
  constructor(private readonly regions: SparseRegion[] | undefined) {}

  *place(chunk: Buffer): Generator<[Buffer, number], void, undefined> {
    const regions = this.regions;
    if (!regions) {
      yield [chunk, this.pos];
      this.pos += chunk.length;
      return;
    }
    let off = 0;
    while (off < chunk.length) {
      while (this.r < regions.length && this.inRegion === regions[this.r]!.length) {
        this.r += 1;
        this.inRegion = 0;
      }
      const region = regions[this.r];
      if (!region) throw new Error('sparse data past its map'); // checkSparse makes this unreachable
      const take = Math.min(chunk.length - off, region.length - this.inRegion);
      yield [chunk.subarray(off, off + take), region.offset + this.inRegion];
      off += take;
      this.inRegion += take;
    }
  }
}
