/**
 * `[[files.entry]]`: each configured folder that exists (default Documentos/
 * Documents, Imagens/Pictures, Vídeos/Videos, Downloads) as a deterministic
 * tar of its contents (tar-writer.ts) streamed through zstd into the blob
 * cache, hashed on the way: `sha256`/`size` of the tar, the blob's address
 * and `stored_size`. Memory does not grow with the folder.
 *
 * Left out: `[skips]` patterns, the `.git` of every repository the repos
 * collector captured (it travels as a bundle), and what a restore cannot take
 * back (sockets, FIFOs, devices, symlinks pointing out of the folder; each
 * reported). setuid/setgid bits are dropped.
 *
 * Unchanged folders are not archived again: a first walk computes a scan key
 * (state.ts); when it equals the last capture's, that capture's entry is
 * reused and the blob is only rebuilt if neither the cache nor the server
 * has it.
 */
import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { isV2Files, type BlobRef, type FileEntry, type FileEntryV2 } from '../../manifest/types.ts';
import { captureTree, type DataV2 } from '../data-v2.ts';
import { zstdWorkers } from '../config.ts';
import { manifestProblem, type CollectContext } from '../context.ts';
import { CaptureError, errMessage } from '../errors.ts';
import { expandHome, manifestPath } from '../paths.ts';
import type { FilesState } from '../state.ts';
import { tarStream } from '../tar-writer.ts';
import { walkTree, type WalkOptions } from '../walk.ts';

/** Format version of the scan key: bump when the tar layout changes. */
const SCAN_VERSION = 'koder-files-v1';
const MAX_WARNINGS = 20;

/** Walk options that report what is left out (patterns silently), at most MAX_WARNINGS lines. */
function walkOptions(ctx: CollectContext, label: string, report: boolean): WalkOptions & { flush(): void } {
  let n = 0;
  return {
    skip: ctx.skip,
    onSkip: (p, why) => {
      if (!report || why === 'skip pattern') return;
      if (++n <= MAX_WARNINGS) ctx.warn(`${label}: ${p} left out (${why})`);
    },
    flush: () => {
      if (n > MAX_WARNINGS) ctx.warn(`${label}: and ${n - MAX_WARNINGS} more left out`);
    },
  };
}

/** The scan key and total file bytes of a folder (one walk, stat only); `counted` hears the bytes found so far. */
export async function scanFolder(dir: string, ctx: CollectContext, level: number, counted?: (bytes: number) => void): Promise<{ scanKey: string; bytes: number }> {
  const h = createHash('sha256').update(`${SCAN_VERSION}\0${level}\0`);
  let bytes = 0;
  for await (const e of walkTree(dir, walkOptions(ctx, dir, false))) {
    const s = e.stat;
    h.update(`${e.rel}\0${e.kind}\0${s.size}\0${s.mode}\0${s.mtimeNs}\0${s.ctimeNs}\0${s.ino}\0${e.link ?? ''}\n`);
    if (e.kind === 'file') {
      bytes += Number(s.size);
      counted?.(bytes);
    }
  }
  return { scanKey: h.digest('hex'), bytes };
}

async function buildFolder(dir: string, label: string, total: number, ctx: CollectContext): Promise<FilesState & { ms: number }> {
  const t0 = Date.now();
  let done = 0;
  let last = 0;
  ctx.emit({ type: 'build.start', label, total });
  const opts = walkOptions(ctx, label, true);
  const tar = tarStream(walkTree(dir, opts), {
    onBytes: (n) => {
      done += n;
      const now = Date.now();
      if (now - last >= 100) {
        last = now;
        ctx.emit({ type: 'build.progress', label, done, total });
      }
    },
    onWarn: (m) => ctx.warn(`${label}: ${m}`),
  });
  const blob = await ctx.store.putCompressed(tar, { level: ctx.config.files.zstd_level, workers: zstdWorkers(ctx.config) }, ctx.signal);
  opts.flush();
  return { scanKey: '', blob: blob.hex, sha256: blob.inputSha256, size: blob.inputSize, stored_size: blob.size, ms: Date.now() - t0 };
}

/**
 * A folder as a data v2 tree (src/store): only new chunks are uploaded,
 * unchanged files are not read. The entry's fields are filled once the
 * capture's store has finished (DataV2.finish).
 */
