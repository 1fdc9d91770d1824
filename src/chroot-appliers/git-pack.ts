/**
 * git's packs, read with node's zlib: what the repos restore needs of
 * `git index-pack` and of an object store (git-checkout.ts reads objects
 * through it). isomorphic-git does both in JS — pako's inflate, a Buffer
 * slice per delta op, a promise per object: 1.0 s to index and 5.2 s to
 * check out the bench's 3,000-file repository — on the CPU apt needs while
 * the fetch-ahead builds repositories beside it (bench/README.md).
 *
 *   entryHead(bytes, offset)  an entry's kind, size, delta base, data start
 *   PackObjects               objects by pack offset, deltas applied, bases kept while reused (64 MiB)
 *   PackSet                   a repository's packs with their v2 .idx: object by id
 *   packIndexOids(idx)        the ids a v2 .idx lists
 *   indexPack(pack)           the .idx of a self-contained pack, written beside it: each entry's
 *                             id (SHA-1 of "type size\0" + content), CRC-32 and offset — the
 *                             pack's own checksum checked first
 *   applyDelta                git's delta format, every copy and insert bounds-checked
 *
 * A malformed pack is this repository's failure (RepoFailure), never a
 * read outside its bytes.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as zlib from 'node:zlib';
import { RepoFailure } from './repo-failure.ts';

type ObjectType = 'commit' | 'tree' | 'blob' | 'tag';
const TYPES: Record<number, ObjectType> = { 1: 'commit', 2: 'tree', 3: 'blob', 4: 'tag' };
const OFS_DELTA = 6;
const REF_DELTA = 7;

export interface GitObject {
  type: ObjectType;
  data: Buffer;
}

interface Pack {
  bytes: Buffer;
  /** Entry offsets in ascending order (an entry ends where the next begins). */
  sorted: number[];
}

/** A pack entry's header: its kind, inflated size, delta base, and where its zlib data begins. */
interface EntryHead {
  kind: number;
  size: number;
  baseOffset?: number;
  baseOid?: string;
  data: number;
}

/** Parses the entry header at `offset` of a pack. */
export function entryHead(bytes: Buffer, offset: number): EntryHead {
  let i = offset;
  let c = bytes[i++]!;
  const kind = (c >> 4) & 7;
  let size = c & 15;
  let shift = 16;
  while (c & 0x80) {
    c = bytes[i++]!;
    size += (c & 0x7f) * shift;
    shift *= 128;
  }
  if (kind === OFS_DELTA) {
    c = bytes[i++]!;
    let back = c & 0x7f;
    while (c & 0x80) {
      c = bytes[i++]!;
      back = (back + 1) * 128 + (c & 0x7f);
    }
    if (back > offset) throw new RepoFailure(`pack entry at ${offset}: its delta base is before the pack`);
    return { kind, size, baseOffset: offset - back, data: i };
  }
  if (kind === REF_DELTA) return { kind, size, baseOid: bytes.toString('hex', i, i + 20), data: i + 20 };
  if (!TYPES[kind]) throw new RepoFailure(`pack entry at ${offset}: unknown type ${kind}`);
  return { kind, size, data: i };
}

/** Resolved objects kept as delta bases, up to this many bytes (oldest out first). */
const CACHE_BYTES = 64 * 1024 * 1024;

/**
 * Objects of packs by offset, delta bases resolved and kept while there is
 * room (later entries are deltas against earlier ones: a base is read again
 * for each of its deltas).
 */
export class PackObjects {
  private cache = new Map<string, GitObject>();
  private cached = 0;

  constructor(
    private packs: Pack[],
    /** A REF_DELTA's base: its pack and offset. */
    private byOid: (oid: string) => [number, number] | undefined,
  ) {}

