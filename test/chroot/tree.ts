/** Tree snapshots for "nothing changed" assertions. */
import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';

export interface TreeEntry {
  type: 'dir' | 'file' | 'symlink' | 'other';
  mode: number;
  uid: number;
  gid: number;
  ino: number;
  size: number;
  mtimeSec: number;
  link?: string;
  sha256?: string;
}

/** Every path below `dir` (relative, '' for dir itself) with its metadata and content hash. */
export function snapshotTree(dir: string, opts: { skip?: (rel: string) => boolean } = {}): Map<string, TreeEntry> {
  const out = new Map<string, TreeEntry>();
  const walk = (rel: string) => {
    const p = rel ? join(dir, rel) : dir;
    const st = lstatSync(p);
    const e: TreeEntry = {
      type: st.isDirectory() ? 'dir' : st.isFile() ? 'file' : st.isSymbolicLink() ? 'symlink' : 'other',
      mode: st.mode & 0o7777,
      uid: st.uid,
      gid: st.gid,
      ino: st.ino,
      size: st.isDirectory() ? 0 : st.size,
      mtimeSec: Math.floor(st.mtimeMs / 1000),
    };
    if (e.type === 'symlink') e.link = readlinkSync(p);
    if (e.type === 'file') e.sha256 = createHash('sha256').update(readFileSync(p)).digest('hex');
    out.set(rel, e);
    if (e.type === 'dir') {
      for (const name of readdirSync(p).sort()) {
        const r = rel ? `${rel}/${name}` : name;
        if (opts.skip?.(r)) continue;
        walk(r);
      }
    }
  };
  walk('');
  return out;
}

/** Snapshot without directory mtimes (they change when a child is created and removed again). */
export function snapshotForCompare(dir: string): Record<string, Omit<TreeEntry, 'mtimeSec'> & { mtimeSec?: number }> {
  const out: Record<string, Omit<TreeEntry, 'mtimeSec'> & { mtimeSec?: number }> = {};
  for (const [k, v] of snapshotTree(dir)) {
    const { mtimeSec, ...rest } = v;
    out[k] = v.type === 'dir' ? rest : { ...rest, mtimeSec };
  }
  return out;
}
