/**
 * A directory's tree object: the entries of one folder, sorted by the bytes
 * of their names, stored as a chunk of type "tree" (chunk-crypto.ts) — so a
 * folder whose entries did not change gives the same object, the same id,
 * and costs nothing to store again (as restic's trees).
 *
 * JSON, UTF-8, written with this exact key order (another writer's objects
 * are read the same; only dedup needs the same bytes):
 *
 *   {"v":2,"entries":[ENTRY…],"packs":[PACK_HEX…],"next":[ID,KEY]?}
 *   ENTRY  {"name":S | "name_b64":B, "type":"dir"|"file"|"symlink", "mode":N, "mtime_ns":"…",
 *           dir:     "tree":[ID,KEY]
 *           file:    "size":N, "ino":"…", "chunks":[[ID,KEY,RAW,PACK,OFFSET,LENGTH]…]
 *                    or "link":S | "link_b64":B   (a hard link to the earlier file at that path in the folder)
 *           symlink: "target":S | "target_b64":B}
 *
 * Names, link paths and symlink targets are bytes: a JSON string when they
 * are valid UTF-8, else base64 under the `_b64` key. ID and KEY are 64 hex;
 * PACK indexes `packs` (sorted, unique); OFFSET/LENGTH locate the sealed
 * chunk in that pack, RAW is its plaintext length. A file's chunks, in
 * order, are its bytes. `mode` is the permission bits (≤ 0o7777, setuid and
 * setgid cleared at capture). A folder of more than MAX_ENTRIES entries
 * continues in the object `next` names.
 *
 * Decoding refuses anything out of shape (CodedError 'tree_format').
 */
import { CodedError } from '../util/coded-error.ts';

export const MAX_ENTRIES = 10_000;

export interface ObjectRef {
  id: Buffer;
  key: Buffer;
}

export interface ChunkRef extends ObjectRef {
  raw: number;
  pack: string;
  offset: number;
  length: number;
}

interface NodeBase {
  name: Buffer;
  mode: number;
  mtimeNs: bigint;
}
export interface DirNode extends NodeBase {
  type: 'dir';
  tree: ObjectRef;
}
export interface FileNode extends NodeBase {
  type: 'file';
  size: number;
  ino: string;
  chunks: ChunkRef[];
  /** A hard link to the earlier file at this path of the folder (then no chunks). */
  link?: Buffer;
}
export interface SymlinkNode extends NodeBase {
  type: 'symlink';
  target: Buffer;
}
export type TreeNode = DirNode | FileNode | SymlinkNode;

export interface TreeObject {
  entries: TreeNode[];
  next?: ObjectRef;
}

const hex = (b: Buffer) => b.toString('hex');
const isUtf8 = (b: Buffer) => Buffer.from(b.toString('utf8'), 'utf8').equals(b);

function bytesField(out: Record<string, unknown>, key: string, b: Buffer): void {
  if (isUtf8(b)) out[key] = b.toString('utf8');
  else out[`${key}_b64`] = b.toString('base64');
}

export const compareBytes = (a: Buffer, b: Buffer) => Buffer.compare(a, b);

/** The packs a list of nodes references, sorted. */
export function packsOf(entries: readonly TreeNode[]): string[] {
  const s = new Set<string>();
  for (const e of entries) if (e.type === 'file') for (const c of e.chunks) s.add(c.pack);
  return [...s].sort();
}

const sameChunk = (a: ChunkRef, b: ChunkRef) => a.raw === b.raw && a.offset === b.offset && a.length === b.length && a.pack === b.pack && a.id.equals(b.id) && a.key.equals(b.key);

/** Whether two nodes encode to the same entry (a capture's "this directory is as in the parent"). */
export function sameNode(a: TreeNode, b: TreeNode): boolean {
  if (a.type !== b.type || a.mode !== b.mode || a.mtimeNs !== b.mtimeNs || !a.name.equals(b.name)) return false;
  if (a.type === 'dir') return a.tree.id.equals((b as DirNode).tree.id) && a.tree.key.equals((b as DirNode).tree.key);
  if (a.type === 'symlink') return a.target.equals((b as SymlinkNode).target);
  const f = b as FileNode;
  if (a.size !== f.size || a.ino !== f.ino) return false;
  if (a.link || f.link) return Boolean(a.link && f.link && a.link.equals(f.link));
  return a.chunks === f.chunks || (a.chunks.length === f.chunks.length && a.chunks.every((c, i) => sameChunk(c, f.chunks[i]!)));
}

