/**
 * The repos applier ('repo.restore'): one `[[repos.entry]]` checked out at
 * its `path` in the target, with no git binary on the live system or in the
 * target: isomorphic-git, and our own pack index and checkout (git-pack.ts,
 * git-checkout.ts) where it was slow. In order:
 *
 * ```
 * check the destination resolves inside the root
 * staging dir on the destination's filesystem (commit-staging.ts)
 * bundle?  → repo-bundle.ts   (offline; an incremental one clones its base first;
 *                              the git work in a thread: repo-from-pack.ts)
 * else url → repo-clone.ts    (http/https/file; ssh was deferred to first boot)
 *            repo-work-tree.ts brings back refs/koder/wip's uncommitted work
 * chown to the user, move into place → repo-place.ts (a different folder there → NAME.pre-restore)
 * ```
 *
 * ## Outcomes
 *
 * A repo that cannot be restored is reported (status 'failed' + message), the
 * restore goes on. Thrown: only a bundle blob the BlobSource refuses (its
 * bytes do not hash to the address, or it could not deliver them), including
 * a bundle that looks malformed and turns out, read again, to be altered.
 * Interrupted: the staging dir is removed at the next run of the step, which
 * starts over; a repo already in place with the same HEAD is left alone.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, join, relative } from 'node:path';
import type { PlanStep } from '../restore-machine/plan.ts';
import { repoBundleBlobs, type RepoEntry } from '../manifest/types.ts';
import type { ApplyContext, Progress, StepApplier, StepOutcome, StepStager } from './applier.ts';
import { removeStaging, stagingDirFor } from './commit-staging.ts';
import { bundleBlob, bundleFile, restoreFromBundle, type BundleInput } from './repo-bundle.ts';
import { FILES_LOCKED_MESSAGE, restoreTreeInto, treeKeyFor } from './files-v2.ts';
import { canFetchHere } from './repo-clone.ts';
import type { RepoCloneJob } from './repo-worker.ts';
import { oneJob } from '../util/worker-thread.ts';
import { Rethrow } from './repo-failure.ts';
import { chownTree, place } from './repo-place.ts';
import { resolveInRoot } from './safe-path.ts';
import { targetPath } from './target.ts';
import { errMessage, lstatOrUndefined } from '../util/fs.ts';
import { hasCode } from '../util/coded-error.ts';

export { WIP_REF } from './repo-work-tree.ts';

/** A repository built in a staging folder: `work` is the finished repo, owned by the user, ready to move in. */
interface BuiltRepo {
  work: string;
  how: string;
  details: string[];
  /** Built before its step, while apt ran. */
  ahead?: true;
}

/**
 * Builds the repository of `entry` in `staging` (created here): from its
 * bundle (version 1 blob, or a data v2 tree) or a clone of its url, then
 * chowned to the target user. A Rethrow carries a verification failure.
 */
async function buildRepo(entry: RepoEntry, dest: string, staging: string, ctx: ApplyContext, progress: Progress): Promise<BuiltRepo> {
  await mkdir(staging, { mode: 0o700 });
  const work = join(staging, basename(dest) || 'repo');
  await mkdir(work);
  const details: string[] = [];
  let how: string;
  if (entry.bundle || entry.bundle_tree) {
    let input: BundleInput;
    const bundleDir = `${staging}-bundle`;
    try {
      if (entry.bundle) input = bundleBlob(ctx, entry.bundle);
      else {
        // Data v2: the bundle comes back as a one-file tree, every chunk authenticated.
        try {
          await restoreTreeInto(ctx, { tree: entry.bundle_tree!, nonce: entry.bundle_tree_nonce ?? '' }, bundleDir, progress);
        } catch (e) {
          if (hasCode(e, 'restore_write_failed')) throw e;
          throw new Rethrow(e);
        }
        input = bundleFile(join(bundleDir, 'repo.bundle'));
      }
      const r = await restoreFromBundle(work, entry, input, ctx, progress);
      details.push(...r.details);
      how = `from its bundle (${r.header.refs.length} refs)`;
    } finally {
      if (entry.bundle_tree) {
        await rm(`${bundleDir}.journal`, { force: true }).catch(() => undefined);
        await removeStaging(bundleDir).catch(() => undefined);
      }
    }
  } else {
    // Validation guarantees a url where there is no bundle.
    if (!entry.url) throw new Error(`repo ${entry.path} has neither a bundle nor a url`);
    // In the repository thread, as a bundle's git work (repo-worker.ts).
    await oneJob<string[]>('repo-worker', { clone: { dir: work, url: entry.url, branch: entry.branch } } satisfies RepoCloneJob);
    how = `cloned from ${entry.url}`;
  }
  await chownTree(work, ctx.target.uid, ctx.target.gid);
  return { work, how, details };
}

/**
 * The staging folder of a repository built ahead of its step (while apt
 * runs): named by everything the build depends on (the entry, the user), so
 * that a folder found there is exactly what the step would build. It is
 * built as `NAME.part` and renamed to NAME when finished: NAME holds the
 * repo and `built.json` (how, details); a `.part` is an interrupted build.
 */
async function aheadStagingOf(entry: RepoEntry, dest: string, ctx: ApplyContext): Promise<string> {
  const id = createHash('sha256').update(JSON.stringify([entry, dest, ctx.target.uid, ctx.target.gid])).digest('hex').slice(0, 24);
  return stagingDirFor(ctx.target.root, dest, `repo-ahead-${id}`, { keep: true });
}

