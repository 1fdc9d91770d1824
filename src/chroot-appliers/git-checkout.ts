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
 * are read by git-pack.ts (node's zlib, delta bases kept while reused) and
 * files are written with plain synchronous calls (this runs in a worker).
 *
 *   checkoutFresh(dir, commit)  the commit's tree into dir (files with their exec bit, symlinks,
 *               submodules as empty folders), then `.git/index` (version 2, every entry with
 *               the stat of the file just written) — git sees a clean tree
 *
 * A tree entry whose name could leave its folder or write into `.git`
 * ('', '.', '..', '.git' in any case, a NUL) fails the repository
 * (RepoFailure); nothing is written outside `dir`.
 */
import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PackSet } from './git-pack.ts';
import { RepoFailure } from './repo-failure.ts';

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