export function encodeTreeObject(t: TreeObject): Buffer {
  const packs = packsOf(t.entries);
  const index = new Map(packs.map((p, i) => [p, i]));
  const entries = t.entries.map((e) => {
    const o: Record<string, unknown> = {};
    bytesField(o, 'name', e.name);
    o.type = e.type;
    o.mode = e.mode;
    o.mtime_ns = e.mtimeNs.toString();
    if (e.type === 'dir') o.tree = [hex(e.tree.id), hex(e.tree.key)];
    else if (e.type === 'symlink') bytesField(o, 'target', e.target);
    else {
      o.size = e.size;
      o.ino = e.ino;
      if (e.link) bytesField(o, 'link', e.link);
      else o.chunks = e.chunks.map((c) => [hex(c.id), hex(c.key), c.raw, index.get(c.pack)!, c.offset, c.length]);
    }
    return o;
  });
  const obj: Record<string, unknown> = { v: 2, entries, packs };
  if (t.next) obj.next = [hex(t.next.id), hex(t.next.key)];
  return Buffer.from(JSON.stringify(obj), 'utf8');
}

// ── decoding ────────────────────────────────────────────────────────────────

const HEX64 = /^[0-9a-f]{64}$/;
const DIGITS = /^(0|[1-9][0-9]{0,19})$/;
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

class Reader {
  constructor(private where: string) {}
  fail(why: string): never {
    throw new CodedError('tree_format', `${this.where}: ${why}`);
  }
  obj(v: unknown, what: string): Record<string, unknown> {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) this.fail(`${what} is not an object`);
    return v as Record<string, unknown>;
  }
  hex32(v: unknown, what: string): Buffer {
    if (typeof v !== 'string' || !HEX64.test(v)) this.fail(`${what} is not 64 hex digits`);
    return Buffer.from(v as string, 'hex');
  }
  ref(v: unknown, what: string): ObjectRef {
    if (!Array.isArray(v) || v.length !== 2) this.fail(`${what} is not [id, key]`);
    return { id: this.hex32(v[0], `${what} id`), key: this.hex32(v[1], `${what} key`) };
  }
  bytes(o: Record<string, unknown>, key: string, what: string): Buffer | undefined {
    const s = o[key];
    const b = o[`${key}_b64`];
    if (s !== undefined && b !== undefined) this.fail(`${what} has both ${key} and ${key}_b64`);
    if (typeof s === 'string') return Buffer.from(s, 'utf8');
    if (typeof b === 'string') {
      const buf = Buffer.from(b, 'base64');
      if (buf.toString('base64') !== b) this.fail(`${what} ${key}_b64 is not canonical base64`);
      return buf;
    }
    if (s !== undefined || b !== undefined) this.fail(`${what} ${key} is not a string`);
    return undefined;
  }
}

/** A name of one path component: not empty, no `/`, no NUL, not `.` or `..`. */
export function badName(name: Buffer): string | undefined {
  if (name.length === 0) return 'an empty name';
  if (name.length > 255) return 'a name over 255 bytes';
  if (name.includes(0x2f)) return 'a name with "/"';
  if (name.includes(0)) return 'a name with NUL';
  if (name.length <= 2 && name.every((c) => c === 0x2e)) return `the name "${name.toString()}"`;
  return undefined;
}

/** A relative path inside a folder (hard link targets): components checked as names. */
export function badRelPath(p: Buffer): string | undefined {
  if (p.length === 0 || p.length > 4096) return 'a bad path length';
  let start = 0;
  for (let i = 0; i <= p.length; i++) {
    if (i === p.length || p[i] === 0x2f) {
      const why = badName(p.subarray(start, i));
      if (why) return why;
      start = i + 1;
    }
  }
  return undefined;
}

