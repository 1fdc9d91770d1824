/**
 * The repos applier ('repo.restore'): one `[[repos.entry]]` checked out at
 * its `path` in the target, with isomorphic-git (no git binary needed on the
 * live system or in the target).
 *
 * ## Sources
 *
 * - **bundle** (`entry.bundle`, a git bundle v2/v3 blob as `git bundle create`
 *   writes it): offline. The bundle's packfile is written into a fresh repo's
 *   `.git/objects/pack/pack-<checksum>.pack` and indexed (`git.indexPack`);
 *   every ref of the bundle is written as it is — branches under refs/heads,
 *   remote-tracking refs, tags, and side refs such as `refs/koder/wip` or
 *   `refs/koder/uncommitted` (all kept); `HEAD` is not written as a ref, it
 *   becomes the symbolic ref to `branch`; `refs/remotes/R/HEAD` (listed
 *   dereferenced) becomes symbolic again, to the remote branch it matches.
 *   Ref names that are not valid git ref names under `refs/` are skipped and
 *   reported (a ref name is a path inside .git). `origin` is set to
 *   `entry.url` when given (plus the branch's upstream when the bundle has
 *   `refs/remotes/origin/<branch>`), then `branch` is checked out. SHA-256
 *   repositories (`@object-format=sha256`) are reported failed:
 *   isomorphic-git reads SHA-1 only. isomorphic-git's indexPack holds the
 *   whole pack in memory (fine for repos, not for multi-GiB monorepos).
 *   A bundle with prerequisites (an incremental one, e.g.
 *   `git bundle create b origin/main..main`) carries a *thin* pack: the
 *   commits it builds on are cloned from `entry.url` first (http/https/file
 *   only), the thin pack is indexed against them and then rewritten as a
 *   self-contained pack (real git cannot read a thin pack in objects/pack).
 * - **url** without a bundle: `http://` / `https://` → `git.clone` with
 *   isomorphic-git's node http client (`ref: branch`, all branches and tags);
 *   `file://` → a local clone (the objects are copied, the source's branches
 *   become `refs/remotes/origin/*`, tags are copied). A file URL names a path
 *   on the machine running the restore (the live system), not in the target.
 *   ssh URLs never reach this applier: the plan defers them to first boot.
 *
 * ## Uncommitted work: `refs/koder/wip`
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
 *
 * ## Into place
 *
 * Everything is built in a staging dir on the destination's filesystem
 * (commit-staging.ts `stagingDirFor`), owned by the target user (lchown -R,
 * never following symlinks), then renamed into place. An existing
 * destination: absent or an empty folder → replaced; the same repository
 * (same HEAD commit and branch) → nothing done (idempotent); anything else →
 * kept as `NAME.pre-restore` and the restored repo put in its place.
 *
 * ## Outcomes
 *
 * A repo that cannot be restored is reported (status 'failed' + message), the
 * restore goes on. Thrown: only a bundle blob the BlobSource refuses (its
 * bytes do not hash to the address, or it could not deliver them), including
 * a bundle that looks malformed and turns out, read again, to be altered.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { cp, lchown, lstat, mkdir, readdir, readFile, rename, rm, rmdir, symlink, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as git from 'isomorphic-git';
import http from 'isomorphic-git/http/node';
import type { RepoEntry } from '../manifest/types.ts';
import type { PlanStep } from '../restore-machine/plan.ts';
import type { ApplyContext, Progress, StepApplier, StepOutcome } from './applier.ts';
import { verifyBlob, watched } from './blob-stream.ts';
import { removeStaging, stagingDirFor } from './commit-staging.ts';
import { placeAside } from './pre-restore.ts';
import { BundleFormatError, isSafeRefName, splitBundle, type BundleHeader } from './git-bundle.ts';
import { ensureDirInRoot, resolveInRoot } from './safe-path.ts';
import { targetPath } from './target.ts';
import { lstatOrUndefined, errMessage } from '../util/fs.ts';

/** The side ref capture uses for uncommitted work (see the file header). */
export const WIP_REF = 'refs/koder/wip';

/** An error that must leave the applier (a verification failure). */
class Rethrow {
  constructor(readonly error: unknown) {}
}

/** A reason to fail this repo, with a message for the person. */
class RepoFailure extends Error {}



