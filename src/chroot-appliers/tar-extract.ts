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
 * zstd: the `zstd-napi` native binding's streaming context
 * (ZSTD_decompressStream) is driven directly, not through the package's
 * `DecompressStream` Transform: that Transform pushes *all* output of one
 * input chunk regardless of backpressure, so a highly compressible chunk is
 * buffered whole (measured: +1.5 GiB RSS on the bomb above). By default it
 * runs, with the sha256 hashing, in a worker thread so decompression overlaps
 * with the file system calls of the calling thread (what `zstd -d | tar -x`
 * gets from being two processes); given a RemoteBlob instead of a stream,
 * the worker downloads it too (zstd-worker.ts). `zstdInWorker: false` keeps
 * decompression in-thread (`zstdDecompress`). Choice measured in
 * bench/README.md.
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
import { createHash } from 'node:crypto';
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
  write,
  writeSync,
} from 'node:fs';
import { chmod, lstat, mkdir, readdir, rm, rmdir, utimes } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { isAbsolute, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { Worker } from 'node:worker_threads';
import binding from 'zstd-napi/binding.js';
import { PathEscapeError, resolveInRootSync } from './safe-path.ts';
import { readTar, type TarHeader } from './tar-reader.ts';
import type { RemoteBlob, RemoteFailure } from './remote-blob.ts';
import { IN_SLOT, IN_SLOTS, MAX_QUEUED, OUT_SLOT, OUT_SLOTS, ZSTD_WORKER_SOURCE, type FromWorker, type ToWorker } from './zstd-worker.ts';

export type UnsafeTarReason =
  | 'absolute-path'
  | 'dotdot'
  | 'empty-name'
  | 'device-node'
  | 'fifo'
  | 'unsupported-type'
  | 'setuid-setgid'
  | 'through-symlink'
  | 'symlink-escapes'
  | 'hardlink-escapes'
  | 'hardlink-target-invalid'
  | 'replaces-directory'
  | 'parent-not-directory';

/** The archive holds an entry we refuse to extract; nothing was kept. */
export class UnsafeTarError extends Error {
  readonly code = 'UNSAFE_TAR';
  constructor(
    /** The entry name as stored in the archive. */
    readonly entry: string,
    readonly reason: UnsafeTarReason,
    detail?: string,
  ) {
    super(`unsafe tar entry ${JSON.stringify(entry)}: ${reason}${detail ? ` (${detail})` : ''}`);
    this.name = 'UnsafeTarError';
  }
}

/** The decompressed tar (or the compressed blob) did not hash as expected. */
export class TarHashMismatchError extends Error {
  readonly code = 'TAR_HASH_MISMATCH';
  constructor(
    readonly which: 'tar' | 'blob',
    readonly expected: string,
    readonly actual: string,
  ) {
    super(`sha256 of the ${which} is ${actual}, expected ${expected}`);
    this.name = 'TarHashMismatchError';
  }
}

export class ZstdError extends Error {
  readonly code = 'ZSTD';
  constructor(message: string) {
    super(message);
    this.name = 'ZstdError';
  }
}

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

function toBuffer(c: Uint8Array): Buffer {
  return Buffer.isBuffer(c) ? c : Buffer.from(c.buffer, c.byteOffset, c.byteLength);
}

/**
 * Streaming zstd decompression with real backpressure (see the file header).
 * Handles concatenated frames; throws ZstdError on a truncated last frame.
 */
export async function* zstdDecompress(source: AsyncIterable<Uint8Array>): AsyncGenerator<Buffer, void, undefined> {
  const dctx = new binding.DCtx();
  const outSize = binding.dStreamOutSize();
  let inFrame = false;
  for await (const chunk of source) {
    let src = toBuffer(chunk);
    if (src.length === 0) continue;
    for (;;) {
      const dst = Buffer.allocUnsafe(outSize);
      let ret: number, produced: number, consumed: number;
      try {
        [ret, produced, consumed] = dctx.decompressStream(dst, src);
      } catch (e) {
        throw new ZstdError(`zstd: ${(e as Error).message}`);
      }
      src = src.subarray(consumed);
      if (produced > 0) yield dst.subarray(0, produced);
      if (src.length === 0 && (produced < dst.length || ret === 0)) {
        inFrame = ret !== 0;
        break;
      }
    }
  }
  if (inFrame) throw new ZstdError('zstd: input ends in the middle of a frame');
}

// ---------------------------------------------------------------------------
// Decompression in a worker thread (zstd-worker.ts). The calling thread parses
// tar and writes files while the worker takes the compressed bytes in (from
// input slots this thread fills, or over HTTP itself), hashes and
// decompresses them: on 2 cores that is what `curl | zstd -d | tar -x` gets
// from being separate processes.
//
// No allocation per chunk: both directions go through fixed rings of slots in
// SharedArrayBuffers; a slot goes back to its owner when the other side is
// done with it. So memory is fixed whatever the blob or its compression
// ratio, and there is no garbage for the GC to lag behind on (transferring a
// fresh ArrayBuffer per chunk cost ~40 MiB of extra RSS). The price: a chunk
// from `chunks` is only valid until the next one is requested (the tar reader
// copies what it keeps, and the extractor writes file data synchronously in
// this mode).

let bindingPath: string | undefined;

/** Which sha256 digests a TarSource computes as the bytes pass. */
export interface SourceHashes {
  /** Of the compressed input (the blob's address). */
  hashBlob: boolean;
  /** Of the decompressed tar. */
  hashTar: boolean;
}

/** Compressed bytes the worker fetches itself (remote-blob.ts). */
export interface RemoteInput {
  remote: RemoteBlob;
}

/** What a .tar.zst comes from: a stream of its bytes, or a remote blob. */
export type TarZstInput = Readable | AsyncIterable<Uint8Array> | RemoteInput;

const isRemote = (s: TarZstInput): s is RemoteInput => typeof (s as RemoteInput).remote?.attempt === 'function';

/**
 * The decompressed tar stream of a .tar.zst input, decompressed and hashed
 * (as `hashes` says) in a worker thread. Used by extractTarZst; exported for
 * the benchmarks. Each chunk is valid only until the next one is requested
 * (see above).
 */
export function zstdWorkerSource(input: TarZstInput, hashes: SourceHashes = { hashBlob: false, hashTar: true }, signal?: AbortSignal): TarSource {
  bindingPath ??= createRequire(import.meta.url).resolve('zstd-napi/binding.js');
  const inSab = new SharedArrayBuffer(isRemote(input) ? 0 : IN_SLOTS * IN_SLOT);
  const outSab = new SharedArrayBuffer(OUT_SLOTS * OUT_SLOT);
  const worker = new Worker(ZSTD_WORKER_SOURCE, {
    eval: true,
    workerData: { bindingPath, hashBlob: hashes.hashBlob, hashTar: hashes.hashTar, inSab, outSab, inSlot: IN_SLOT, outSlot: OUT_SLOT, outSlots: OUT_SLOTS, maxQueued: MAX_QUEUED },
    // The worker holds no JS heap worth mentioning: keep its limits small.
    resourceLimits: { maxOldGenerationSizeMb: 32, maxYoungGenerationSizeMb: 4 },
  });
  const send = (m: ToWorker) => worker.postMessage(m);
  const out: Array<{ slot: number; len: number }> = [];
  const freeIn: number[] = [];
  for (let i = 0; i < IN_SLOTS; i++) freeIn.push(i);
  let compressed = 0;
  let tarBytes = 0;
  let done: { tarSha: string | null; blobSha: string | null } | undefined;
  let failure: unknown;
  // Both the pump and the reader may be waiting at once: wake everyone.
  let waiters: Array<() => void> = [];
  let closed = false;
  const notify = () => {
    const w = waiters;
    waiters = [];
    for (const f of w) f();
  };
  const wait = () => new Promise<void>((r) => waiters.push(r));
  const failWith = (e: unknown) => {
    failure ??= e ?? new Error('blob input failed');
    notify();
  };

  // Slots mode: the input slot being filled is posted when full, or at once
  // when the worker has nothing else queued (a socket's 64 KiB chunks are
  // gathered while the worker is busy — fewer, larger messages — without
  // delaying it when it is waiting).
  let filling: { slot: number; len: number } | undefined;
  let inFlight = 0;
  const post = () => {
    if (!filling || closed) return;
    send({ type: 'data', slot: filling.slot, len: filling.len });
    inFlight += 1;
    filling = undefined;
  };

  // Remote mode: the owner's policy says what each attempt asks for.
  const attempt = (from: number, after?: RemoteFailure) => {
    if (!isRemote(input)) return;
    const { remote } = input;
    remote.attempt(from, after).then((r) => {
      if (!closed && !failure) send({ type: 'get', url: r.url, headers: r.headers, from, idleMs: remote.idleMs });
    }, failWith);
  };

  worker.on('message', (m: FromWorker) => {
    switch (m.type) {
      case 'out':
        out.push({ slot: m.slot, len: m.len });
        compressed = Math.max(compressed, m.compressed);
        break;
      case 'consumed':
        freeIn.push(m.slot);
        inFlight -= 1;
        if (inFlight === 0 && filling && filling.len > 0) post();
        break;
      case 'attempt-failed':
        attempt(m.have, { status: m.status, message: m.message, body: m.body, ...(m.code ? { code: m.code } : {}) });
        return;
      case 'done':
        done = { tarSha: m.tarSha, blobSha: m.blobSha };
        compressed = Math.max(compressed, m.compressed);
        break;
      case 'error':
        failure ??= new ZstdError(m.message);
        break;
    }
    notify();
  });
  worker.on('error', failWith);
  // A reader waiting on a stalled download would otherwise hear of a cancel only at the stall timeout.
  const onAbort = () => failWith(signal?.reason ?? new Error('aborted'));
  if (signal?.aborted) onAbort();
  else signal?.addEventListener('abort', onAbort, { once: true });
  worker.on('exit', () => {
    if (!done && !closed) failure ??= new ZstdError('zstd worker exited');
    notify();
  });

  // Slots mode: copies compressed chunks into input slots.
  const pump = async (source: Readable | AsyncIterable<Uint8Array>) => {
    try {
      for await (const c of source) {
        const b = toBuffer(c);
        compressed += b.length;
        for (let off = 0; off < b.length; ) {
          if (!filling) while (freeIn.length === 0 && !failure && !closed) await wait();
          if (closed || failure) return;
          filling ??= { slot: freeIn.pop()!, len: 0 };
          const n = Math.min(IN_SLOT - filling.len, b.length - off);
          b.copy(new Uint8Array(inSab, filling.slot * IN_SLOT + filling.len, n), 0, off, off + n);
          filling.len += n;
          off += n;
          if (filling.len === IN_SLOT || inFlight === 0) post();
        }
      }
      if (closed) return;
      if (filling && filling.len > 0) post();
      send({ type: 'end' });
    } catch (e) {
      failWith(e);
    }
  };
  // The pump is never awaited: it may sit in source.next() of a stream its
  // owner destroys later; it stops at its next chunk.
  if (isRemote(input)) attempt(0);
  else void pump(input);

  let held: number | undefined;
  const release = () => {
    if (held !== undefined && !closed) send({ type: 'free', slot: held });
    held = undefined;
  };
  async function* chunks(): AsyncGenerator<Buffer, void, undefined> {
    try {
      for (;;) {
        const o = out.shift();
        if (o) {
          release(); // the consumer asked for more: it is done with the previous chunk
          held = o.slot;
          tarBytes += o.len;
          yield Buffer.from(outSab, o.slot * OUT_SLOT, o.len);
          continue;
        }
        if (failure) throw failure;
        if (done) return;
        await wait();
      }
    } finally {
      release();
    }
  }

  return {
    chunks: chunks(),
    transientChunks: true,
    tarBytes: () => tarBytes,
    compressedBytes: () => compressed,
    tarSha256: () => {
      if (!done) throw new Error('tar stream not finished');
      return done.tarSha ?? undefined;
    },
    blobSha256: () => done?.blobSha ?? undefined,
    close: async () => {
      if (closed) return;
      closed = true;
      signal?.removeEventListener('abort', onAbort);
      notify();
      if (!isRemote(input)) destroyIfStream(input);
      await worker.terminate();
    },
  };
}

/** Passes chunks through while hashing and counting them. */
async function* hashing(
  source: AsyncIterable<Uint8Array>,
  state: { hash: ReturnType<typeof createHash> | undefined; bytes: number },
): AsyncGenerator<Buffer, void, undefined> {
  for await (const c of source) {
    const b = toBuffer(c);
    state.hash?.update(b);
    state.bytes += b.length;
    yield b;
  }
}

/** Bounded set of asynchronous writes in flight; the first failure is kept. */
class WriteWindow {
  private bytes = 0;
  private ops = 0;
  private failure: { error: unknown } | undefined;
  private waiters: Array<() => void> = [];
  constructor(
    private readonly maxBytes: number,
    private readonly maxOps: number,
  ) {}

  track(p: Promise<unknown>, bytes: number): void {
    this.bytes += bytes;
    this.ops += 1;
    const release = () => {
      this.bytes -= bytes;
      this.ops -= 1;
      const w = this.waiters;
      this.waiters = [];
      for (const f of w) f();
    };
    p.then(release, (error: unknown) => {
      this.failure ??= { error };
      release();
    });
  }

  private wait(): Promise<void> {
    return new Promise((r) => this.waiters.push(r));
  }

  check(): void {
    if (this.failure) throw this.failure.error;
  }

  /** Waits until there is room for one more write. */
  async room(): Promise<void> {
    while (this.bytes >= this.maxBytes || this.ops >= this.maxOps) await this.wait();
    this.check();
  }

  /** Waits for everything in flight; throws the first failure. */
  async idle(): Promise<void> {
    while (this.ops > 0) await this.wait();
    this.check();
  }

  /** Waits for everything in flight, ignoring failures. */
  async settle(): Promise<void> {
    while (this.ops > 0) await this.wait();
  }
}

/** Counts the writes of one file so it is closed only after all landed. */
class FileWrites {
  private pending = 0;
  private failure: { error: unknown } | undefined;
  private waiter: (() => void) | undefined;
  add(p: Promise<unknown>): Promise<unknown> {
    this.pending += 1;
    return p.then(
      () => this.done(),
      (error: unknown) => {
        this.failure ??= { error };
        this.done();
        throw error;
      },
    );
  }
  private done(): void {
    this.pending -= 1;
    if (this.pending === 0 && this.waiter) this.waiter();
  }
  async all(): Promise<void> {
    if (this.pending > 0) await new Promise<void>((r) => (this.waiter = r));
    if (this.failure) throw this.failure.error;
  }
}

function writeAllSync(fd: number, buf: Buffer, position: number): void {
  let off = 0;
  while (off < buf.length) {
    const n = writeSync(fd, buf, off, buf.length - off, position + off);
    if (n <= 0) throw new Error('short write');
    off += n;
  }
}

/** Positional write of the whole buffer through the libuv pool. */
function writeAt(fd: number, buf: Buffer, position: number): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const step = (off: number) => {
      write(fd, buf, off, buf.length - off, position + off, (err, n) => {
        if (err) return reject(err);
        if (n <= 0) return reject(new Error('short write'));
        if (off + n < buf.length) step(off + n);
        else resolvePromise();
      });
    };
    step(0);
  });
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

