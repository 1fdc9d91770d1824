/**
 * The worker thread of the files data path: it takes the compressed bytes
 * in, hashes them (the blob's address) and decompresses them into output
 * slots the calling thread parses as tar (zstd-worker-source.ts starts it,
 * tar-extract.ts reads what it produces).
 *
 * Two ways in:
 * - slots: the calling thread copies chunks of a stream into input slots
 *   (any BlobSource stream, a file);
 * - http: the worker GETs the blob itself, one attempt at a time, from a
 *   RemoteBlob (remote-blob.ts) whose owner keeps the policy (token, retry,
 *   backoff) on the calling thread. Measured (bench/README.md): with the
 *   download on the calling thread, the socket, its GC and the copies into
 *   slots cost that thread ≈ 1 CPU-s per GiB of tar and the two threads
 *   waited on each other's messages; the worker is idle half of the time
 *   anyway.
 *
 * Memory is fixed: IN_SLOTS x IN_SLOT and OUT_SLOTS x OUT_SLOT shared
 * buffers, plus at most MAX_QUEUED bytes of socket chunks (the response is
 * paused above that). Output slots are filled across inputs and posted full,
 * or partly filled when the reader may run dry: a message between threads
 * costs a cross-CPU wake-up (≈ 0.2 ms in this VM), so fewer, fuller ones.
 *
 * A module of its own: the source tree runs it through tsx, the .deb ships
 * it bundled as lib/cli/zstd-worker.mjs (scripts/deb.ts) beside the CLI.
 */
import { createHash, type Hash } from 'node:crypto';
import { get as httpGet, type ClientRequest, type IncomingMessage } from 'node:http';
import { get as httpsGet } from 'node:https';
import { parentPort, workerData } from 'node:worker_threads';
import binding from 'zstd-napi/binding.js';
import { IN_SLOT, MAX_QUEUED, OUT_SLOT, OUT_SLOTS, type FromWorker, type ToWorker, type ZstdWorkerData } from './zstd-worker-protocol.ts';

if (!parentPort) throw new Error('zstd-worker.ts runs as a worker thread');
const port = parentPort;
const post = (m: FromWorker) => port.postMessage(m);
const { inSab, outSab, hashBlob, hashTar } = workerData as ZstdWorkerData;

const dctx = new binding.DCtx();
const tarHash: Hash | null = hashTar ? createHash('sha256') : null;
const blobHash: Hash | null = hashBlob ? createHash('sha256') : null;

/** A compressed input being decompressed: an input slot, or a socket chunk (slot -1). */
interface Input {
  slot: number;
  view: Buffer;
  size: number;
}

const freeOut: number[] = [];
for (let i = 0; i < OUT_SLOTS; i++) freeOut.push(i);
const inputs: Input[] = [];
let pending: Input | null = null; // the input being decompressed
let cur: { slot: number; used: number } | null = null; // the output slot being filled
let withReader = 0; // output slots posted and not given back yet
let ended = false;
let inFrame = false;
let finished = false;
let received = 0; // compressed bytes taken in

function fail(message: string): void {
  if (finished) return;
  finished = true;
  abortHttp();
  post({ type: 'error', message });
}

function postOut(): void {
  if (!cur) return;
  post({ type: 'out', slot: cur.slot, len: cur.used, compressed: received });
  withReader += 1;
  cur = null;
}

function work(): void {
  if (finished) return;
  try {
    while (cur !== null || freeOut.length > 0) {
      if (pending === null) {
        if (inputs.length === 0) {
          if (cur !== null && cur.used > 0 && (ended || withReader <= 1)) postOut();
          if (ended) {
            if (inFrame) return fail('zstd: input ends in the middle of a frame');
            finished = true;
            post({ type: 'done', tarSha: tarHash ? tarHash.digest('hex') : null, blobSha: blobHash ? blobHash.digest('hex') : null, compressed: received });
          }
          return;
        }
        pending = inputs.shift()!;
        blobHash?.update(pending.view);
      }
      cur ??= { slot: freeOut.pop()!, used: 0 };
      const dst = Buffer.from(outSab, cur.slot * OUT_SLOT + cur.used, OUT_SLOT - cur.used);
      const [ret, produced, consumed] = dctx.decompressStream(dst, pending.view);
      pending.view = pending.view.subarray(consumed);
      if (produced > 0) {
        tarHash?.update(dst.subarray(0, produced));
        cur.used += produced;
      }
      const inputDone = pending.view.length === 0 && (produced < dst.length || ret === 0);
      if (inputDone) {
        inFrame = ret !== 0;
        if (pending.slot >= 0) post({ type: 'consumed', slot: pending.slot });
        else {
          queued -= pending.size;
          if (res !== null && res.isPaused() && queued < MAX_QUEUED) resumeHttp();
        }
        pending = null;
      }
      // A full slot goes at once; a partial one only if the reader may run dry.
      if (cur.used === OUT_SLOT || (cur.used > 0 && inputDone && withReader <= 1)) postOut();
    }
  } catch (e) {
    fail(`zstd: ${e instanceof Error ? e.message : String(e)}`);
  }
}