export function decodeTreeObject(bytes: Buffer, where: string): TreeObject {
  const r = new Reader(where);
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (e) {
    r.fail(`not JSON (${(e as Error).message})`);
  }
  const o = r.obj(json, 'the tree object');
  if (o.v !== 2) r.fail(`version ${String(o.v)} (expected 2)`);
  if (!Array.isArray(o.packs)) r.fail('packs is not an array');
  const packs = (o.packs as unknown[]).map((p, i) => {
    if (typeof p !== 'string' || !HEX64.test(p)) r.fail(`packs[${i}] is not 64 hex digits`);
    return p as string;
  });
  if (!Array.isArray(o.entries)) r.fail('entries is not an array');
  const raw = o.entries as unknown[];
  if (raw.length > MAX_ENTRIES) r.fail(`${raw.length} entries (at most ${MAX_ENTRIES} per object)`);
  const entries: TreeNode[] = [];
  let prev: Buffer | undefined;
  for (let i = 0; i < raw.length; i++) {
    const what = `entries[${i}]`;
    const e = r.obj(raw[i], what);
    const name = r.bytes(e, 'name', what) ?? r.fail(`${what} has no name`);
    const bad = badName(name);
    if (bad) r.fail(`${what} has ${bad}`);
    if (prev && Buffer.compare(prev, name) >= 0) r.fail(`${what} is out of order or repeated`);
    prev = name;
    if (!isCount(e.mode) || e.mode > 0o7777) r.fail(`${what} mode is not a permission mode`);
    if (typeof e.mtime_ns !== 'string' || !/^-?(0|[1-9][0-9]{0,20})$/.test(e.mtime_ns)) r.fail(`${what} mtime_ns is not an integer string`);
    const base = { name, mode: e.mode as number, mtimeNs: BigInt(e.mtime_ns as string) };
    if (e.type === 'dir') {
      entries.push({ ...base, type: 'dir', tree: r.ref(e.tree, `${what} tree`) });
    } else if (e.type === 'symlink') {
      const target = r.bytes(e, 'target', what) ?? r.fail(`${what} has no target`);
      if (target.length === 0 || target.length > 4096 || target.includes(0)) r.fail(`${what} target is empty, too long or has NUL`);
      entries.push({ ...base, type: 'symlink', target });
    } else if (e.type === 'file') {
      if (!isCount(e.size)) r.fail(`${what} size is not a count`);
      if (typeof e.ino !== 'string' || !DIGITS.test(e.ino)) r.fail(`${what} ino is not a decimal string`);
      const link = r.bytes(e, 'link', what);
      if (link) {
        const why = badRelPath(link);
        if (why) r.fail(`${what} link has ${why}`);
        if (e.chunks !== undefined) r.fail(`${what} is a link and has chunks`);
        entries.push({ ...base, type: 'file', size: e.size as number, ino: e.ino as string, chunks: [], link });
        continue;
      }
      if (!Array.isArray(e.chunks)) r.fail(`${what} chunks is not an array`);
      let total = 0;
      const chunks = (e.chunks as unknown[]).map((c, j) => {
        const cw = `${what} chunks[${j}]`;
        if (!Array.isArray(c) || c.length !== 6) r.fail(`${cw} is not [id, key, raw, pack, offset, length]`);
        const [id, key, rawLen, pack, offset, length] = c as unknown[];
        if (!isCount(rawLen) || !isCount(pack) || !isCount(offset) || !isCount(length)) r.fail(`${cw} has a bad number`);
        if ((pack as number) >= packs.length) r.fail(`${cw} names pack ${pack as number} of ${packs.length}`);
        total += rawLen as number;
        return { id: r.hex32(id, `${cw} id`), key: r.hex32(key, `${cw} key`), raw: rawLen as number, pack: packs[pack as number]!, offset: offset as number, length: length as number };
      });
      if (total !== e.size) r.fail(`${what} chunks hold ${total} bytes, size says ${e.size as number}`);
      entries.push({ ...base, type: 'file', size: e.size as number, ino: e.ino as string, chunks });
    } else r.fail(`${what} type is ${JSON.stringify(e.type)}`);
  }
  const t: TreeObject = { entries };
  if (o.next !== undefined) t.next = r.ref(o.next, 'next');
  return t;
}