async function captureFolderV2(dir: string, label: string, ctx: CollectContext, v2: DataV2): Promise<FileEntryV2> {
  const previous = ctx.parent?.files?.entry?.find((f) => f.local_path === label);
  const parent = previous && isV2Files(previous) ? previous : undefined;
  const t0 = Date.now();
  // The progress bar's total: the parent's size, or, in a first capture, a count of the folder made
  // beside the capture, as restic's scanner does. Counted before it, that walk of a cold folder held
  // the capture back (2.2 s of a 7.8 s first capture of 14,359 files, bench/peer-restic.ts). Until the
  // count ends, the total is what it has found so far; it reads no file, so it runs ahead. It stops
  // if the capture ends first; what it cannot read, the capture's own walk reports.
  let total = parent?.size ?? 0;
  let captured = false;
  if (!parent)
    void scanFolder(dir, ctx, 0, (n) => {
      if (captured) throw new Error('captured');
      total = n;
    }).then(
      (r) => void (total = r.bytes),
      () => undefined,
    );
  ctx.emit({ type: 'build.start', label, total });
  let last = 0;
  const { fields } = await captureTree(v2, dir, label, {
    ...(parent ? { parent } : {}),
    skips: (abs, name) => ctx.skip.skips(abs, name),
    warn: ctx.warn,
    onProgress: (done) => {
      const now = Date.now();
      if (now - last < 100) return;
      last = now;
      ctx.emit({ type: 'build.progress', label, done, total: Math.max(total, done) });
    },
    ...(ctx.signal ? { signal: ctx.signal } : {}),
  }).finally(() => (captured = true));
  const entry = { local_path: label } as FileEntryV2;
  v2.fillers.push(async () => {
    Object.assign(entry, fields);
    ctx.emit({ type: 'build.done', label, hex: fields.tree.slice('sha256:'.length), size: 0, inputSize: fields.size, reused: fields.tree === parent?.tree, ms: Date.now() - t0 });
  });
  return entry;
}

export async function collectFiles(ctx: CollectContext): Promise<FileEntry[]> {
  for (const w of ctx.repoWorktrees) ctx.skip.addPath(`${w}/.git`);
  const out: FileEntry[] = [];
  const seen = new Set<string>();
  for (const folder of ctx.config.files.folders) {
    ctx.signal?.throwIfAborted();
    const dir = expandHome(folder, ctx.home);
    const label = manifestPath(dir, ctx.home);
    if (seen.has(label)) continue;
    try {
      if (!(await stat(dir)).isDirectory()) continue;
    } catch {
      continue; // Only the folders that exist.
    }
    seen.add(label);
    if (ctx.skip.skipsPathOrParent(dir)) {
      ctx.warn(`${label}: matches a [skips] pattern; left out`);
      continue;
    }
    if (ctx.v2) {
      try {
        out.push(await captureFolderV2(dir, label, ctx, ctx.v2));
      } catch (e) {
        if (ctx.signal?.aborted) throw e;
        const previous = ctx.parent?.files?.entry?.find((f) => f.local_path === label);
        if (previous && isV2Files(previous)) out.push(previous);
        ctx.warn(`${label}: cannot capture (${errMessage(e)}); ${previous && isV2Files(previous) ? "kept the previous snapshot's tree" : 'left out'}`);
      }
      continue;
    }
    try {
      const level = ctx.config.files.zstd_level;
      const { scanKey, bytes } = await scanFolder(dir, ctx, level);
      let st = ctx.state.data.files[label];
      if (st && st.scanKey === scanKey) {
        ctx.emit({ type: 'build.done', label, hex: st.blob, size: st.stored_size, inputSize: st.size, reused: true, ms: 0 });
      } else {
        const built = await buildFolder(dir, label, bytes, ctx);
        st = { scanKey, blob: built.blob, sha256: built.sha256, size: built.size, stored_size: built.stored_size };
        ctx.state.data.files[label] = st;
        ctx.emit({ type: 'build.done', label, hex: st.blob, size: st.stored_size, inputSize: st.size, reused: false, ms: built.ms });
      }
      const want = st;
      ctx.blobs.set(want.blob, {
        hex: want.blob,
        label,
        size: want.stored_size,
        rebuild: async () => {
          const again = await buildFolder(dir, label, bytes, ctx);
          if (again.blob !== want.blob) {
            delete ctx.state.data.files[label];
            await ctx.state.save();
            throw new CaptureError('capture_blob_failed', `${label} changed since it was scanned (the cached archive is gone and a new one differs); run the capture again`);
          }
        },
      });
      const entry: FileEntry = { local_path: label, blob: `sha256:${want.blob}` as BlobRef, sha256: want.sha256, size: want.size, stored_size: want.stored_size };
      const problem = manifestProblem({ files: { entry: [entry] } });
      if (problem) ctx.warn(`${label}: ${problem}; left out`);
      else out.push(entry);
    } catch (e) {
      if (e instanceof CaptureError || ctx.signal?.aborted) throw e;
      // A read error must not drop the folder from the latest snapshot: keep the last archive of it.
      const previous = ctx.parent?.files?.entry?.find((f) => f.local_path === label);
      if (previous) out.push(previous);
      ctx.warn(`${label}: cannot archive (${errMessage(e)}); ${previous ? 'kept the previous snapshot\'s archive' : 'left out'}`);
    }
  }
  return out;
}
