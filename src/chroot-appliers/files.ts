/**
 * The files applier ('files.restore'): one `[[files.entry]]` — a folder
 * archived as a zstd-compressed POSIX tar — restored into the target.
 *
 * ## Tar layout (what the archive's entry names are relative to)
 *
 * Entry names are relative to the folder `local_path` itself. Capture makes
 * the archive with
 *
 *     tar --format=posix -C ~/Documentos -cf - . | zstd
 *
 * (src/capture/tar-writer.ts writes exactly this layout, deterministically),
 * so the archive holds `./`, `./a.txt`, `./sub/`, `./sub/b.txt`, … and
 * `./a.txt` lands in `~/Documentos/a.txt` (with `~` being the *target* user's
 * home, see target.ts). Names without the leading `./` (`a.txt`) mean the
 * same. The `./` entry stands for the folder itself: its mode and owner are
 * not taken from the archive — a missing folder is created 0755 owned by the
 * target user, an existing one keeps its own (tar-extract.ts).
 * Absolute names, `..`, devices, FIFOs, setuid/setgid bits and symlinks out of
 * the folder are refused (tar-extract.ts), so capture skips those (GNU tar
 * already skips sockets). Owners in the archive are ignored: everything
 * restored is owned by the target user (uid/gid from the target's
 * /etc/passwd), whatever the uid on the captured machine was.
 *
 * A manifest path names a folder, never the home itself (`~/` is not a valid
 * path, docs/manifest.md). Should the format ever allow `~` alone (dotfiles
 * such as `~/.bashrc` captured with `tar -C ~ .`), this applier already
 * restores it into the home.
 *
 * ## Data path
 *
 *   ctx.blobs.remote(blob) (or .open) ─▶ restoreTarZst (commit-staging.ts):
 *   download + sha256 of the blob + zstd in a worker thread ─▶ extract into a
 *   staging dir on the destination's filesystem ─▶ the digest must be the
 *   blob's address ─▶ commit (rename) into the folder, an existing differing
 *   file kept as `NAME.pre-restore`. Memory stays flat whatever the size.
 *
 * The blob is hashed by the extractor's worker, not by the BlobSource, and
 * when the source is behind HTTP (`BlobSource.remote`) the worker downloads
 * it too: tar parsing and file writes keep the calling thread busy enough.
 * The tar's own digest (`entry.sha256`) is not recomputed: authentic
 * compressed bytes decode to one tar, and hashing it cost 1 CPU-s per GiB
 * (bench/README.md).
 *
 * ## Outcomes
 *
 * - done: details list the `.pre-restore` files kept.
 * - thrown (a verification failure stops the restore; nothing is left in the
 *   target): the stored bytes do not hash to the address (TarHashMismatchError
 *   'blob'), or the BlobSource could not deliver them, or the archive was unreadable/refused *and*
 *   re-reading the blob shows it was altered. A tampered blob usually breaks
 *   zstd or the tar format before its last byte (and with it the address
 *   check) is reached, hence that re-read.
 * - failed (the restore goes on): the archive is authentic but refused
 *   (unsafe entry, bad format) or the target cannot take it (the folder's
 *   path escapes the root or crosses a file, disk full, …).
 *
 * Idempotent: a second run finds every file identical and changes nothing.
 */
import type { PlanStep } from '../restore-machine/plan.ts';
import type { ApplyContext, Progress, StepApplier, StepOutcome } from './applier.ts';
import { isV2Files, type BlobRef } from '../manifest/types.ts';
import { applyFilesV2, stageFilesV2Ahead } from './files-v2.ts';
import { verifyBlob, watched, watchedRemote } from './blob-stream.ts';
import { restoreTarZst } from './commit-staging.ts';
import { TarFormatError, TarHashMismatchError, UnsafeTarError, ZstdError } from './tar-errors.ts';
import type { TarZstInput } from './tar-source.ts';
import { targetPath, type Target } from './target.ts';
import { errMessage } from '../util/fs.ts';

/** The folder a files entry restores into, as a path inside the target. */
export function filesDestination(target: Target, localPath: string): string {
  return localPath === '~' ? target.home : targetPath(target, localPath);
}


