/**
 * A commit checked out into a fresh repository's empty working tree, and its
 * index written — what `git checkout` does after a clone, for the repos
 * restore (repo-from-pack.ts, in its worker thread).
 *
 * Why not isomorphic-git's checkout: it reads every object through its pack
 * reader in JS (pako's inflate, a Buffer slice per delta op, a microtask per
 * object) — 5.2 s for a 3,000-file repository that `git clone` checks out
 * in 0.4 s — and that CPU was taken from apt, beside which the fetch-ahead
 * builds repositories (bench/README.md, install-restore). Here the packs
 * are read with node's zlib, delta bases are kept while they are reused,
 * and files are written with plain synchronous calls (this runs in a worker).
 *
 *   PackSet     the repository's packs and their v2 .idx (as indexPack wrote them): object by id
 *   checkoutFresh(dir, commit)  the commit's tree into dir (files with their exec bit, symlinks,
 *               submodules as empty folders), then `.git/index` (version 2, every entry with
 *               the stat of the file just written) — git sees a clean tree
 *
 * A tree entry whose name could leave its folder or write into `.git`
 * ('', '.', '..', '.git' in any case, a NUL) fails the repository
 * (RepoFailure); nothing is written outside `dir`.
 */
import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { RepoFailure } from './repo-failure.ts';

type ObjectType = 'commit' | 'tree' | 'blob' | 'tag';
const TYPES: Record<number, ObjectType> = { 1: 'commit', 2: 'tree', 3: 'blob', 4: 'tag' };
const OFS_DELTA = 6;
const REF_DELTA = 7;

interface GitObject {
  type: ObjectType;
  data: Buffer;
}

interface Pack {
  bytes: Buffer;
  /** Entry offsets in ascending order (an entry ends where the next begins). */
  sorted: number[];
}

/** Resolved objects kept as delta bases, up to this many bytes (oldest out first). */
const CACHE_BYTES = 64 * 1024 * 1024;

/** The packs of a repository (`.git/objects/pack/*.pack` with their v2 indexes), read whole. */
export class PackSet {
  private packs: Pack[] = [];
  private where = new Map<string, [number, number]>();
  private cache = new Map<string, GitObject>();
  private cached = 0;

  constructor(gitDir: string) {
    const dir = join(gitDir, 'objects/pack');
    for (const f of readdirSync(dir).filter((n) => n.endsWith('.idx')).sort()) {
      const idx = readFileSync(join(dir, f));
      const bytes = readFileSync(join(dir, f.replace(/\.idx$/, '.pack')));
      const p = this.packs.length;
      const offsets = parseIdx(idx, f);
      for (const [oid, off] of offsets) this.where.set(oid, [p, off]);
      this.packs.push({ bytes, sorted: [...offsets.values()].sort((a, b) => a - b) });
    }
  }

  read(oid: string): GitObject {
    const at = this.where.get(oid);
    if (!at) throw new RepoFailure(`object ${oid} is not in the repository's packs`);
    return this.readAt(at[0], at[1], 0);
  }