/** isomorphic-git's init/clone write Windows/macOS-style core settings; make them Linux git's. */
async function linuxCoreConfig(dir: string): Promise<void> {
  await git.setConfig({ fs, dir, path: 'core.filemode', value: true });
  await git.setConfig({ fs, dir, path: 'core.symlinks', value: true });
  await git.setConfig({ fs, dir, path: 'core.ignorecase', value: false });
}

async function setUpstream(dir: string, branch: string): Promise<void> {
  await git.setConfig({ fs, dir, path: `branch.${branch}.remote`, value: 'origin' });
  await git.setConfig({ fs, dir, path: `branch.${branch}.merge`, value: `refs/heads/${branch}` });
}

const isHttpUrl = (u: string) => /^https?:\/\//i.test(u);
const isFileUrl = (u: string) => /^file:\/\//i.test(u);
const canFetchHere = (u: string | undefined): u is string => !!u && (isHttpUrl(u) || isFileUrl(u));

// ---------------------------------------------------------------------------
// Clones (no bundle, or the base of an incremental bundle)

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

async function cloneFrom(dir: string, url: string, branch: string): Promise<void> {
  if (isHttpUrl(url)) await cloneHttp(dir, url, branch);
  else await cloneLocal(dir, url, branch);
}

// ---------------------------------------------------------------------------
// Bundles

/** Object ids listed in a pack index (v2). */
async function oidsOfPackIndex(idxPath: string): Promise<string[]> {
  const b = await readFile(idxPath);
  if (b.readUInt32BE(0) !== 0xff744f63 || b.readUInt32BE(4) !== 2) throw new Error(`${idxPath}: not a v2 pack index`);
  const n = b.readUInt32BE(8 + 255 * 4);
  const out: string[] = [];
  const start = 8 + 256 * 4;
  for (let i = 0; i < n; i++) out.push(b.subarray(start + i * 20, start + (i + 1) * 20).toString('hex'));
  return out;
}

async function hasObject(dir: string, oid: string): Promise<boolean> {
  try {
    await git.readObject({ fs, dir, oid, format: 'deflated' });
    return true;
  } catch {
    return false;
  }
}

interface BundleOutcome {
  header: BundleHeader;
  details: string[];
}

