/**
 * Streaming, refusing extraction of a files blob (zstd-compressed POSIX tar)
 * into a staging directory:
 *
 *   source ─▶ [sha256 of blob] ─▶ zstd decompress ─▶ [sha256 of tar] ─▶ tar reader ─▶ files in stagingDir
 *            └──────────── worker thread (default) ────────────┘   └──────── calling thread ────────┘
 *
 * Everything is pulled with bounded buffers: compressed chunks are read only
 * while the decompressor has room, decompressed chunks are produced only while
 * the tar reader has taken the previous ones, and file data is written as it
 * comes (never a whole file in memory). Memory therefore stays flat whatever
 * the blob size, file size or compression ratio (a 768 MiB file of zeros,
 * a ~30 KiB "zstd bomb", is a test).
 *
 * Pieces: where the bytes come from (tar-source.ts: a plain tar, or zstd
 * in-thread; zstd-worker-source.ts + zstd-worker.ts: zstd, with the sha256
 * hashing, in a worker thread, so decompression overlaps with the file
 * system calls of the calling thread, what `zstd -d | tar -x` gets from
 * being two processes; given a RemoteBlob instead of a stream, the worker
 * downloads it too), the data writes (write-window.ts), the errors
 * (tar-errors.ts). `zstdInWorker: false` keeps decompression in-thread.
 * Choice measured in bench/README.md.
 *
 * File system calls for metadata (open, mkdir, chown, chmod, utimes, close,
 * symlink, link) are synchronous: microseconds each, and a libuv pool round
 * trip per call made small files several times slower than GNU tar. File data
 * up to `syncWriteMaxBytes` is written synchronously too; larger files go
 * through the pool with a bounded window of positional writes in flight.
 *
 * Refused with UnsafeTarError (entry + reason), after which the staging dir is
 * removed: absolute names, `..` components, symlinks whose target is absolute
 * or climbs out of the staging root (checked lexically per entry, then by a
 * real in-root resolution of every symlink once the tree is complete),
 * hardlinks to anything but a regular file extracted earlier from the same
 * archive, character/block devices, FIFOs, unknown entry types (sparse,
 * multi-volume, ...), setuid/setgid bits, and entries whose path goes through
 * a symlink. A sha256 mismatch (TarHashMismatchError) also removes it.
 *
 * Hashes: the ones asked for. The files applier asks for the blob's (its
 * address), hashed here beside zstd rather than by the download stream on
 * the busy calling thread; it does not ask for the tar's, which authentic
 * compressed bytes fix anyway (deterministic decoding) and which would cost
 * 1 CPU-s per GiB of tar (bench/README.md). Asked for neither, the tar's is
 * computed and returned.
 *
 * Owners in the archive are ignored: everything created gets `uid`/`gid`.
 */
import {
  chownSync,
  closeSync,
  constants as fsc,
  fchmodSync,
  fchownSync,
  futimesSync,
  lchownSync,
  linkSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  openSync,
  symlinkSync,
  unlinkSync,
} from 'node:fs';
import { chmod, lstat, mkdir, readdir, rm, rmdir, utimes } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { PathEscapeError, resolveInRootSync } from './safe-path.ts';
import { TarHashMismatchError, UnsafeTarError } from './tar-errors.ts';
import { readTar, type TarHeader } from './tar-reader.ts';
import { inThreadSource, isRemote, plainTarSource, type SourceHashes, type TarSource, type TarZstInput } from './tar-source.ts';
import { FileWrites, WriteWindow, writeAllSync, writeAt } from './write-window.ts';
import { zstdWorkerSource } from './zstd-worker-source.ts';

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