  private readAt(p: number, offset: number, depth: number): GitObject {
    const key = `${p}:${offset}`;
    const hit = this.cache.get(key);
    if (hit) return hit;
    if (depth > 10_000) throw new RepoFailure('a delta chain in the pack is too deep');
    const { bytes, sorted } = this.packs[p]!;
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
    let base: GitObject | undefined;
    if (kind === OFS_DELTA) {
      c = bytes[i++]!;
      let back = c & 0x7f;
      while (c & 0x80) {
        c = bytes[i++]!;
        back = (back + 1) * 128 + (c & 0x7f);
      }
      base = this.readAt(p, offset - back, depth + 1);
    } else if (kind === REF_DELTA) {
      base = this.read(bytes.subarray(i, i + 20).toString('hex'));
      i += 20;
    } else if (!TYPES[kind]) throw new RepoFailure(`pack entry at ${offset}: unknown type ${kind}`);
    const end = nextOffset(sorted, offset) ?? bytes.length - 20;
    const raw = inflateSync(bytes.subarray(i, end));
    if (raw.length !== size) throw new RepoFailure(`pack entry at ${offset}: ${raw.length} bytes inflated, ${size} announced`);
    const obj: GitObject = base ? { type: base.type, data: applyDelta(raw, base.data) } : { type: TYPES[kind]!, data: raw };
    // Kept while there is room: later entries are deltas against earlier ones (a base is
    // read again for each of its deltas); the oldest go first.
    this.cache.set(key, obj);
    this.cached += obj.data.length;
    for (const [k, v] of this.cache) {
      if (this.cached <= CACHE_BYTES) break;
      this.cache.delete(k);
      this.cached -= v.data.length;
    }
    return obj;
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

/** A name a tree entry may have here: not one that leaves its folder or writes into .git. */
export const SAFE_COMPONENT = (c: string) => c !== '' && c !== '.' && c !== '..' && c.toLowerCase() !== '.git' && !c.includes('\0') && !c.includes('/');

interface IndexEntry {
  path: Buffer;
  mode: number;
  oid: Buffer;
}

/**
 * Checks out `commitOid` into `dir`, whose working tree is empty (a fresh
 * `git init` with the packs in place), and writes its index. Returns the
 * number of files and links written.
 */
export function checkoutFresh(dir: string, commitOid: string): number {
  const packs = new PackSet(join(dir, '.git'));
  const commit = packs.read(commitOid);
  if (commit.type !== 'commit') throw new RepoFailure(`${commitOid} is a ${commit.type}, not a commit`);
  const treeLine = /^tree ([0-9a-f]{40})\n/.exec(commit.data.toString('latin1', 0, 46));
  if (!treeLine) throw new RepoFailure(`commit ${commitOid} names no tree`);
  const entries: IndexEntry[] = [];
  const root = Buffer.from(dir);
  const walk = (treeOid: string, rel: Buffer) => {
    const tree = packs.read(treeOid);
    if (tree.type !== 'tree') throw new RepoFailure(`${treeOid} is a ${tree.type}, not a tree`);
    const d = tree.data;
    let i = 0;
    while (i < d.length) {
      const sp = d.indexOf(0x20, i);
      const nul = d.indexOf(0, sp);
      if (sp < 0 || nul < 0 || nul + 21 > d.length) throw new RepoFailure(`tree ${treeOid} is malformed`);
      const mode = parseInt(d.toString('latin1', i, sp), 8);
      const name = d.subarray(sp + 1, nul);
      const oid = d.subarray(nul + 1, nul + 21);
      i = nul + 21;
      const relPath = rel.length ? Buffer.concat([rel, Buffer.from('/'), name]) : Buffer.from(name);
      if (!SAFE_COMPONENT(name.toString('latin1'))) throw new RepoFailure(`the tree names ${JSON.stringify(relPath.toString())}: not a name a checkout may write`);
      const path = Buffer.concat([root, Buffer.from('/'), relPath]);
      const hex = oid.toString('hex');
      if (mode === 0o40000) {
        mkdirSync(path);
        walk(hex, relPath);
      } else if (mode === 0o160000) {
        // A submodule: an empty folder, as git leaves it until `git submodule update`.
        mkdirSync(path);
        entries.push({ path: relPath, mode, oid });
      } else if (mode === 0o120000) {
        symlinkSync(blobOf(packs, hex), path);
        entries.push({ path: relPath, mode, oid });
      } else if ((mode & 0o170000) === 0o100000) {
        const exec = (mode & 0o111) !== 0;
        writeFileSync(path, blobOf(packs, hex), { mode: exec ? 0o777 : 0o666 });
        entries.push({ path: relPath, mode: exec ? 0o100755 : 0o100644, oid });
      } else throw new RepoFailure(`the tree names ${JSON.stringify(relPath.toString())} with mode ${mode.toString(8)}`);
    }
  };
  walk(treeLine[1]!, Buffer.alloc(0));
  writeIndex(join(dir, '.git/index'), root, entries);
  return entries.filter((e) => e.mode !== 0o160000).length;
}

function blobOf(packs: PackSet, oid: string): Buffer {
  const o = packs.read(oid);
  if (o.type !== 'blob') throw new RepoFailure(`${oid} is a ${o.type}, not a blob`);
  return o.data;
}

/** `.git/index` version 2: the entries sorted by path, each with the stat of what was written. */
function writeIndex(file: string, root: Buffer, entries: IndexEntry[]): void {
  entries.sort((a, b) => Buffer.compare(a.path, b.path));
  const parts: Buffer[] = [];
  const head = Buffer.alloc(12);
  head.write('DIRC', 0, 'latin1');
  head.writeUInt32BE(2, 4);
  head.writeUInt32BE(entries.length, 8);
  parts.push(head);
  const u32 = (x: bigint | number) => Number(BigInt.asUintN(32, BigInt(x)));
  for (const e of entries) {
    const st = lstatSync(Buffer.concat([root, Buffer.from('/'), e.path]), { bigint: true });
    const len = (62 + e.path.length + 8) & ~7;
    const b = Buffer.alloc(len);
    const fields = [st.ctimeNs / 1_000_000_000n, st.ctimeNs % 1_000_000_000n, st.mtimeNs / 1_000_000_000n, st.mtimeNs % 1_000_000_000n, st.dev, st.ino, e.mode, st.uid, st.gid, e.mode === 0o160000 ? 0 : st.size];
    fields.forEach((v, k) => b.writeUInt32BE(u32(v), k * 4));
    e.oid.copy(b, 40);
    b.writeUInt16BE(Math.min(e.path.length, 0xfff), 60);
    e.path.copy(b, 62);
    parts.push(b);
  }
  const body = Buffer.concat(parts);
  writeFileSync(file, Buffer.concat([body, createHash('sha1').update(body).digest()]));
}
