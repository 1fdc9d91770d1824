/**
 * A repository from its URL, into a fresh folder, with isomorphic-git (no git
 * binary on the live system or in the target): what `repo.restore` does for
 * an entry without a bundle, and the base an incremental bundle builds on.
 *
 * - `http://` / `https://` → `git.clone` with isomorphic-git's node http
 *   client (`ref: branch`, all branches and tags).
 * - `file://` → a local clone: the objects are copied, the source's branches
 *   become `refs/remotes/origin/*`, tags are copied. A file URL names a path
 *   on the machine running the restore (the live system), not in the target.
 * - ssh URLs never get here: the plan defers them to first boot.
 *
 * isomorphic-git writes Windows/macOS-style core settings; every repo made
 * here gets Linux git's (`linuxCoreConfig`).
 */
import fs from 'node:fs';
import { cp, readdir, readFile } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as git from 'isomorphic-git';
import http from 'isomorphic-git/http/node';
import { RepoFailure } from './repo-failure.ts';
import { lstatOrUndefined, errMessage } from '../util/fs.ts';

/** isomorphic-git's init/clone write Windows/macOS-style core settings; make them Linux git's. */
export async function linuxCoreConfig(dir: string): Promise<void> {
  await git.setConfig({ fs, dir, path: 'core.filemode', value: true });
  await git.setConfig({ fs, dir, path: 'core.symlinks', value: true });
  await git.setConfig({ fs, dir, path: 'core.ignorecase', value: false });
}

export async function setUpstream(dir: string, branch: string): Promise<void> {
  await git.setConfig({ fs, dir, path: `branch.${branch}.remote`, value: 'origin' });
  await git.setConfig({ fs, dir, path: `branch.${branch}.merge`, value: `refs/heads/${branch}` });
}

const isHttpUrl = (u: string) => /^https?:\/\//i.test(u);
const isFileUrl = (u: string) => /^file:\/\//i.test(u);
export const canFetchHere = (u: string | undefined): u is string => !!u && (isHttpUrl(u) || isFileUrl(u));

async function cloneHttp(dir: string, url: string, branch: string): Promise<void> {
  try {
    await git.clone({ fs, http, dir, url, ref: branch, singleBranch: false });
  } catch (e) {
    throw new RepoFailure(`cannot clone ${url} (branch ${branch}): ${errMessage(e)}`);
  }
  await linuxCoreConfig(dir);
}

/** The git dir of a local repository path (a worktree with .git, a .git file, or a bare repo). */
async function gitDirOf(path: string): Promise<string> {
  const dotGit = join(path, '.git');
  const st = await lstatOrUndefined(dotGit);
  if (st?.isDirectory()) return dotGit;
  if (st?.isFile()) {
    const m = /^gitdir: (.+)$/m.exec(await readFile(dotGit, 'utf8'));
    if (m) {
      const g = m[1]!.trim();
      return isAbsolute(g) ? g : join(path, g);
    }
  }
  if ((await lstatOrUndefined(join(path, 'objects')))?.isDirectory() && (await lstatOrUndefined(join(path, 'HEAD')))) return path;
  throw new RepoFailure(`${path} is not a git repository`);
}

/** `git clone file://…` without git: copy the objects, map the branches to origin/*. */
async function cloneLocal(dir: string, url: string, branch: string): Promise<void> {
  let srcPath: string;
  try {
    srcPath = fileURLToPath(url);
  } catch (e) {
    throw new RepoFailure(`bad file URL ${url}: ${errMessage(e)}`);
  }
  const srcGitdir = await gitDirOf(srcPath);
  await git.init({ fs, dir, defaultBranch: branch });
  await linuxCoreConfig(dir);
  const objects = join(dir, '.git/objects');
  for (const name of await readdir(join(srcGitdir, 'objects'))) {
    if (name === 'info') continue; // alternates of the source are not ours
    await cp(join(srcGitdir, 'objects', name), join(objects, name), { recursive: true, force: false, errorOnExist: false, verbatimSymlinks: true });
  }
  for (const b of await git.listBranches({ fs, gitdir: srcGitdir })) {
    const oid = await git.resolveRef({ fs, gitdir: srcGitdir, ref: `refs/heads/${b}` });
    await git.writeRef({ fs, dir, ref: `refs/remotes/origin/${b}`, value: oid, force: true });
  }
  for (const t of await git.listTags({ fs, gitdir: srcGitdir })) {
    const oid = await git.resolveRef({ fs, gitdir: srcGitdir, ref: `refs/tags/${t}` });
    await git.writeRef({ fs, dir, ref: `refs/tags/${t}`, value: oid, force: true });
  }
  await git.addRemote({ fs, dir, remote: 'origin', url, force: true });
  let tip: string;
  try {
    tip = await git.resolveRef({ fs, dir, ref: `refs/remotes/origin/${branch}` });
  } catch {
    throw new RepoFailure(`${url} has no branch ${branch}`);
  }
  await git.writeRef({ fs, dir, ref: `refs/heads/${branch}`, value: tip, force: true });
  await setUpstream(dir, branch);
  try {
    await git.checkout({ fs, dir, ref: branch, force: true });
  } catch (e) {
    throw new RepoFailure(`cannot check out ${branch} from ${url}: ${errMessage(e)} (objects missing? alternates are not followed)`);
  }
}

export async function cloneFrom(dir: string, url: string, branch: string): Promise<void> {
  if (isHttpUrl(url)) await cloneHttp(dir, url, branch);
  else await cloneLocal(dir, url, branch);
}
