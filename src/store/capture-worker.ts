/**
 * The capture's worker thread: reads files, cuts them into chunks
 * (chunker.ts), names them (chunk id), seals them (zstd + AES-GCM,
 * chunk-crypto.ts) and posts the sealed bytes back in batches. The calling
 * thread keeps the index, the packs and the trees; this thread only turns
 * file bytes into sealed chunks, so two of them keep two cores busy.
 *
 * Flow: in `batch` (a list of files by path bytes); out `out` messages of
 * at most ~4 MiB of sealed bytes in one transferred buffer (id ‖ key ‖
 * sealed per item), the last one with each file's result. The worker waits
 * for acks when 4 messages are unread, so memory stays bounded whatever the
 * file sizes.
 */
import { closeSync, constants as fsc, openSync, readSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { CHUNK_DATA, sealChunk } from './chunk-crypto.ts';
import { MAX_CHUNK, MIN_CHUNK, nextCut } from './chunker.ts';
import { chunkId, chunkKey } from './keys.ts';
import { zstdContext } from './zstd.ts';
import type { CaptureWorkerData, FileResult, ToCaptureWorker, OutItem } from './capture-protocol.ts';

const data = workerData as CaptureWorkerData;
const idKey = Buffer.from(data.idKey);
const keyRoot = Buffer.from(data.chunkKeyRoot);
const gear = new Int32Array(data.gear);
const zstd = zstdContext(data.level);
const scratch = { buf: Buffer.allocUnsafe(0) };
const READ = 4 * 1024 * 1024;
const win = Buffer.allocUnsafe(MAX_CHUNK + READ);
const FLUSH_BYTES = 4 * 1024 * 1024;
const MAX_UNACKED = 4;

let unacked = 0;
let wake: (() => void) | undefined;
const queue: ToCaptureWorker[] = [];
let running = false;

parentPort!.on('message', (m: ToCaptureWorker) => {
  if (m.type === 'ack') {
    unacked--;
    wake?.();
    return;
  }
  queue.push(m);
  if (!running) void run();
});

let outParts: Buffer[] = [];
let outItems: OutItem[] = [];
let outBytes = 0;

async function post(batch: number, results?: FileResult[]): Promise<void> {
  const buf = Buffer.concat(outParts, outBytes);
  const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length) as ArrayBuffer;
  parentPort!.postMessage({ type: 'out', batch, buf: ab, items: outItems, ...(results ? { results } : {}) }, [ab]);
  outParts = [];
  outItems = [];
  outBytes = 0;
  unacked++;
  while (unacked >= MAX_UNACKED) await new Promise<void>((r) => (wake = r));
}

async function emit(batch: number, file: number, plain: Buffer): Promise<void> {
  const id = chunkId(idKey, plain);
  const key = chunkKey(keyRoot, id);
  const sealed = sealChunk(key, id, CHUNK_DATA, plain, zstd, scratch);
  outItems.push({ file, raw: plain.length, at: outBytes, len: sealed.length });
  outParts.push(id, key, sealed);
  outBytes += 64 + sealed.length;
  if (outBytes >= FLUSH_BYTES) await post(batch);
}

async function readFile(batch: number, file: number, path: Uint8Array): Promise<number> {
  const fd = openSync(Buffer.from(path), fsc.O_RDONLY | fsc.O_NOFOLLOW);
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
      // The chunk leaves this buffer before it is reused: seal copies it.
      await emit(batch, file, win.subarray(start, cut));
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
      await post(m.batch, results);
    }
  } finally {
    running = false;
  }
}
