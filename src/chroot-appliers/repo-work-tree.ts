/**
 * Uncommitted work back as uncommitted work: `refs/koder/wip`.
 *
 * Capture (src/capture/git.ts) saves uncommitted work as a commit on the
 * side ref `refs/koder/wip` whose **tree is the working tree** at capture
 * time (tracked files as they were on disk plus untracked, not-ignored files:
 * a scratch copy of the index, `git add -A`, `git write-tree`, `git
 * commit-tree -p HEAD`) and whose first parent is HEAD; the bundle is
 * `git bundle create --all` over the repo's refs plus that one. `git stash
 * create` commits (tracked files only) fit the same rule.
 * After checking out `branch`, the working tree is made equal to that tree —
 * changed files rewritten, new files added, deleted files removed — while
 * HEAD, the branch and the index stay where they were: the changes come back
 * as uncommitted changes (all unstaged: what was staged is not told apart;
 * new files are untracked). Submodule entries are left alone. The ref itself
 * is kept, so nothing is lost if the person wants to look at it.
 */
import fs from 'node:fs';
import { lstat, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import * as git from 'isomorphic-git';
import { WIP_REF } from '../capture/git.ts';
import { RepoFailure } from './repo-failure.ts';
import { SAFE_COMPONENT } from './git-checkout.ts';

/** The side ref capture writes uncommitted work to (one constant for both sides). */
export { WIP_REF };


/**
 * Makes the working tree of `dir` (checked out at `headOid`) equal to the
 * tree of `wipOid`, leaving HEAD and the index alone. Returns the number of
 * paths changed. Parents are handled before their children (serial walk), so
 * every file is written into a directory this function made or checked.
 * Counted: files (and links) written or removed; folders are not counted.
 */
export async function restoreWorkingTree(dir: string, headOid: string, wipOid: string): Promise<number> {
  let changed = 0;
  const wipCommit = await git.readCommit({ fs, dir, oid: wipOid });
  const headCommit = await git.readCommit({ fs, dir, oid: headOid });
  await git.walk({
    fs,
    dir,
    trees: [git.TREE({ ref: headCommit.oid }), git.TREE({ ref: wipCommit.oid })],
    iterate: async (walk, children) => {
      const out: unknown[] = [];
      for (const c of children) out.push(await walk(c));
      return out;
    },
    map: async (filepath, [h, w]) => {
      if (filepath === '.') return true;
      if (!filepath.split('/').every(SAFE_COMPONENT)) throw new RepoFailure(`${WIP_REF} holds an unsafe path ${JSON.stringify(filepath)}`);
      const p = join(dir, filepath);
      // Every parent is a real directory (made or checked before): never write through a link.
      const parent = await lstat(dirname(p));
      if (!parent.isDirectory()) throw new RepoFailure(`${WIP_REF}: parent of ${filepath} is not a directory`);
      const ht = h ? await h.type() : undefined;
      if (!w) {
        if (ht === 'commit') return null; // a submodule: leave it
        await rm(p, { recursive: true, force: true });
        changed += 1;
        return null;
      }
      const wt = await w.type();
      if (wt === 'tree') {
        if (ht !== 'tree') {
          await rm(p, { recursive: true, force: true });
          await mkdir(p);
        }
        return true;
      }
      if (wt !== 'blob') return null; // submodule (commit) entries
      const wmode = await w.mode();
      if (h && ht === 'blob' && (await h.oid()) === (await w.oid()) && (await h.mode()) === wmode) return null;
      await rm(p, { recursive: true, force: true });
      const content = (await w.content()) ?? new Uint8Array();
      if (wmode === 0o120000) await symlink(Buffer.from(content).toString('utf8'), p);
      else await writeFile(p, content, { mode: wmode === 0o100755 ? 0o755 : 0o644, flag: 'wx' });
      changed += 1;
      return null;
    },
  });
  return changed;
}
