/**
 * The capture's worker thread: reads files, cuts them into chunks
 * (chunker.ts), names them (chunk id), seals them (zstd + AES-GCM,
 * chunk-crypto.ts) and posts the sealed bytes back in batches. The calling
 * thread keeps the index, the packs and the trees; this thread only turns
 * file bytes into sealed chunks, so two of them keep two cores busy.
 *
 * Flow: in `batch` (files by path bytes, each with the ids of chunks the
 * store already has that the file probably holds: those are named, not
 * sealed again); out `out` messages, each one of OUT_BUFFERS fixed buffers
 * of OUT_BYTES (id ‖ key ‖ sealed per item, sealed straight into it),
 * transferred to the calling thread and handed back by its `ack` once read —
 * the last message of a batch carries each file's result. With every buffer
 * out, the worker waits: memory stays fixed whatever the file sizes (a
 * sealed chunk larger than a buffer goes alone in one of its size).
 */
import { closeSync, constants as fsc, openSync, readSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { CHUNK_DATA, sealBound, sealChunkInto } from './chunk-crypto.ts';
import { MAX_CHUNK, MIN_CHUNK, nextCut } from './chunker.ts';
import { chunkId, chunkKey } from './keys.ts';
import { zstdContext } from './zstd.ts';
import { gcEvery } from '../util/young-gc.ts';
import type { CaptureWorkerData, FileJob, FileResult, ToCaptureWorker, OutItem } from './capture-protocol.ts';

const data = workerData as CaptureWorkerData;
const idKey = Buffer.from(data.idKey);
const keyRoot = Buffer.from(data.chunkKeyRoot);
const gear = new Int32Array(data.gear);
const zstd = zstdContext(data.level);
const READ = 1024 * 1024;
const win = Buffer.allocUnsafe(MAX_CHUNK + READ);
const OUT_BYTES = 2 * 1024 * 1024;
const OUT_BUFFERS = 2;

const free: ArrayBuffer[] = Array.from({ length: OUT_BUFFERS }, () => new ArrayBuffer(OUT_BYTES));
let wake: (() => void) | undefined;
const queue: ToCaptureWorker[] = [];
let running = false;

parentPort!.on('message', (m: ToCaptureWorker) => {
  if (m.type === 'ack') {
    if (m.buf.byteLength === OUT_BYTES) free.push(m.buf);
    wake?.();
    return;
  }
  queue.push(m);
  if (!running) void run();
});

/** The buffer being filled (undefined until the first chunk of a message). */
let out: Buffer | undefined;
let outItems: OutItem[] = [];
let outBytes = 0;

async function take(): Promise<Buffer> {
  while (!free.length) await new Promise<void>((r) => (wake = r));
  return Buffer.from(free.pop()!);
}

function post(batch: number, results?: FileResult[]): void {
  const ab = (out?.buffer ?? new ArrayBuffer(0)) as ArrayBuffer;
  parentPort!.postMessage({ type: 'out', batch, buf: ab, items: outItems, ...(results ? { results } : {}) }, ab.byteLength ? [ab] : []);
  out = undefined;
  outItems = [];
  outBytes = 0;
}

async function emit(batch: number, file: number, plain: Buffer, known: Set<string> | undefined): Promise<void> {
  const id = chunkId(idKey, plain);
  const key = chunkKey(keyRoot, id);
  const stored = known?.has(id.toString('latin1'));
  const need = 64 + (stored ? 0 : sealBound(plain.length, zstd));
  if (out && outBytes + need > out.length) post(batch);
  if (!out) out = need > OUT_BYTES ? Buffer.alloc(need) : await take();
  const at = outBytes;
  id.copy(out, at);
  key.copy(out, at + 32);
  const len = stored ? 0 : sealChunkInto(out, at + 64, key, id, CHUNK_DATA, plain, zstd);
  outItems.push({ file, raw: plain.length, at, len });
  outBytes += 64 + len;
  collect(len);
}

/**
 * Each sealing leaves a dead buffer of the chunk's size (node:crypto's
 * output), freed only at a GC: one every 8 MiB keeps them bounded (−40 to
 * −60 MiB of peak RSS for a capture with two workers; util/young-gc.ts).
 */
const collect = gcEvery(8 * 1024 * 1024);

function knownSet(ids: Uint8Array | undefined): Set<string> | undefined {
  if (!ids?.length) return undefined;
  const s = new Set<string>();
  const b = Buffer.from(ids.buffer, ids.byteOffset, ids.byteLength);
  for (let i = 0; i + 32 <= b.length; i += 32) s.add(b.toString('latin1', i, i + 32));
  return s;
}

async function readFile(batch: number, file: number, job: FileJob): Promise<number> {
  const known = knownSet(job.known);
  const fd = openSync(Buffer.from(job.path), fsc.O_RDONLY | fsc.O_NOFOLLOW);
  try {
    let start = 0;
    let end = 0;
    let eof = false;
    let total = 0;
    for (;;) {
      if (!eof && end - start < MAX_CHUNK) {
        if (start > 0) {
          win.copyWithin(0, start, end);
          end -= start;
          start = 0;
        }
        while (!eof && end < win.length) {
          const n = readSync(fd, win, end, win.length - end, null);
          if (n === 0) eof = true;
          end += n;
          total += n;
          if (end >= MIN_CHUNK + MAX_CHUNK) break;
        }
      }
      if (start === end) break;
      const cut = nextCut(gear, win, start, end, eof);
      if (cut < 0) continue;
      // Sealed into the out buffer before the window moves on.
      await emit(batch, file, win.subarray(start, cut), known);
      start = cut;
    }
    return total;
  } finally {
    closeSync(fd);
  }
}

async function run(): Promise<void> {
  running = true;
  try {
    while (queue.length) {
      const m = queue.shift()!;
      if (m.type !== 'batch') continue;
      const results: FileResult[] = [];
      for (let i = 0; i < m.files.length; i++) {
        try {
          results.push({ size: await readFile(m.batch, i, m.files[i]!) });
        } catch (e) {
          results.push({ error: `${(e as NodeJS.ErrnoException).code ?? ''} ${(e as Error).message}`.trim() });
        }
      }
      post(m.batch, results);
    }
  } finally {
    running = false;
  }
}
