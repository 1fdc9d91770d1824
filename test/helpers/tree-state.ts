/**
 * "Nothing was written" checks on a target root: every entry's type, mode,
 * owner, inode, size, mtime and ctime in nanoseconds (a rewrite with the same
 * content still moves them; an atomic rewrite also changes the inode).
 */
import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';

export interface StatEntry {
  type: 'dir' | 'file' | 'symlink' | 'other';
  mode: number;
  uid: number;
  gid: number;
  ino: bigint;
  size: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
  link?: string;
}

/** Every path below `dir` (relative, '' for `dir` itself) with its metadata. */
export function statTree(dir: string, opts: { skip?: (rel: string) => boolean } = {}): Map<string, StatEntry> {
  const out = new Map<string, StatEntry>();
  const walk = (rel: string) => {
    const p = rel ? join(dir, rel) : dir;
    const st = lstatSync(p, { bigint: true });
    const e: StatEntry = {
      type: st.isDirectory() ? 'dir' : st.isFile() ? 'file' : st.isSymbolicLink() ? 'symlink' : 'other',
      mode: Number(st.mode & 0o7777n),
      uid: Number(st.uid),
      gid: Number(st.gid),
      ino: st.ino,
      size: st.isDirectory() ? 0n : st.size,
      mtimeNs: st.mtimeNs,
      ctimeNs: st.ctimeNs,
    };
    if (e.type === 'symlink') e.link = readlinkSync(p);
    out.set(rel, e);
    if (e.type === 'dir') {
      for (const name of readdirSync(p).sort()) {
        const r = rel ? `${rel}/${name}` : name;
        if (!opts.skip?.(r)) walk(r);
      }
    }
  };
  walk('');
  return out;
}

const under = (rel: string, root: string) => rel === root || rel.startsWith(`${root}/`);
const isAncestor = (rel: string, of: string) => rel === '' || of.startsWith(`${rel}/`);

/**
 * The entries that differ between two statTree results, as readable lines.
 * Paths under `written` are expected to change and are left out; a directory
 * on the way to one of them may differ in its mtime and ctime only (an entry
 * appeared in it, or a staging folder came and went).
 */
export function changedEntries(before: Map<string, StatEntry>, after: Map<string, StatEntry>, o: { written: string[] }): string[] {
  const out: string[] = [];
  const show = (e: StatEntry | undefined) => (e ? JSON.stringify(e, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)) : 'absent');
  for (const rel of new Set([...before.keys(), ...after.keys()])) {
    if (o.written.some((w) => under(rel, w))) continue;
    const a = before.get(rel);
    const b = after.get(rel);
    const onTheWay = a?.type === 'dir' && b?.type === 'dir' && o.written.some((w) => isAncestor(rel, w));
    const strip = (e: StatEntry | undefined) => (e && onTheWay ? { ...e, mtimeNs: 0n, ctimeNs: 0n } : e);
    if (show(strip(a)) !== show(strip(b))) out.push(`/${rel}: ${show(a)} → ${show(b)}`);
  }
  return out.sort();
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** Every entry below `dir`: type, mode, and content hash or link target (what a restore must bring back byte-identical). */
export function contentTree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string) => {
    for (const name of readdirSync(join(dir, rel)).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      const p = join(dir, r);
      const st = lstatSync(p);
      const mode = (st.mode & 0o7777).toString(8);
      if (st.isDirectory()) {
        out[r] = `dir ${mode}`;
        walk(r);
      } else if (st.isSymbolicLink()) out[r] = `link ${readlinkSync(p)}`;
      else out[r] = `file ${mode} ${sha256(readFileSync(p))}`;
    }
  };
  walk('');
  return out;
}

/**
 * The trees at `paths` (inside `root`) as lines: type, mode, owner, inode,
 * mtime, and size + content hash or link target; "missing" for an absent one.
 * Equal before and after = nothing there was written.
 */
export async function pathsState(root: string, paths: string[]): Promise<string[]> {
  const out: string[] = [];
  const one = async (p: string, r: string) => {
    const st = await lstat(p).catch(() => undefined);
    if (!st) return void out.push(`${r} missing`);
    const head = `${r} ${st.mode.toString(8)} ${st.uid}:${st.gid} ino=${st.ino} mtime=${st.mtimeMs}`;
    if (st.isSymbolicLink()) out.push(`${head} -> ${await readlink(p)}`);
    else if (st.isDirectory()) {
      out.push(`${head} dir`);
      for (const n of (await readdir(p)).sort()) await one(join(p, n), `${r}/${n}`);
    } else out.push(`${head} ${st.size} ${sha256(await readFile(p))}`);
  };
  for (const p of paths) await one(join(root, p), p);
  return out;
}

/** The target's configuration: pathsState of /etc, dpkg's status and the locale archive. */
export function etcState(root: string): Promise<string[]> {
  return pathsState(root, ['/etc', '/var/lib/dpkg/status', '/usr/lib/locale/locale-archive']);
}