/**
 * Stages a files step ahead of its turn (a data v2 folder: files-v2.ts
 * `stageFilesV2Ahead`); a version 1 archive is left to the step (its blob is
 * fetched ahead, its extraction and commit are one pass).
 */
export async function stageFilesAhead(step: PlanStep, ctx: ApplyContext, progress: Progress): Promise<readonly BlobRef[]> {
  const found = ctx.manifest.files?.entry?.find((f) => f.local_path === step.key);
  if (!found || !isV2Files(found)) return [];
  return stageFilesV2Ahead(step, found, filesDestination(ctx.target, found.local_path), ctx, progress);
}

export const applyFiles: StepApplier = async (step: PlanStep, ctx: ApplyContext, progress: Progress): Promise<StepOutcome> => {
  const found = ctx.manifest.files?.entry?.find((f) => f.local_path === step.key);
  if (!found) return { status: 'failed', message: `no [[files.entry]] with local_path ${JSON.stringify(step.key)} in the manifest` };
  const { target } = ctx;
  const dest = filesDestination(target, found.local_path);
  if (isV2Files(found)) return applyFilesV2(step, found, dest, ctx, progress);
  const entry = found;
  const hex = entry.blob.slice('sha256:'.length);
  // Progress in the unit the plan counted: stored bytes when known, else tar bytes.
  const counted = entry.stored_size !== undefined ? 'compressedBytes' : 'tarBytes';

  // The blob's digest is checked by the extractor's worker, beside zstd:
  // over HTTP the worker downloads it too (remote), else it reads a stream
  // the source does not hash (callerVerifies).
  const { input, failure, close } = await openInput(ctx, entry.blob);
  try {
    const r = await restoreTarZst(input, {
      targetRoot: target.root,
      dest,
      key: `files-${hex}`,
      uid: target.uid,
      gid: target.gid,
      expectedSha256OfBlob: hex,
      onProgress: (p) => progress({ bytes: p[counted], items: 0 }),
      ...(ctx.signal ? { signal: ctx.signal } : {}),
    });
    progress({ bytes: counted === 'compressedBytes' ? r.compressedBytes : r.tarBytes, items: 1 });
    const kept = r.commit.preRestored.map((p) => `kept ${p} (was different)`);
    ctx.log(`files ${entry.local_path}: ${r.entries} entries into ${dest} (${r.commit.placed} placed, ${r.commit.identical} identical, ${kept.length} kept as .pre-restore)`);
    return {
      status: 'done',
      message: `${r.entries} entries restored into ${dest}`,
      ...(kept.length ? { details: kept, preRestored: r.commit.preRestored } : {}),
    };
  } catch (e) {
    if (failure.error !== undefined) throw failure.error;
    if (e instanceof TarHashMismatchError) throw e;
    if (ctx.signal?.aborted) throw e;
    if (e instanceof UnsafeTarError || e instanceof ZstdError || e instanceof TarFormatError) {
      // Altered bytes, or an authentic archive we refuse? Only the whole blob tells.
      await verifyBlob(ctx.blobs, entry.blob, ctx.signal);
      return { status: 'failed', message: `${entry.local_path}: archive refused: ${errMessage(e)}` };
    }
    return { status: 'failed', message: `${entry.local_path}: ${errMessage(e)}` };
  } finally {
    close();
  }
};

/**
 * The blob as the extractor's input, with the source's own failures (it
 * could not deliver the bytes) told apart from the consumer's.
 */
async function openInput(ctx: ApplyContext, ref: BlobRef): Promise<{ input: TarZstInput; failure: { error?: unknown }; close: () => void }> {
  const signal = ctx.signal ? { signal: ctx.signal } : {};
  if (ctx.blobs.remote && !ctx.blobs.local?.(ref)) {
    const { remote, failure } = watchedRemote(ctx.blobs.remote(ref, signal));
    return { input: { remote }, failure, close: () => undefined };
  }
  const source = await ctx.blobs.open(ref, { callerVerifies: true, ...signal });
  const { chunks, failure } = watched(source);
  return { input: chunks, failure, close: () => source.destroy() };
}