/** Where the tar bytes come from, with their running counts and final hashes. */
export interface TarSource {
  chunks: AsyncIterable<Buffer>;
  /** A chunk is only valid until the next one is requested. */
  transientChunks?: boolean;
  tarBytes(): number;
  compressedBytes(): number;
  /** Valid once `chunks` is exhausted; undefined if not computed. */
  tarSha256(): string | undefined;
  /** Valid once `chunks` is exhausted; undefined if not computed. */
  blobSha256(): string | undefined;
  /** Stops everything upstream (source stream, worker). */
  close(): Promise<void>;
}

function destroyIfStream(source: Readable | AsyncIterable<Uint8Array>): void {
  const r = source as Readable;
  if (typeof r.destroy === 'function' && !r.destroyed) r.destroy();
}

/** Decompression and tar hashing on the calling thread. */
export function inThreadSource(source: Readable | AsyncIterable<Uint8Array>, hashes: SourceHashes): TarSource {
  const blob = { hash: hashes.hashBlob ? createHash('sha256') : undefined, bytes: 0 };
  const tar = { hash: hashes.hashTar ? createHash('sha256') : undefined, bytes: 0 };
  async function* counted(): AsyncGenerator<Buffer, void, undefined> {
    for await (const c of source) {
      const b = toBuffer(c);
      blob.hash?.update(b);
      blob.bytes += b.length;
      yield b;
    }
  }
  const chunks = hashing(zstdDecompress(counted()), tar);
  let tarSha: string | undefined;
  let blobSha: string | undefined;
  return {
    chunks,
    tarBytes: () => tar.bytes,
    compressedBytes: () => blob.bytes,
    tarSha256: () => (tar.hash ? (tarSha ??= tar.hash.digest('hex')) : undefined),
    blobSha256: () => (blob.hash ? (blobSha ??= blob.hash.digest('hex')) : undefined),
    close: async () => {
      destroyIfStream(source);
      await chunks.return().catch(() => undefined);
    },
  };
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
  const tar = { hash: createHash('sha256'), bytes: 0 };
  const chunks = hashing(source, tar);
  let tarSha: string | undefined;
  return extractFrom(
    {
      chunks,
      tarBytes: () => tar.bytes,
      compressedBytes: () => 0,
      tarSha256: () => (tarSha ??= tar.hash.digest('hex')),
      blobSha256: () => undefined,
      close: async () => {
        destroyIfStream(source);
        await chunks.return().catch(() => undefined);
      },
    },
    opts,
  );
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