  at(p: number, offset: number, depth = 0): GitObject {
    const key = `${p}:${offset}`;
    const hit = this.cache.get(key);
    if (hit) return hit;
    if (depth > 10_000) throw new RepoFailure('a delta chain in the pack is too deep');
    const { bytes, sorted } = this.packs[p]!;
    const h = entryHead(bytes, offset);
    let base: GitObject | undefined;
    if (h.baseOffset !== undefined) base = this.at(p, h.baseOffset, depth + 1);
    else if (h.baseOid !== undefined) {
      const w = this.byOid(h.baseOid);
      if (!w) throw new RepoFailure(`pack entry at ${offset}: its delta base ${h.baseOid} is not in the repository`);
      base = this.at(w[0], w[1], depth + 1);
    }
    const end = nextOffset(sorted, offset) ?? bytes.length - 20;
    const raw = zlib.inflateSync(bytes.subarray(h.data, end));
    if (raw.length !== h.size) throw new RepoFailure(`pack entry at ${offset}: ${raw.length} bytes inflated, ${h.size} announced`);
    const obj: GitObject = base ? { type: base.type, data: applyDelta(raw, base.data) } : { type: TYPES[h.kind]!, data: raw };
    this.keep(p, offset, obj);
    return obj;
  }

  /** Keeps the object at `offset` as a delta base while there is room (the oldest go first). */
  keep(p: number, offset: number, obj: GitObject): void {
    this.cache.set(`${p}:${offset}`, obj);
    this.cached += obj.data.length;
    for (const [k, v] of this.cache) {
      if (this.cached <= CACHE_BYTES) break;
      this.cache.delete(k);
      this.cached -= v.data.length;
    }
  }
}

/** The packs of a repository (`.git/objects/pack/*.pack` with their v2 indexes), read whole. */
export class PackSet {
  private where = new Map<string, [number, number]>();
  private objects: PackObjects;

  constructor(gitDir: string) {
    const dir = join(gitDir, 'objects/pack');
    const packs: Pack[] = [];
    for (const f of readdirSync(dir).filter((n) => n.endsWith('.idx')).sort()) {
      const offsets = parseIdx(readFileSync(join(dir, f)), f);
      for (const [oid, off] of offsets) this.where.set(oid, [packs.length, off]);
      packs.push({ bytes: readFileSync(join(dir, f.replace(/\.idx$/, '.pack'))), sorted: [...offsets.values()].sort((a, b) => a - b) });
    }
    this.objects = new PackObjects(packs, (oid) => this.where.get(oid));
  }

  read(oid: string): GitObject {
    const at = this.where.get(oid);
    if (!at) throw new RepoFailure(`object ${oid} is not in the repository's packs`);
    return this.objects.at(at[0], at[1]);
  }
}

function nextOffset(sorted: number[], offset: number): number | undefined {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid]! <= offset) lo = mid + 1;
    else hi = mid;
  }
  return sorted[lo];
}

/** The object ids a v2 pack index lists, in its order. */
export function packIndexOids(idxPath: string): string[] {
  return [...parseIdx(readFileSync(idxPath), idxPath).keys()];
}

/** A v2 pack index: object id → offset in its pack. */
function parseIdx(b: Buffer, name: string): Map<string, number> {
  if (b.length < 8 + 256 * 4 || b.readUInt32BE(0) !== 0xff744f63 || b.readUInt32BE(4) !== 2) throw new RepoFailure(`${name}: not a v2 pack index`);
  const n = b.readUInt32BE(8 + 255 * 4);
  const ids = 8 + 256 * 4;
  const offs = ids + n * 20 + n * 4;
  const large = offs + n * 4;
  const out = new Map<string, number>();
  for (let k = 0; k < n; k++) {
    const o = b.readUInt32BE(offs + k * 4);
    const off = o & 0x80000000 ? Number(b.readBigUInt64BE(large + (o & 0x7fffffff) * 8)) : o;
    out.set(b.toString('hex', ids + k * 20, ids + (k + 1) * 20), off);
  }
  return out;
}