/** The repository staged ahead for `dir`, when its build finished (else undefined: the step builds it). */
async function stagedAhead(dir: string, dest: string): Promise<BuiltRepo | undefined> {
  try {
    const built = JSON.parse(await readFile(join(dir, BUILT), 'utf8')) as { how: string; details: string[] };
    const work = join(dir, basename(dest) || 'repo');
    if (!(await lstatOrUndefined(work))?.isDirectory()) return undefined;
    return { work, how: built.how, details: built.details, ahead: true };
  } catch {
    return undefined;
  }
}

const BUILT = 'built.json';

/** What a build ahead cut short left beside `dir`: the half-built repo, and the data v2 bundle being restored (with its journal). */
async function removePartial(dir: string, o: { bundle: boolean }): Promise<void> {
  await rm(`${dir}.part`, { recursive: true, force: true });
  if (!o.bundle) return;
  await rm(`${dir}.part-bundle`, { recursive: true, force: true });
  await rm(`${dir}.part-bundle.journal`, { force: true });
}

/**
 * Builds a repository before its step runs (the fetch-ahead does it beside
 * apt, ahead.ts), once its bundle's blobs are on the target's disk: the
 * step then only moves it into place. Nothing for a locked data v2 bundle
 * or a repository cloned from its url; errors are the step's to meet again
 * and report (the partial build is removed).
 */
export const stageRepoAhead: StepStager = async (step, ctx, progress) => {
  const entry = ctx.manifest.repos?.entry?.find((r) => r.path === step.key);
  if (!entry || (!entry.bundle && !entry.bundle_tree)) return [];
  if (entry.bundle_tree && !treeKeyFor(ctx, entry.bundle_tree, entry.bundle_tree_nonce ?? '')) return [];
  const dest = targetPath(ctx.target, entry.path);
  await resolveInRoot(ctx.target.root, dest, { followFinal: false });
  const dir = await aheadStagingOf(entry, dest, ctx);
  // Built, the step only moves the repository in: it reads none of the bundle's blobs.
  const unread = repoBundleBlobs(entry);
  if (await stagedAhead(dir, dest)) return unread;
  await rm(dir, { recursive: true, force: true });
  // A data v2 bundle half restored by an interrupted run resumes from its journal; the repo starts over.
  await removePartial(dir, { bundle: false });
  const part = `${dir}.part`;
  try {
    const built = await buildRepo(entry, dest, part, ctx, progress);
    await writeFile(join(part, BUILT), JSON.stringify({ how: built.how, details: built.details }), { mode: 0o600 });
    await rename(part, dir);
    return unread;
  } catch (e) {
    await removePartial(dir, { bundle: true });
    await removeStaging(dir); // and the staging folders' parent, when empty
    throw e instanceof Rethrow ? e.error : e;
  }
};

export const applyRepo: StepApplier = async (step: PlanStep, ctx: ApplyContext, progress: Progress): Promise<StepOutcome> => {
  const entry = ctx.manifest.repos?.entry?.find((r) => r.path === step.key);
  if (!entry) return { status: 'failed', message: `no [[repos.entry]] with path ${JSON.stringify(step.key)} in the manifest` };
  const { target } = ctx;
  const dest = targetPath(target, entry.path);
  const label = `${entry.slug} → ${entry.path}`;
  let staging: string | undefined;
  let ahead: string | undefined;
  try {
    if (entry.bundle_tree && !treeKeyFor(ctx, entry.bundle_tree, entry.bundle_tree_nonce ?? '')) {
      return { status: 'skipped', message: FILES_LOCKED_MESSAGE };
    }
    if (!entry.bundle && !entry.bundle_tree && !canFetchHere(entry.url)) {
      return { status: 'failed', message: `${label}: cannot restore from ${entry.url ?? '(no url)'} here (http, https and file URLs, or a bundle)` };
    }
    const root = target.root;
    // Checked now (a path escaping the root fails before any work); the
    // missing parents are only made when the repo is ready to move in.
    await resolveInRoot(root, dest, { followFinal: false });
    let built: BuiltRepo | undefined;
    if (entry.bundle || entry.bundle_tree) {
      // Built while apt ran (stageRepoAhead)? Then only the move is left; a build cut short goes.
      ahead = await aheadStagingOf(entry, dest, ctx);
      await removePartial(ahead, { bundle: true });
      built = await stagedAhead(ahead, dest);
    }
    if (!built) {
      const key = `repo-${createHash('sha256').update(entry.path).digest('hex').slice(0, 16)}`;
      staging = await stagingDirFor(root, dest, key);
      built = await buildRepo(entry, dest, staging, ctx, progress);
    }
    const { work, how, details } = built;
    const placed = await place(work, root, dest, target.uid, target.gid);
    const rel = (p: string) => '/' + relative(root, p);
    progress({ bytes: step.bytes, items: 1 });
    if (placed.kind === 'same') {
      return { status: 'done', message: `${label}: already restored (same HEAD)` };
    }
    if (placed.kind === 'replaced') details.push(`kept ${rel(placed.keptAs)} (a different folder was there)`);
    ctx.log(`repo ${label}: ${how}, on ${entry.branch}${built.ahead ? ' (built while the steps before it ran)' : ''}`);
    return { status: 'done', message: `${label}: ${how}, on ${entry.branch}`, ...(details.length ? { details } : {}) };
  } catch (e) {
    if (e instanceof Rethrow) throw e.error;
    return { status: 'failed', message: `${label}: ${errMessage(e)}` };
  } finally {
    if (staging) await removeStaging(staging).catch(() => undefined);
    if (ahead) await removeStaging(ahead).catch(() => undefined);
  }
};
