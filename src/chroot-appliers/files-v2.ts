/**
 * The files applier for a data v2 folder (docs/manifest.md, "Data v2"):
 * its tree root and tree objects are read and authenticated, the chunks its
 * files need are fetched pack by pack, authenticated and written straight
 * into a staging folder on the destination's filesystem (src/store/
 * folder-restore.ts: no tar on this path; a pack the source has as a local
 * file — fetched ahead, or on a drive — is read from it), then committed into place with
 * the same rules as every restore (commit-staging.ts: a differing existing
 * file is kept as NAME.pre-restore).
 *
 * Keys: the owner's tree key derives from their identity (the vault opened
 * with the passphrase or recovery key); a shared snapshot's comes with the
 * share. Without either, the folder is skipped — said plainly, never guessed.
 *
 * Outcomes:
 * - done;
 * - skipped: locked (no key for this tree);
 * - thrown (stops the restore, nothing of the folder left in the target): a
 *   tree or chunk that does not authenticate, or a source that cannot
 *   deliver;
 * - failed: the target cannot take it (path escapes the root, disk full…).
 * Interrupted: the staging folder and its journal stay; the next run
 * fetches only the files not finished.
 */
import { rm } from 'node:fs/promises';
import type { BlobRef, FileEntryV2 } from '../manifest/types.ts';
import type { PlanStep } from '../restore-machine/plan.ts';
import { restoreFolder, type FolderRestoreResult } from '../store/folder-restore.ts';
import { deriveDataKeys, treeKey } from '../store/keys.ts';
import { TreeReader } from '../store/tree-reader.ts';
import { Relocator } from '../store/relocate.ts';
import { zstdContext } from '../store/zstd.ts';
import { CodedError, hasCode, isVerificationError } from '../util/coded-error.ts';
import { errMessage } from '../util/fs.ts';
import type { ApplyContext, Progress, StepOutcome } from './applier.ts';
import { commitStaging, removeStaging, stagingDirFor } from './commit-staging.ts';

export const FILES_LOCKED_MESSAGE = 'locked: the passphrase or recovery key opens files, repositories and secrets; without it only system settings and apps are restored';

/** The tree key of an entry for this restore: the owner's, or the one a share handed over. */
export function treeKeyFor(ctx: ApplyContext, tree: string, nonce: string): Uint8Array | undefined {
  const shared = ctx.treeKeys?.get(tree);
  if (shared) return shared;
  // Someone else's snapshot: my identity does not derive their keys (only a share's keys open it).
  if (!ctx.identity || ctx.choice.owner) return undefined;
  return treeKey(deriveDataKeys(ctx.identity.signing.seed).treeKeyRoot, Buffer.from(nonce, 'base64'));
}

/** A data v2 tree (a folder, or a repository's bundle) of this restore. */
export interface TreeToRestore {
  tree: string;
  nonce: string;
  select?: string;
}

/**
 * Restores a tree into `staging` (kept for the caller, with its journal
 * `<staging>.journal`). Undefined when locked (no key for this tree).
 * Verification errors remove the staging and are thrown.
 */
export async function restoreTreeInto(ctx: ApplyContext, t: TreeToRestore, staging: string, progress: Progress): Promise<FolderRestoreResult | undefined> {
  const key = treeKeyFor(ctx, t.tree, t.nonce);
  if (!key) return undefined;
  const { read, remote, local } = ctx.blobs;
  if (!read || (!remote && !local)) throw new CodedError('chunk_missing', 'this restore source cannot read data v2 trees (no ranged reads)');
  const hex = t.tree.slice('sha256:'.length);
  const signal = ctx.signal ? { signal: ctx.signal } : {};
  const bytes = { read: (h: string, s?: number, e?: number) => read(`sha256:${h}`, s, e, signal) };
  // The owner finds what a prune moved through the packs' tables of contents (a recipient's packs are never moved).
  const list = ctx.blobs.list;
  const relocate = list && ctx.identity && !ctx.choice.owner ? new Relocator({ list }, bytes, deriveDataKeys(ctx.identity.signing.seed).tocKey) : undefined;
  const reader = new TreeReader(bytes, zstdContext(), undefined, relocate);
  const journal = `${staging}.journal`;
  try {
    const root = await reader.root(hex, key);
    return await restoreFolder({
      reader,
      root,
      packs: {
        ...(local ? { file: (p: string) => local(`sha256:${p}`) } : {}),
        ...(remote ? { remote: (p: string) => remote(`sha256:${p}`, signal) } : {}),
      },
      staging,
      journal,
      ...(t.select ? { select: Buffer.from(t.select) } : {}),
      uid: ctx.target.uid,
      gid: ctx.target.gid,
      onProgress: (p) => progress({ bytes: p.bytes, items: p.files }),
      ...(relocate ? { relocate } : {}),
      ...signal,
    });
  } catch (e) {
    if (isVerificationError(e) || hasCode(e, 'path_not_in_snapshot')) {
      // Not what was signed (or nothing to restore): nothing of it stays, not even for a resume.
      await rm(journal, { force: true });
      await removeStaging(staging);
    }
    throw e;
  }
}