/** git's delta format: the source size, the target size, then copy (from the base) and insert ops. */
export function applyDelta(delta: Buffer, base: Buffer): Buffer {
  let i = 0;
  const varint = () => {
    let r = 0;
    let s = 1;
    let c: number;
    do {
      c = delta[i++]!;
      r += (c & 0x7f) * s;
      s *= 128;
    } while (c & 0x80);
    return r;
  };
  const bad = (why: string) => new RepoFailure(`a delta in the pack is malformed (${why})`);
  if (varint() !== base.length) throw bad('its base has another size');
  const size = varint();
  const out = Buffer.allocUnsafe(size);
  let o = 0;
  while (i < delta.length) {
    const op = delta[i++]!;
    if (op & 0x80) {
      let off = 0;
      let n = 0;
      if (op & 0x01) off += delta[i++]!;
      if (op & 0x02) off += delta[i++]! * 0x100;
      if (op & 0x04) off += delta[i++]! * 0x10000;
      if (op & 0x08) off += delta[i++]! * 0x1000000;
      if (op & 0x10) n += delta[i++]!;
      if (op & 0x20) n += delta[i++]! * 0x100;
      if (op & 0x40) n += delta[i++]! * 0x10000;
      if (n === 0) n = 0x10000;
      if (off + n > base.length || o + n > size) throw bad('a copy out of bounds');
      base.copy(out, o, off, off + n);
      o += n;
    } else if (op !== 0) {
      if (i + op > delta.length || o + op > size) throw bad('an insert out of bounds');
      delta.copy(out, o, i, i + op);
      i += op;
      o += op;
    } else throw bad('opcode 0');
  }
  if (o !== size) throw bad('its result has another size');
  return out;
}

/**
 * Writes the v2 index of the self-contained pack `packPath` beside it
 * (`NAME.idx`), as `git index-pack` does. Returns the number of objects.
 */
export function indexPack(packPath: string): number {
  const bytes = readFileSync(packPath);
  const trailer = bytes.length - 20;
  if (bytes.length < 32 || bytes.toString('latin1', 0, 4) !== 'PACK' || ![2, 3].includes(bytes.readUInt32BE(4))) throw new RepoFailure('the bundle does not carry a version 2 or 3 packfile');
  if (!createHash('sha1').update(bytes.subarray(0, trailer)).digest().equals(bytes.subarray(trailer))) throw new RepoFailure("the packfile's checksum does not match its bytes");
  const n = bytes.readUInt32BE(8);
  // Where each entry ends (zlib says how much input it took), its CRC-32; the id of a whole object
  // at once, and the object kept as a delta base (the deltas below do not inflate it again).
  const offsets: number[] = [];
  const crcs: number[] = [];
  const oids: (string | undefined)[] = [];
  /** A delta against an object named by id: entry → that id. */
  const refBase = new Map<number, string>();
  const byOid = new Map<string, number>();
  // Read only once `offsets` is whole (after this first pass).
  const objects = new PackObjects([{ bytes, sorted: offsets }], (oid) => {
    const off = byOid.get(oid);
    return off === undefined ? undefined : [0, off];
  });
  let pos = 12;
  for (let k = 0; k < n; k++) {
    if (pos >= trailer) throw new RepoFailure(`the packfile ends after ${k} of its ${n} objects`);
    const h = entryHead(bytes, pos);
    let out: { buffer: Buffer; engine: { bytesWritten: number } };
    try {
      out = zlib.inflateSync(bytes.subarray(h.data, trailer), { info: true }) as unknown as typeof out;
    } catch (e) {
      throw new RepoFailure(`pack entry at ${pos}: ${(e as Error).message}`);
    }
    if (out.buffer.length !== h.size) throw new RepoFailure(`pack entry at ${pos}: ${out.buffer.length} bytes inflated, ${h.size} announced`);
    const end = h.data + out.engine.bytesWritten;
    offsets.push(pos);
    crcs.push(crc32(bytes.subarray(pos, end)));
    const type = TYPES[h.kind];
    if (type) {
      oids.push(objectId(type, out.buffer));
      byOid.set(oids[k]!, pos);
      objects.keep(0, pos, { type, data: out.buffer });
    } else oids.push(undefined);
    if (h.baseOid !== undefined) refBase.set(k, h.baseOid);
    pos = end;
  }
  if (pos !== trailer) throw new RepoFailure('the packfile has bytes after its last object');
  // Deltas: against an earlier entry (by offset), or against an object named by id (in this pack).
  const resolve = (k: number) => {
    const o = objects.at(0, offsets[k]!);
    oids[k] = objectId(o.type, o.data);
    byOid.set(oids[k]!, offsets[k]!);
  };
  for (let k = 0; k < n; k++) if (oids[k] === undefined && !refBase.has(k)) resolve(k);
  for (let left = [...refBase.keys()]; left.length; ) {
    const next = left.filter((k) => {
      if (!byOid.has(refBase.get(k)!)) return true;
      resolve(k);
      return false;
    });
    if (next.length === left.length) throw new RepoFailure(`${next.length} deltas of the packfile have their base outside it (a thin pack)`);
    left = next;
  }
  writeFileSync(packPath.replace(/\.pack$/, '.idx'), idxV2(oids as string[], crcs, offsets, bytes.subarray(trailer)));
  return n;
}