// ── http ────────────────────────────────────────────────────────────────────
let req: ClientRequest | null = null;
let res: IncomingMessage | null = null;
let queued = 0;
let attemptId = 0;
let stall: NodeJS.Timeout | null = null; // the idle timer, armed only while we want bytes
let onStall: () => void = () => undefined;
let stallMs = 30_000;

function abortHttp(): void {
  if (stall) clearTimeout(stall);
  stall = null;
  req?.destroy();
  req = null;
  res = null;
}
function armStall(): void {
  if (stall) clearTimeout(stall);
  stall = setTimeout(onStall, stallMs);
}
function pauseHttp(): void {
  res?.pause();
  if (stall) clearTimeout(stall);
  stall = null;
}
function resumeHttp(): void {
  res?.resume();
  armStall();
}

function get(m: Extract<ToWorker, { type: 'get' }>): void {
  const id = ++attemptId;
  stallMs = m.idleMs;
  let reported = false;
  const failed = (status: number, message: string, body = '', code: '' | 'range_unsupported' = '') => {
    if (reported || id !== attemptId || finished) return;
    reported = true;
    abortHttp();
    post({ type: 'attempt-failed', status, message, body, code, have: received });
  };
  // Idle time counts only while we want bytes: a paused response is our backpressure, not a stall.
  onStall = () => failed(0, `no data for ${stallMs} ms`);
  armStall();
  const getter = m.url.startsWith('https:') ? httpsGet : httpGet;
  req = getter(m.url, { headers: m.headers }, (r) => {
    if (id !== attemptId || finished) return void r.destroy();
    const st = r.statusCode ?? 0;
    if (m.from > 0 && st === 200) {
      r.destroy();
      return failed(st, `the server did not resume at byte ${m.from}`, '', 'range_unsupported');
    }
    const range = /^bytes (\d+)-\d+\/\d+$/.exec(r.headers['content-range'] ?? '');
    const ok = m.from === 0 ? st === 200 : st === 206 && range !== null && Number(range[1]) === m.from;
    if (!ok) {
      const chunks: Buffer[] = [];
      let n = 0;
      r.on('data', (c: Buffer) => {
        if (n < 65536) chunks.push(c);
        n += c.length;
      });
      const report = () => failed(st, r.statusMessage ?? '', Buffer.concat(chunks).toString('utf8'), st === 206 ? 'range_unsupported' : '');
      r.on('end', report);
      r.on('error', report);
      return;
    }
    const total = m.from + Number(r.headers['content-length']);
    res = r;
    r.on('data', (c: Buffer) => {
      // Nothing of an attempt once it was reported failed: its bytes would count twice after the resume.
      if (id !== attemptId || finished || reported) return;
      stall?.refresh();
      received += c.length;
      inputs.push({ slot: -1, view: c, size: c.length });
      queued += c.length;
      if (queued >= MAX_QUEUED) pauseHttp();
      work();
    });
    r.on('end', () => {
      if (id !== attemptId || finished || reported) return;
      if (Number.isFinite(total) && received !== total) return failed(0, `connection closed at byte ${received} of ${total}`);
      if (stall) clearTimeout(stall);
      stall = null;
      req = null;
      res = null;
      ended = true;
      work();
    });
    r.on('error', (e) => failed(0, e.message));
  });
  req.on('error', (e) => failed(0, e.message));
}

port.on('message', (m: ToWorker) => {
  switch (m.type) {
    case 'data':
      inputs.push({ slot: m.slot, view: Buffer.from(inSab, m.slot * IN_SLOT, m.len), size: m.len });
      received += m.len;
      break;
    case 'end':
      ended = true;
      break;
    case 'free':
      freeOut.push(m.slot);
      withReader -= 1;
      break;
    case 'get':
      return void get(m);
  }
  work();
});
