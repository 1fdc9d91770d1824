/**
 * Streaming, refusing extraction of a files blob (zstd-compressed POSIX tar)
 * into a staging directory:
 *
 *   source ─▶ [sha256 of blob] ─▶ zstd decompress ─▶ [sha256 of tar] ─▶ tar reader ─▶ files in stagingDir
 *            └──────────── worker thread (default) ────────────┘   └──────── calling thread ────────┘
 *
 * Pieces: where the bytes come from (tar-source.ts, zstd-worker-source.ts,
 * zstd-worker.ts), the tar format (tar-reader.ts and its parts), entries
 * into files and what is refused (staging-tree.ts), the data writes
 * (write-window.ts), the errors (tar-errors.ts). This file runs them in
 * order: prepare the staging dir, every entry, the digests, the final
 * symlink check, directory modes; on any failure the staging dir is
 * removed and the error rethrown.
 *
 * Everything is pulled with bounded buffers: compressed chunks are read only
 * while the decompressor has room, decompressed chunks are produced only while
 * the tar reader has taken the previous ones, and file data is written as it
 * comes (never a whole file in memory). Memory therefore stays flat whatever
 * the blob size, file size or compression ratio (a 768 MiB file of zeros,
 * a ~30 KiB "zstd bomb", is a test). By default decompression and hashing
 * run in a worker thread, overlapping with the file system calls of the
 * calling thread (what `zstd -d | tar -x` gets from being two processes);
 * given a RemoteBlob instead of a stream, the worker downloads it too.
 * `zstdInWorker: false` keeps decompression in-thread. Choice measured in
 * bench/README.md.
 *
 * Refused: what staging-tree.ts refuses (UnsafeTarError), a malformed
 * archive (TarFormatError, tar-reader.ts), a sha256 mismatch
 * (TarHashMismatchError).
 *
 * Hashes: the ones asked for. The files applier asks for the blob's (its
 * address), hashed beside zstd rather than by the download stream on the busy
 * calling thread; it does not ask for the tar's, which authentic compressed
 * bytes fix anyway (deterministic decoding) and which would cost 1 CPU-s per
 * GiB of tar (bench/README.md). Asked for neither, the tar's is computed and
 * returned.
 */
import { chmod, lstat, mkdir, readdir, rm, rmdir } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { StagingTree } from './staging-tree.ts';
import { TarHashMismatchError } from './tar-errors.ts';
import { readTar } from './tar-reader.ts';
import { inThreadSource, isRemote, plainTarSource, type SourceHashes, type TarSource, type TarZstInput } from './tar-source.ts';
import { WriteWindow } from './write-window.ts';
import { zstdWorkerSource } from './zstd-worker-source.ts';

export { safeComponents } from './staging-tree.ts';

export interface ExtractProgress {
  /** Entries extracted so far. */
  entries: number;
  /** Bytes of file data written so far. */
  bytes: number;
  /** Decompressed tar bytes read so far. */
  tarBytes: number;
  /** Compressed bytes read so far (extractTarZst only). */
  compressedBytes: number;
}

export interface ExtractOptions {
  /** Directory to extract into; must not exist or be empty. Its parent must
   *  exist. Removed entirely if extraction fails. */
  stagingDir: string;
  /** Lowercase hex sha256 of the decompressed tar stream. */
  expectedSha256OfTar?: string;
  /** Lowercase hex sha256 of the compressed bytes (the blob's address). */
  expectedSha256OfBlob?: string;
  /** Owner of everything created. */
  uid: number;
  gid: number;
  onProgress?: (p: ExtractProgress) => void;
  signal?: AbortSignal;
  /** Bytes of file data allowed in flight to the kernel (default 8 MiB). */
  writeWindowBytes?: number;
  /** In-thread mode: files up to this size are written synchronously (default
   *  1 MiB); larger ones through the libuv pool, overlapping decompression.
   *  With the worker, every write is synchronous (the worker is the overlap). */
  syncWriteMaxBytes?: number;
  /** Decompress (and hash) in a worker thread, in parallel with the writes
   *  (default true); false keeps everything on the calling thread. */
  zstdInWorker?: boolean;
}

export interface ExtractResult {
  entries: number;
  /** Bytes of file data written. */
  bytes: number;
  /** Size of the decompressed tar stream. */
  tarBytes: number;
  /** Size of the compressed input (extractTarZst only; 0 otherwise). */
  compressedBytes: number;
  /** sha256 of the decompressed tar stream (hex), when computed: asked for, or no blob digest asked for. */
  sha256?: string;
  /** sha256 of the compressed input (hex; extractTarZst only). */
  blobSha256?: string;
}

/**
 * Extracts a zstd-compressed tar stream into `opts.stagingDir` (see the file
 * header for what is refused). On any failure the staging dir is removed and
 * the error rethrown.
 */