async function restoreFromBundle(
  dir: string,
  entry: RepoEntry & { bundle: NonNullable<RepoEntry['bundle']> },
  ctx: ApplyContext,
  progress: Progress,
): Promise<BundleOutcome> {
  const details: string[] = [];
  const packDir = join(dir, '.git/objects/pack');
  const tmpPack = join(dir, '.git/objects/pack/tmp-bundle.pack');
  // The fresh repo first: splitting needs its pack folder. An incremental
  // bundle's base is cloned later, once the header said so.
  await git.init({ fs, dir, defaultBranch: entry.branch });
  await linuxCoreConfig(dir);

  const source = await ctx.blobs.open(entry.bundle, ctx.signal ? { signal: ctx.signal } : {});
  const { chunks, failure } = watched(source);
  let split;
  try {
    split = await splitBundle(chunks, tmpPack, { onBytes: (n) => progress({ bytes: n, items: 0 }) });
  } catch (e) {
    if (failure.error !== undefined) throw new Rethrow(failure.error);
    if (e instanceof BundleFormatError) {
      // Altered bytes, or an authentic bundle we cannot read? Only the whole blob tells.
      try {
        await verifyBlob(ctx.blobs, entry.bundle, ctx.signal);
      } catch (v) {
        throw new Rethrow(v);
      }
      throw new RepoFailure(errMessage(e));
    }
    throw e;
  } finally {
    source.destroy();
  }
  // From here on the whole blob was read and the BlobSource vouched for it.
  const { header } = split;

  if (header.prerequisites.length > 0) {
    if (!canFetchHere(entry.url)) {
      throw new RepoFailure(
        `the bundle is incremental (it builds on ${header.prerequisites.length} commit(s) of the remote) and ${entry.url ? `${entry.url} cannot be fetched before first boot` : 'the entry has no url'}`,
      );
    }
    // Keep the pack aside, clone the base into a clean dir, bring the pack back.
    const aside = join(dirname(dir), 'bundle.pack');
    await rename(tmpPack, aside);
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir);
    await cloneFrom(dir, entry.url, entry.branch);
    await rename(aside, tmpPack);
    for (const p of header.prerequisites) {
      if (!(await hasObject(dir, p.oid))) throw new RepoFailure(`the bundle needs commit ${p.oid} which ${entry.url} does not have`);
    }
  }

  const packName = `pack-${split.packChecksum}`;
  const packRel = `.git/objects/pack/${packName}.pack`;
  await rename(tmpPack, join(dir, packRel));
  try {
    await git.indexPack({ fs, dir, filepath: packRel });
  } catch (e) {
    throw new RepoFailure(`the bundle's packfile cannot be indexed: ${errMessage(e)}`);
  }
  if (header.prerequisites.length > 0) {
    // A thin pack (deltas against the cloned objects) → a self-contained one.
    const oids = await oidsOfPackIndex(join(dir, `.git/objects/pack/${packName}.idx`));
    const { filename } = await git.packObjects({ fs, dir, oids, write: true });
    if (filename !== `${packName}.pack`) {
      await git.indexPack({ fs, dir, filepath: `.git/objects/pack/${filename}` });
      await unlink(join(packDir, `${packName}.pack`));
      await unlink(join(packDir, `${packName}.idx`));
    }
  }

  // Refs, as the bundle has them.
  const refs = new Map<string, string>();
  for (const r of header.refs) {
    if (r.name === 'HEAD') continue;
    if (!isSafeRefName(r.name)) {
      details.push(`ref ${JSON.stringify(r.name)} not restored: not a valid ref name`);
      continue;
    }
    if (!(await hasObject(dir, r.oid))) throw new RepoFailure(`ref ${r.name} points to ${r.oid}, which the bundle does not carry`);
    refs.set(r.name, r.oid);
  }
  for (const [name, oid] of refs) {
    // A bundle lists a remote's HEAD dereferenced; git clone made it symbolic.
    const remoteHead = /^(refs\/remotes\/[^/]+\/)HEAD$/.exec(name);
    if (remoteHead) {
      const prefix = remoteHead[1]!;
      const same = [...refs].filter(([n, o]) => o === oid && n !== name && n.startsWith(prefix)).map(([n]) => n).sort();
      const to = same.find((n) => n === `${prefix}${entry.branch}`) ?? same[0];
      if (to !== undefined) {
        await git.writeRef({ fs, dir, ref: name, value: to, symbolic: true, force: true });
        continue;
      }
    }
    await git.writeRef({ fs, dir, ref: name, value: oid, force: true });
  }
  if (entry.url) await git.addRemote({ fs, dir, remote: 'origin', url: entry.url, force: true });

  const local = `refs/heads/${entry.branch}`;
  const tracking = `refs/remotes/origin/${entry.branch}`;
  if (!refs.has(local)) {
    const from = refs.get(tracking);
    if (from === undefined) throw new RepoFailure(`branch ${entry.branch} is not in the bundle`);
    await git.writeRef({ fs, dir, ref: local, value: from, force: true });
  }
  if (entry.url && (refs.has(tracking) || header.prerequisites.length > 0)) await setUpstream(dir, entry.branch);
  await git.writeRef({ fs, dir, ref: 'HEAD', value: local, symbolic: true, force: true });
  try {
    await git.checkout({ fs, dir, ref: entry.branch, force: true });
  } catch (e) {
    throw new RepoFailure(`cannot check out ${entry.branch}: ${errMessage(e)}`);
  }

  const wip = refs.get(WIP_REF);
  if (wip !== undefined) {
    const head = await git.resolveRef({ fs, dir, ref: 'HEAD' });
    const n = await restoreWorkingTree(dir, head, wip);
    if (n > 0) details.push(`${n} uncommitted change(s) restored from ${WIP_REF}`);
  }
  return { header, details };
}

const SAFE_COMPONENT = (c: string) => c !== '' && c !== '.' && c !== '..' && c.toLowerCase() !== '.git' && !c.includes('\0');

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

// ---------------------------------------------------------------------------
// Into place

async function chownTree(p: string, uid: number, gid: number): Promise<void> {
  await lchown(p, uid, gid);
  const st = await lstat(p);
  if (!st.isDirectory()) return;
  for (const name of await readdir(p)) await chownTree(join(p, name), uid, gid);
}

