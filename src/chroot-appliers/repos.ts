/**
 * The repos applier ('repo.restore'): one `[[repos.entry]]` checked out at
 * its `path` in the target, with isomorphic-git (no git binary needed on the
 * live system or in the target). In order:
 *
 * ```
 * check the destination resolves inside the root
 * staging dir on the destination's filesystem (commit-staging.ts)
 * bundle?  → repo-bundle.ts   (offline; an incremental one clones its base first)
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
import { mkdir, rm } from 'node:fs/promises';
import { basename, join, relative } from 'node:path';
import type { PlanStep } from '../restore-machine/plan.ts';
import type { ApplyContext, Progress, StepApplier, StepOutcome } from './applier.ts';
import { removeStaging, stagingDirFor } from './commit-staging.ts';
import { bundleBlob, bundleFile, restoreFromBundle, type BundleInput } from './repo-bundle.ts';
import { FILES_LOCKED_MESSAGE, restoreTreeInto, treeKeyFor } from './files-v2.ts';
import { canFetchHere, cloneFrom } from './repo-clone.ts';
import { Rethrow } from './repo-failure.ts';
import { chownTree, place } from './repo-place.ts';
import { resolveInRoot } from './safe-path.ts';
import { targetPath } from './target.ts';
import { errMessage } from '../util/fs.ts';
import { hasCode } from '../util/coded-error.ts';

export { WIP_REF } from './repo-work-tree.ts';

export const applyRepo: StepApplier = async (step: PlanStep, ctx: ApplyContext, progress: Progress): Promise<StepOutcome> => {
  const entry = ctx.manifest.repos?.entry?.find((r) => r.path === step.key);
  if (!entry) return { status: 'failed', message: `no [[repos.entry]] with path ${JSON.stringify(step.key)} in the manifest` };
  const { target } = ctx;
  const dest = targetPath(target, entry.path);
  const label = `${entry.slug} → ${entry.path}`;
  let staging: string | undefined;
  const cleanups: (() => Promise<unknown>)[] = [];
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
    const key = `repo-${createHash('sha256').update(entry.path).digest('hex').slice(0, 16)}`;
    staging = await stagingDirFor(root, dest, key);
    await mkdir(staging, { mode: 0o700 });
    const work = join(staging, basename(dest) || 'repo');
    await mkdir(work);

    const details: string[] = [];
    let how: string;
    if (entry.bundle || entry.bundle_tree) {
      let input: BundleInput;
      if (entry.bundle) input = bundleBlob(ctx, entry.bundle);
      else {
        // Data v2: the bundle comes back as a one-file tree, every chunk authenticated.
        const bundleDir = `${staging}-bundle`;
        try {
          await restoreTreeInto(ctx, { tree: entry.bundle_tree!, nonce: entry.bundle_tree_nonce ?? '' }, bundleDir, progress);
        } catch (e) {
          if (hasCode(e, 'restore_write_failed')) throw e;
          throw new Rethrow(e);
        }
        input = bundleFile(join(bundleDir, 'repo.bundle'));
        cleanups.push(() => rm(`${bundleDir}.journal`, { force: true }), () => removeStaging(bundleDir));
      }
      const r = await restoreFromBundle(work, entry, input, ctx, progress);
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
    for (const c of cleanups) await c().catch(() => undefined);
  }
};