export async function extractTarZst(source: TarZstInput, opts: ExtractOptions): Promise<ExtractResult> {
  const hashes: SourceHashes = {
    hashBlob: opts.expectedSha256OfBlob !== undefined,
    // Authentic compressed bytes decode to one tar: with the blob's digest
    // checked, the tar's (1 CPU-s per GiB) adds nothing unless asked for.
    hashTar: opts.expectedSha256OfTar !== undefined || opts.expectedSha256OfBlob === undefined,
  };
  if (opts.zstdInWorker === false && isRemote(source)) throw new Error('a remote blob is fetched by the zstd worker: zstdInWorker must not be false');
  const src = opts.zstdInWorker === false ? inThreadSource(source as Readable | AsyncIterable<Uint8Array>, hashes) : zstdWorkerSource(source, hashes, opts.signal);
  return extractFrom(src, opts);
}

/** Same as extractTarZst for an uncompressed tar stream. */
export function extractTar(source: Readable | AsyncIterable<Uint8Array>, opts: ExtractOptions): Promise<ExtractResult> {
  return extractFrom(plainTarSource(source), opts);
}

async function extractFrom(src: TarSource, opts: ExtractOptions): Promise<ExtractResult> {
  if (!isAbsolute(opts.stagingDir)) throw new Error(`stagingDir must be absolute: ${opts.stagingDir}`);
  const staging = resolve(opts.stagingDir);
  try {
    await prepareStagingDir(staging);
  } catch (e) {
    await src.close();
    throw e;
  }
  const window = new WriteWindow(opts.writeWindowBytes ?? 8 * 1024 * 1024, 64);
  let entries = 0;
  let lastProgress = 0;
  const progress = (force: boolean) => {
    if (!opts.onProgress) return;
    const now = Date.now();
    if (!force && now - lastProgress < 100) return;
    lastProgress = now;
    opts.onProgress({ entries, bytes: tree.bytes, tarBytes: src.tarBytes(), compressedBytes: src.compressedBytes() });
  };
  const tree = new StagingTree(staging, {
    uid: opts.uid,
    gid: opts.gid,
    // Transient chunks (worker rings) must be written before the next one is read.
    syncUpTo: src.transientChunks ? Infinity : (opts.syncWriteMaxBytes ?? 1024 * 1024),
    window,
    onData: () => progress(false),
    ...(opts.signal ? { signal: opts.signal } : {}),
  });

  try {
    for await (const entry of readTar(src.chunks)) {
      if (opts.signal?.aborted) throw opts.signal.reason ?? new Error('aborted');
      window.check();
      await tree.add(entry.header, entry.body);
      entries += 1;
      progress(false);
    }
    await window.idle();

    const tarSha = src.tarSha256();
    if (opts.expectedSha256OfTar !== undefined && tarSha !== opts.expectedSha256OfTar.toLowerCase()) {
      throw new TarHashMismatchError('tar', opts.expectedSha256OfTar, tarSha ?? '(not computed)');
    }
    const blobSha = src.blobSha256();
    if (opts.expectedSha256OfBlob !== undefined && blobSha !== opts.expectedSha256OfBlob.toLowerCase()) {
      throw new TarHashMismatchError('blob', opts.expectedSha256OfBlob, blobSha ?? '(not computed)');
    }
    tree.checkSymlinks();
    await tree.finishDirs();
    progress(true);
    await src.close();
    return {
      entries,
      bytes: tree.bytes,
      tarBytes: src.tarBytes(),
      compressedBytes: src.compressedBytes(),
      ...(tarSha !== undefined ? { sha256: tarSha } : {}),
      ...(blobSha !== undefined ? { blobSha256: blobSha } : {}),
    };
  } catch (e) {
    await src.close().catch(() => undefined);
    await window.settle();
    tree.closeAll();
    await removeTree(staging);
    throw e;
  }
}

async function prepareStagingDir(dir: string): Promise<void> {
  try {
    await mkdir(dir, { mode: 0o700 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    const st = await lstat(dir);
    if (!st.isDirectory()) throw new Error(`staging dir ${dir} exists and is not a directory`);
    if ((await readdir(dir)).length > 0) throw new Error(`staging dir ${dir} is not empty`);
  }
  await chmod(dir, 0o700);
}

/** rm -rf that copes with read-only directories left by a partial tree (names as bytes). */
async function removeTree(dir: string): Promise<void> {
  try {
    await rm(dir, { recursive: true, force: true });
  } catch {
    // Make every directory writable, then try again.
    const fix = async (d: Buffer): Promise<void> => {
      await chmod(d, 0o700).catch(() => undefined);
      for (const e of await readdir(d, { withFileTypes: true, encoding: 'buffer' }).catch(() => [])) {
        if (e.isDirectory()) await fix(Buffer.concat([d, Buffer.from('/'), e.name]));
      }
    };
    await fix(Buffer.from(dir));
    await rm(dir, { recursive: true, force: true });
  }
  await rmdir(dir).catch(() => undefined);
}