/** Splits an archive name into safe components or throws UnsafeTarError. */
export function safeComponents(name: string, entryForError = name): string[] {
  if (name.startsWith('/')) throw new UnsafeTarError(entryForError, 'absolute-path');
  const parts = name.split('/').filter((c) => c !== '' && c !== '.');
  if (parts.includes('..')) throw new UnsafeTarError(entryForError, 'dotdot');
  return parts;
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

interface DeferredDir {
  path: string;
  mode: number;
  mtime: number;
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

  const { uid, gid } = opts;
  const window = new WriteWindow(opts.writeWindowBytes ?? 8 * 1024 * 1024, 64);
  // Transient chunks (worker rings) must be written before the next one is read.
  const syncUpTo = src.transientChunks ? Infinity : (opts.syncWriteMaxBytes ?? 1024 * 1024);
  /** fds of large files still being written in the background. */
  const openFds = new Set<number>();
  /** Archive paths (joined components) of symlinks we created. */
  const symlinks = new Set<string>();
  /** Archive paths of directories known to exist as real directories in staging. */
  const knownDirs = new Set<string>(['']);
  /** Directories whose mode/mtime is set at the end (insertion order = creation order). */
  const dirs = new Map<string, DeferredDir>();
  let entries = 0;
  let bytes = 0;
  let lastProgress = 0;
  const progress = (force: boolean) => {
    if (!opts.onProgress) return;
    const now = Date.now();
    if (!force && now - lastProgress < 100) return;
    lastProgress = now;
    opts.onProgress({ entries, bytes, tarBytes: src.tarBytes(), compressedBytes: src.compressedBytes() });
  };
  const host = (parts: string[]) => (parts.length === 0 ? staging : `${staging}/${parts.join('/')}`);
  const checkAbort = () => {
    if (opts.signal?.aborted) throw opts.signal.reason ?? new Error('aborted');
  };

  // Metadata calls are synchronous on purpose: they are microseconds each on a
  // fresh staging tree, whereas a round trip through the libuv pool per call
  // made small files ~5x slower than GNU tar. Only file *data* of large files
  // goes through the pool (overlapping decompression with the disk).

  /** Refuses a path whose parent chain holds a symlink we created; creates
   *  missing parents (0755, owned by uid/gid). */
  const ensureParents = (name: string, parts: string[]) => {
    let key = '';
    for (let i = 0; i < parts.length - 1; i++) {
      key = i === 0 ? parts[0]! : `${key}/${parts[i]!}`;
      if (knownDirs.has(key)) continue;
      if (symlinks.has(key)) throw new UnsafeTarError(name, 'through-symlink', key);
      const p = host(parts.slice(0, i + 1));
      const st = lstatSync(p, { throwIfNoEntry: false });
      if (st && !st.isDirectory()) throw new UnsafeTarError(name, 'parent-not-directory', key);
      if (!st) {
        // An implicit parent (tar creates missing ones): 0755, owned by the user.
        mkdirSync(p, { mode: 0o700 });
        chownSync(p, uid, gid);
        dirs.set(p, { path: p, mode: 0o755, mtime: Date.now() / 1000 });
      }
      knownDirs.add(key);
    }
  };

  /** Makes room at `p` for a new entry after EEXIST: tar semantics, the last
   *  entry wins; a directory is never replaced by a non-directory. */
  const clearForReplace = (name: string, parts: string[]) => {
    const p = host(parts);
    const st = lstatSync(p, { throwIfNoEntry: false });
    if (!st) return;
    if (st.isDirectory()) throw new UnsafeTarError(name, 'replaces-directory');
    unlinkSync(p);
    symlinks.delete(parts.join('/'));
  };

  /** Runs `create`; on EEXIST clears the path (see clearForReplace) and retries once. */
  const createReplacing = <T>(name: string, parts: string[], create: () => T): T => {
    try {
      return create();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      clearForReplace(name, parts);
      return create();
    }
  };

  const finishFile = (fd: number, mode: number, mtime: number) => {
    fchownSync(fd, uid, gid);
    fchmodSync(fd, mode);
    futimesSync(fd, mtime, mtime);
  };

  const extractEntry = async (h: TarHeader, body: () => AsyncGenerator<Buffer, void, undefined>) => {
    const name = h.name;
    switch (h.type) {
      case 'character-device':
      case 'block-device':
        throw new UnsafeTarError(name, 'device-node');
      case 'fifo':
        throw new UnsafeTarError(name, 'fifo');
      case 'unsupported':
        throw new UnsafeTarError(name, 'unsupported-type', `typeflag ${JSON.stringify(h.typeflag)}`);
      default:
        break;
    }
    if ((h.mode & 0o6000) !== 0) {
      throw new UnsafeTarError(name, 'setuid-setgid', `mode ${h.mode.toString(8)}`);
    }
    const parts = safeComponents(name);
    if (parts.length === 0) {
      if (h.type === 'directory') return; // "./": the staging root itself
      throw new UnsafeTarError(name, 'empty-name');
    }
    ensureParents(name, parts);
    const p = host(parts);
    const key = parts.join('/');

    if (h.type === 'directory') {
      try {
        mkdirSync(p, { mode: 0o700 });
        chownSync(p, uid, gid);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        const st = lstatSync(p);
        if (!st.isDirectory()) {
          // A file or symlink by that name came earlier: replace it.
          unlinkSync(p);
          symlinks.delete(key);
          mkdirSync(p, { mode: 0o700 });
          chownSync(p, uid, gid);
        }
      }
      knownDirs.add(key);
      dirs.set(p, { path: p, mode: h.mode & 0o1777, mtime: h.mtime });
      return;
    }

    if (h.type === 'symlink') {
      const target = h.linkname;
      if (target === '' || isAbsolute(target)) throw new UnsafeTarError(name, 'symlink-escapes', `-> ${target}`);
      // Lexical check from the link's directory; the full resolution through
      // other links is checked once the tree is complete.
      const stack = parts.slice(0, -1);
      for (const c of target.split('/')) {
        if (c === '' || c === '.') continue;
        if (c === '..') {
          if (stack.length === 0) throw new UnsafeTarError(name, 'symlink-escapes', `-> ${target}`);
          stack.pop();
        } else stack.push(c);
      }
      createReplacing(name, parts, () => symlinkSync(target, p));
      lchownSync(p, uid, gid);
      lutimesSync(p, h.mtime, h.mtime);
      symlinks.add(key);
      return;
    }

    if (h.type === 'hardlink') {
      let targetParts: string[];
      try {
        targetParts = safeComponents(h.linkname, name);
      } catch {
        throw new UnsafeTarError(name, 'hardlink-escapes', `=> ${h.linkname}`);
      }
      if (targetParts.length === 0) throw new UnsafeTarError(name, 'hardlink-target-invalid', `=> ${h.linkname}`);
      for (let i = 1; i <= targetParts.length; i++) {
        if (symlinks.has(targetParts.slice(0, i).join('/'))) {
          throw new UnsafeTarError(name, 'hardlink-target-invalid', `=> ${h.linkname} (through or to a symlink)`);
        }
      }
      const tp = host(targetParts);
      const st = lstatSync(tp, { throwIfNoEntry: false });
      if (!st || !st.isFile()) {
        throw new UnsafeTarError(name, 'hardlink-target-invalid', `=> ${h.linkname} (not a file extracted before)`);
      }
      if (tp === p) return;
      createReplacing(name, parts, () => linkSync(tp, p));
      return;
    }

    // Regular file. O_EXCL|O_NOFOLLOW: never write through anything.
    const fd = createReplacing(name, parts, () =>
      openSync(p, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | fsc.O_NOFOLLOW, 0o600),
    );
    const mode = h.mode & 0o777;
    const mtime = h.mtime;
    if (h.size <= syncUpTo) {
      // Small file: written right away (a page-cache copy), no pool round trip.
      try {
        let pos = 0;
        for await (const chunk of body()) {
          checkAbort();
          writeAllSync(fd, chunk, pos);
          pos += chunk.length;
          bytes += chunk.length;
        }
        finishFile(fd, mode, mtime);
      } finally {
        closeSync(fd);
      }
      progress(false);
      return;
    }
    // Large file: positional writes in the pool, a bounded window in flight,
    // finished (owner, mode, times, close) when its last write landed.
    openFds.add(fd);
    const writes = new FileWrites();
    let pos = 0;
    try {
      for await (const chunk of body()) {
        checkAbort();
        await window.room();
        window.track(writes.add(writeAt(fd, chunk, pos)), chunk.length);
        pos += chunk.length;
        bytes += chunk.length;
        progress(false);
      }
    } catch (e) {
      // Let the writes already issued land before the fd is closed.
      await writes.all().catch(() => undefined);
      openFds.delete(fd);
      closeSync(fd);
      throw e;
    }
    const finish = writes.all().then(
      () => {
        try {
          finishFile(fd, mode, mtime);
        } finally {
          openFds.delete(fd);
          closeSync(fd);
        }
      },
      (e: unknown) => {
        openFds.delete(fd);
        closeSync(fd);
        throw e;
      },
    );
    await window.room();
    window.track(finish, 0);
  };

  try {
    for await (const entry of readTar(src.chunks)) {
      checkAbort();
      window.check();
      await extractEntry(entry.header, entry.body);
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

    // Every symlink, resolved for real through the finished tree, must stay inside.
    for (const s of symlinks) {
      try {
        resolveInRootSync(staging, s, { followFinal: true });
      } catch (e) {
        if (e instanceof PathEscapeError) throw new UnsafeTarError(s, 'symlink-escapes', e.reason);
        throw e;
      }
    }

    // Directory modes and times last (children change mtime; a read-only
    // directory must stay writable while we fill it). Deepest first.
    for (const d of [...dirs.values()].reverse()) {
      await chmod(d.path, d.mode);
      await utimes(d.path, d.mtime, d.mtime);
    }
    progress(true);
    await src.close();
    return {
      entries,
      bytes,
      tarBytes: src.tarBytes(),
      compressedBytes: src.compressedBytes(),
      ...(tarSha !== undefined ? { sha256: tarSha } : {}),
      ...(blobSha !== undefined ? { blobSha256: blobSha } : {}),
    };
  } catch (e) {
    await src.close().catch(() => undefined);
    await window.settle();
    for (const fd of openFds) {
      try {
        closeSync(fd);
      } catch {
        /* already closed */
      }
    }
    await removeTree(staging);
    throw e;
  }
}

/** rm -rf that copes with read-only directories left by a partial tree. */
async function removeTree(dir: string): Promise<void> {
  try {
    await rm(dir, { recursive: true, force: true });
  } catch {
    // Make every directory writable, then try again.
    const fix = async (d: string): Promise<void> => {
      await chmod(d, 0o700).catch(() => undefined);
      for (const e of await readdir(d, { withFileTypes: true }).catch(() => [])) {
        if (e.isDirectory()) await fix(`${d}/${e.name}`);
      }
    };
    await fix(dir);
    await rm(dir, { recursive: true, force: true });
  }
  await rmdir(dir).catch(() => undefined);
}
