/**
 * A repository from its git bundle (v2/v3, as `git bundle create` writes it),
 * offline, into a fresh folder:
 *
 * - Here, on the calling thread: the bundle's packfile is written into the
 *   new repo's pack folder while the blob streams in (git-bundle.ts
 *   `splitBundle`). The rest is repo-from-pack.ts, in a worker thread
 *   (repo-worker.ts): the pack is indexed (`git.indexPack`; isomorphic-git
 *   holds the whole pack in memory: fine for repos, not for multi-GiB monorepos).
 * - Every ref of the bundle is written as it is — branches under refs/heads,
 *   remote-tracking refs, tags, and side refs such as `refs/koder/wip` (all
 *   kept); `HEAD` is not written as a ref, it becomes the symbolic ref to
 *   `branch`; `refs/remotes/R/HEAD` (listed dereferenced) becomes symbolic
 *   again, to the remote branch it matches. Ref names that are not valid git
 *   ref names under `refs/` are skipped and reported (a ref name is a path
 *   inside .git). `origin` is set to `entry.url` when given (plus the
 *   branch's upstream when the bundle has `refs/remotes/origin/<branch>`),
 *   then `branch` is checked out and the uncommitted work of `refs/koder/wip`
 *   brought back (repo-work-tree.ts).
 * - SHA-256 repositories (`@object-format=sha256`) fail: isomorphic-git reads
 *   SHA-1 only.
 * - A bundle with prerequisites (an incremental one, e.g.
 *   `git bundle create b origin/main..main`) carries a *thin* pack: the
 *   commits it builds on are cloned from `entry.url` first (http/https/file
 *   only, repo-clone.ts), the thin pack is indexed against them and then
 *   rewritten as a self-contained pack (real git cannot read a thin pack in
 *   objects/pack).
 *
 * A bundle that looks malformed is read again whole through the BlobSource:
 * altered bytes are a verification failure (Rethrow), an authentic bundle we
 * cannot read is this repo's failure.
 */
import fs, { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { join } from 'node:path';
import * as git from 'isomorphic-git';
import type { BlobRef, RepoEntry } from '../manifest/types.ts';
import type { ApplyContext, Progress } from './applier.ts';
import { verifyBlob, watched } from './blob-stream.ts';
import { BundleFormatError, splitBundle, type BundleHeader } from './git-bundle.ts';
import { linuxCoreConfig } from './repo-clone.ts';
import { RepoFailure, Rethrow } from './repo-failure.ts';
import type { RepoFromPackJob } from './repo-from-pack.ts';
import { errMessage } from '../util/fs.ts';
import { oneJob } from '../util/worker-thread.ts';

interface BundleOutcome {
  header: BundleHeader;
  details: string[];
}

/** Where a bundle's bytes come from: a blob (version 1) or a file restored from its data v2 tree. */
export interface BundleInput {
  open(): Promise<Readable>;
  /** Throws when the bytes read were not the authentic ones (a malformed bundle: altered, or ours to refuse?). */
  verify(): Promise<void>;
}

/** A version 1 bundle blob, through the restore's BlobSource. */
export function bundleBlob(ctx: ApplyContext, ref: BlobRef): BundleInput {
  return {
    open: () => ctx.blobs.open(ref, ctx.signal ? { signal: ctx.signal } : {}),
    verify: () => verifyBlob(ctx.blobs, ref, ctx.signal),
  };
}

/** A bundle file restored from its tree: every chunk was authenticated on the way. */
export function bundleFile(path: string): BundleInput {
  return { open: async () => createReadStream(path), verify: async () => undefined };
}

export async function restoreFromBundle(dir: string, entry: RepoEntry, input: BundleInput, ctx: ApplyContext, progress: Progress): Promise<BundleOutcome> {
  const tmpPack = join(dir, '.git/objects/pack/tmp-bundle.pack');
  // The fresh repo first: splitting needs its pack folder. An incremental
  // bundle's base is cloned later, once the header said so.
  await git.init({ fs, dir, defaultBranch: entry.branch });
  await linuxCoreConfig(dir);

  const source = await input.open();
  const { chunks, failure } = watched(source);
  let split;
  try {
    split = await splitBundle(chunks, tmpPack, { onBytes: (n) => progress({ bytes: n, items: 0 }) });
  } catch (e) {
    if (failure.error !== undefined) throw new Rethrow(failure.error);
    if (e instanceof BundleFormatError) {
      // Altered bytes, or an authentic bundle we cannot read? Only the whole blob tells.
      try {
        await input.verify();
      } catch (v) {
        throw new Rethrow(v);
      }
      throw new RepoFailure(errMessage(e));
    }
    throw e;
  } finally {
    source.destroy();
  }
  // From here on the whole blob was read and the BlobSource vouched for it. The git
  // work (index, refs, checkout: seconds of CPU for a large repo) runs in a thread of
  // its own, so the restore's own thread keeps reading apt and answering the wizard.
  const details = await oneJob<string[]>('repo-worker', { dir, entry, header: split.header, packChecksum: split.packChecksum } satisfies RepoFromPackJob);
  return { header: split.header, details };
}