const CRC_TABLE = Uint32Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

/** CRC-32 as zlib computes it, in JS: the .deb's Node 18 has no zlib.crc32 (Node 20.15 has). */
export function crc32Js(b: Buffer): number {
  let c = 0xffffffff;
  for (let i = 0; i < b.length; i++) c = CRC_TABLE[(c ^ b[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

const crc32: (b: Buffer) => number = (zlib as { crc32?: (b: Buffer) => number }).crc32 ?? crc32Js;

function objectId(type: ObjectType, data: Buffer): string {
  return createHash('sha1').update(`${type} ${data.length}\0`).update(data).digest('hex');
}

/** A pack index, version 2: fan-out, sorted ids, their CRC-32s and offsets (64-bit ones apart), the pack's checksum, its own. */
function idxV2(oids: string[], crcs: number[], offsets: number[], packSum: Buffer): Buffer {
  const n = oids.length;
  const order = [...oids.keys()].sort((a, b) => (oids[a]! < oids[b]! ? -1 : oids[a]! > oids[b]! ? 1 : 0));
  const large = order.filter((k) => offsets[k]! >= 0x80000000);
  const largeIndex = new Map(large.map((k, i) => [k, i]));
  const b = Buffer.alloc(8 + 256 * 4 + n * 28 + large.length * 8 + 40);
  b.writeUInt32BE(0xff744f63, 0);
  b.writeUInt32BE(2, 4);
  const fan = new Array<number>(256).fill(0);
  for (const o of oids) fan[parseInt(o.slice(0, 2), 16)]!++;
  for (let i = 0, sum = 0; i < 256; i++) b.writeUInt32BE((sum += fan[i]!), 8 + i * 4);
  const ids = 8 + 256 * 4;
  const crcAt = ids + n * 20;
  const offAt = crcAt + n * 4;
  const largeAt = offAt + n * 4;
  order.forEach((k, i) => {
    b.write(oids[k]!, ids + i * 20, 'hex');
    b.writeUInt32BE(crcs[k]!, crcAt + i * 4);
    const li = largeIndex.get(k);
    if (li === undefined) b.writeUInt32BE(offsets[k]!, offAt + i * 4);
    else {
      b.writeUInt32BE((0x80000000 | li) >>> 0, offAt + i * 4);
      b.writeBigUInt64BE(BigInt(offsets[k]!), largeAt + li * 8);
    }
  });
  const sumAt = largeAt + large.length * 8;
  packSum.copy(b, sumAt);
  createHash('sha1').update(b.subarray(0, sumAt + 20)).digest().copy(b, sumAt + 20);
  return b;
}
