/**
 * The calling thread's side of the zstd worker (zstd-worker.ts): a
 * TarSource whose tar bytes are decompressed (and hashed) in a worker
 * thread, from input slots this thread fills or from HTTP the worker reads
 * itself. The calling thread parses tar and writes files meanwhile: on 2
 * cores that is what `curl | zstd -d | tar -x` gets from being separate
 * processes.
 *
 * No allocation per chunk: both directions go through fixed rings of slots in
 * SharedArrayBuffers; a slot goes back to its owner when the other side is
 * done with it. So memory is fixed whatever the blob or its compression
 * ratio, and there is no garbage for the GC to lag behind on (transferring a
 * fresh ArrayBuffer per chunk cost ~40 MiB of extra RSS). The price: a chunk
 * from `chunks` is only valid until the next one is requested (the tar reader
 * copies what it keeps, and the extractor writes file data synchronously in
 * this mode).
 *
 * Which file runs in the worker: in the .deb, the bundled
 * `lib/cli/zstd-worker.mjs` beside the CLI bundle (scripts/deb.ts defines
 * KODER_BUNDLED_ZSTD_WORKER); in the source tree, zstd-worker.ts through
 * tsx's require hooks (a worker thread does not inherit the parent's
 * loader; these hooks cost ≈ 40 ms per worker against ≈ 200 ms for tsx's
 * ESM loader, which starts a thread of its own).
 */
import type { Readable } from 'node:stream';
import type { Worker, WorkerOptions } from 'node:worker_threads';
import { startWorker as startWorkerThread } from '../util/worker-thread.ts';
import type { RemoteFailure } from './remote-blob.ts';
import { ZstdError } from './tar-errors.ts';
import { destroyIfStream, isRemote, toBuffer, type SourceHashes, type TarSource, type TarZstInput } from './tar-source.ts';
import { IN_SLOT, IN_SLOTS, OUT_SLOT, OUT_SLOTS, type FromWorker, type ToWorker, type ZstdWorkerData } from './zstd-worker-protocol.ts';

function startWorker(workerData: ZstdWorkerData): Worker {
  const options: WorkerOptions = {
    workerData,
    // The worker holds no JS heap worth mentioning: keep its limits small.
    resourceLimits: { maxOldGenerationSizeMb: 32, maxYoungGenerationSizeMb: 4 },
  };
  return startWorkerThread('zstd-worker', options);
}

/**
 * The decompressed tar stream of a .tar.zst input, decompressed and hashed
 * (as `hashes` says) in a worker thread. Used by extractTarZst; exported for
 * the benchmarks. Each chunk is valid only until the next one is requested
 * (see above).
 */
export function zstdWorkerSource(input: TarZstInput, hashes: SourceHashes = { hashBlob: false, hashTar: true }, signal?: AbortSignal): TarSource {
  const inSab = new SharedArrayBuffer(isRemote(input) ? 0 : IN_SLOTS * IN_SLOT);
  const outSab = new SharedArrayBuffer(OUT_SLOTS * OUT_SLOT);
  const worker = startWorker({ hashBlob: hashes.hashBlob, hashTar: hashes.hashTar, inSab, outSab });
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