async function headOf(dir: string): Promise<{ oid: string; branch: string | undefined } | undefined> {
  try {
    const oid = await git.resolveRef({ fs, dir, ref: 'HEAD' });
    const branch = (await git.currentBranch({ fs, dir, fullname: false })) ?? undefined;
    return { oid, branch };
  } catch {
    return undefined;
  }
}

type Placed = { kind: 'placed' } | { kind: 'same' } | { kind: 'replaced'; keptAs: string };

/** Moves the finished repo to `dest` (a path inside the target), making its missing parents for the user. */
async function place(work: string, root: string, dest: string, uid: number, gid: number): Promise<Placed> {
  const { created } = await ensureDirInRoot(root, dirname(dest), { uid, gid });
  try {
    return await placeInto(work, await resolveInRoot(root, dest, { followFinal: false }));
  } catch (e) {
    for (const d of created.reverse()) await rmdir(d).catch(() => undefined);
    throw e;
  }
}

async function placeInto(work: string, destHost: string): Promise<Placed> {
  const st = await lstatOrUndefined(destHost);
  if (!st) {
    await rename(work, destHost);
    return { kind: 'placed' };
  }
  if (st.isDirectory() && (await readdir(destHost)).length === 0) {
    await rmdir(destHost);
    await rename(work, destHost);
    return { kind: 'placed' };
  }
  if (st.isDirectory()) {
    const [mine, theirs] = await Promise.all([headOf(work), headOf(destHost)]);
    if (mine && theirs && mine.oid === theirs.oid && mine.branch === theirs.branch) return { kind: 'same' };
  }
  const keptAs = await placeAside(destHost);
  await rename(work, destHost);
  return { kind: 'replaced', keptAs };
}

// ---------------------------------------------------------------------------

export const applyRepo: StepApplier = async (step: PlanStep, ctx: ApplyContext, progress: Progress): Promise<StepOutcome> => {
  const entry = ctx.manifest.repos?.entry?.find((r) => r.path === step.key);
  if (!entry) return { status: 'failed', message: `no [[repos.entry]] with path ${JSON.stringify(step.key)} in the manifest` };
  const { target } = ctx;
  const dest = targetPath(target, entry.path);
  const label = `${entry.slug} → ${entry.path}`;
  let staging: string | undefined;
  try {
    if (!entry.bundle && !canFetchHere(entry.url)) {
      return { status: 'failed', message: `${label}: cannot restore from ${entry.url ?? '(no url)'} here (http, https and file URLs, or a bundle)` };
    }
    const root = target.root;
    // Checked now (a path escaping the root fails before any work); the
    // missing parents are only made when the repo is ready to move in.
    await resolveInRoot(root, dest, { followFinal: false });
    const key = `repo-${createHash('sha256').update(entry.path).digest('hex').slice(0, 16)}`;
    staging = await stagingDirFor(root, dest, key);
    await mkdir(staging, { mode: 0o700 });
    const work = join(staging, basename(dest) || 'repo');
    await mkdir(work);

    const details: string[] = [];
    let how: string;
    if (entry.bundle) {
      const r = await restoreFromBundle(work, { ...entry, bundle: entry.bundle }, ctx, progress);
      details.push(...r.details);
      how = `from its bundle (${r.header.refs.length} refs)`;
    } else {
      // Validation guarantees a url where there is no bundle.
      if (!entry.url) throw new Error(`repo ${entry.path} has neither a bundle nor a url`);
      await cloneFrom(work, entry.url, entry.branch);
      how = `cloned from ${entry.url}`;
    }
    await chownTree(work, target.uid, target.gid);
    const placed = await place(work, root, dest, target.uid, target.gid);
    const rel = (p: string) => '/' + relative(root, p);
    progress({ bytes: step.bytes, items: 1 });
    if (placed.kind === 'same') {
      return { status: 'done', message: `${label}: already restored (same HEAD)` };
    }
    if (placed.kind === 'replaced') details.push(`kept ${rel(placed.keptAs)} (a different folder was there)`);
    ctx.log(`repo ${label}: ${how}, on ${entry.branch}`);
    return { status: 'done', message: `${label}: ${how}, on ${entry.branch}`, ...(details.length ? { details } : {}) };
  } catch (e) {
    if (e instanceof Rethrow) throw e.error;
    return { status: 'failed', message: `${label}: ${errMessage(e)}` };
  } finally {
    if (staging) await removeStaging(staging).catch(() => undefined);
  }
};