/** The staging folder of a data v2 files step: kept between runs (its journal resumes it), the same for the step and its staging ahead. */
function stagingOf(step: PlanStep, entry: FileEntryV2, dest: string, ctx: ApplyContext): Promise<string> {
  const hex = entry.tree.slice('sha256:'.length);
  return stagingDirFor(ctx.target.root, dest, `files-v2-${hex.slice(0, 24)}${step.select ? `-${Buffer.from(step.select).toString('hex').slice(0, 32)}` : ''}`, { keep: true });
}

/**
 * Stages a data v2 folder before its step runs (the fetch-ahead does it
 * while apt runs, ahead.ts): into the step's own staging folder and
 * journal, so that the step finds every file finished and only commits.
 * Nothing for a locked folder; errors are the step's to meet and report.
 */
export async function stageFilesV2Ahead(step: PlanStep, entry: FileEntryV2, dest: string, ctx: ApplyContext, progress: Progress): Promise<readonly BlobRef[]> {
  if (!treeKeyFor(ctx, entry.tree, entry.tree_nonce)) return [];
  const r = await restoreTreeInto(ctx, { tree: entry.tree, nonce: entry.tree_nonce, ...(step.select ? { select: step.select } : {}) }, await stagingOf(step, entry, dest, ctx), progress);
  // Staged whole, the step reads the tree root again (its journal then says the rest is done), never a pack.
  return r ? entry.packs : [];
}

export async function applyFilesV2(step: PlanStep, entry: FileEntryV2, dest: string, ctx: ApplyContext, progress: Progress): Promise<StepOutcome> {
  const { target } = ctx;
  const staging = await stagingOf(step, entry, dest, ctx);
  let r;
  try {
    r = await restoreTreeInto(ctx, { tree: entry.tree, nonce: entry.tree_nonce, ...(step.select ? { select: step.select } : {}) }, staging, progress);
  } catch (e) {
    if (hasCode(e, 'path_not_in_snapshot')) return { status: 'failed', message: e.message };
    if (hasCode(e, 'restore_write_failed')) return { status: 'failed', message: `${entry.local_path}: ${e.message}` };
    throw e;
  }
  if (!r) return { status: 'skipped', message: FILES_LOCKED_MESSAGE };
  try {
    const commit = await commitStaging({ targetRoot: target.root, dest, stagingDir: staging, uid: target.uid, gid: target.gid });
    await rm(`${staging}.journal`, { force: true });
    await removeStaging(staging); // the journal kept the staging folders' parent: it goes now

    const kept = commit.preRestored.map((p) => `kept ${p} (was different)`);
    ctx.log(`files ${step.label}: ${r.files} files, ${r.dirs} folders into ${dest} (${commit.placed} placed, ${commit.identical} identical, ${kept.length} kept as .pre-restore${r.resumed ? `, ${r.resumed} finished by an earlier run` : ''})`);
    return { status: 'done', message: `${r.files} files restored into ${dest}`, ...(kept.length ? { details: kept, preRestored: commit.preRestored } : {}) };
  } catch (e) {
    return { status: 'failed', message: `${entry.local_path}: ${errMessage(e)}` };
  }
}
