/**
 * The worker thread of the files data path: it takes the compressed bytes
 * in, hashes them (the blob's address) and decompresses them into output
 * slots the calling thread parses as tar (tar-extract.ts).
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
 * Kept as source text (run with `eval: true`) so the bundled CLI (.deb) has
 * no separate worker file to find.
 */

export const IN_SLOTS = 4;
export const IN_SLOT = 512 * 1024;
export const OUT_SLOTS = 8;
export const OUT_SLOT = 1024 * 1024;
/** Socket bytes the worker holds before pausing the response. */
export const MAX_QUEUED = 4 * 1024 * 1024;

/** Calling thread → worker. */
export type ToWorker =
  | { type: 'data'; slot: number; len: number }
  | { type: 'end' }
  | { type: 'free'; slot: number }
  | { type: 'get'; url: string; headers: Record<string, string>; from: number; idleMs: number };

/** Worker → calling thread. */
export type FromWorker =
  | { type: 'out'; slot: number; len: number; compressed: number }
  | { type: 'consumed'; slot: number }
  /** An HTTP attempt failed after `have` bytes in all; `code` 'range_unsupported' when a resume got a whole body. */
  | { type: 'attempt-failed'; status: number; message: string; body: string; code: string; have: number }
  | { type: 'done'; tarSha: string | null; blobSha: string | null; compressed: number }
  | { type: 'error'; message: string };

export const ZSTD_WORKER_SOURCE = String.raw`
'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const crypto = require('node:crypto');
const binding = require(workerData.bindingPath);
const dctx = new binding.DCtx();
const { inSab, outSab, inSlot, outSlot, outSlots, maxQueued } = workerData;
const tarHash = workerData.hashTar ? crypto.createHash('sha256') : null;
const blobHash = workerData.hashBlob ? crypto.createHash('sha256') : null;

const freeOut = [];
for (let i = 0; i < outSlots; i++) freeOut.push(i);
const inputs = []; // { slot, view, size }: slot -1 for a socket chunk
let pending = null; // the input being decompressed
let cur = null; // the output slot being filled: { slot, used }
let withReader = 0; // output slots posted and not given back yet
let ended = false;
let inFrame = false;
let finished = false;
let received = 0; // compressed bytes taken in

function fail(message) {
  if (finished) return;
  finished = true;
  abortHttp();
  parentPort.postMessage({ type: 'error', message });
}

function postOut() {
  parentPort.postMessage({ type: 'out', slot: cur.slot, len: cur.used, compressed: received });
  withReader += 1;
  cur = null;
}

function work() {
  if (finished) return;
  try {
    while (cur !== null || freeOut.length > 0) {
      if (pending === null) {
        if (inputs.length === 0) {
          if (cur !== null && cur.used > 0 && (ended || withReader <= 1)) postOut();
          if (ended) {
            if (inFrame) return fail('zstd: input ends in the middle of a frame');
            finished = true;
            parentPort.postMessage({
              type: 'done',
              tarSha: tarHash ? tarHash.digest('hex') : null,
              blobSha: blobHash ? blobHash.digest('hex') : null,
              compressed: received,
            });
          }
          return;
        }
        pending = inputs.shift();
        if (blobHash) blobHash.update(pending.view);
      }
      if (cur === null) cur = { slot: freeOut.pop(), used: 0 };
      const dst = Buffer.from(outSab, cur.slot * outSlot + cur.used, outSlot - cur.used);
      const r = dctx.decompressStream(dst, pending.view);
      const ret = r[0], produced = r[1], consumed = r[2];
      pending.view = pending.view.subarray(consumed);
      if (produced > 0) {
        if (tarHash) tarHash.update(dst.subarray(0, produced));
        cur.used += produced;
      }
      const inputDone = pending.view.length === 0 && (produced < dst.length || ret === 0);
      if (inputDone) {
        inFrame = ret !== 0;
        if (pending.slot >= 0) parentPort.postMessage({ type: 'consumed', slot: pending.slot });
        else {
          queued -= pending.size;
          if (res !== null && res.isPaused() && queued < maxQueued) resumeHttp();
        }
        pending = null;
      }
      // A full slot goes at once; a partial one only if the reader may run dry.
      if (cur.used === outSlot || (cur.used > 0 && inputDone && withReader <= 1)) postOut();
    }
  } catch (e) {
    fail('zstd: ' + (e && e.message ? e.message : String(e)));
  }
}

// ── http ────────────────────────────────────────────────────────────────────
let req = null;
let res = null;
let queued = 0;
let attemptId = 0;
let stall = null; // the idle timer, armed only while we want bytes
let onStall = null;
let stallMs = 30000;

function abortHttp() {
  if (stall) clearTimeout(stall);
  stall = null;
  if (req) req.destroy();
  req = null;
  res = null;
}
function armStall() {
  if (stall) clearTimeout(stall);
  stall = setTimeout(onStall, stallMs);
}
function pauseHttp() {
  res.pause();
  if (stall) clearTimeout(stall);
  stall = null;
}
function resumeHttp() {
  res.resume();
  armStall();
}

function get(m) {
  const id = ++attemptId;
  stallMs = m.idleMs;
  let reported = false;
  const failed = (status, message, body, code) => {
    if (reported || id !== attemptId || finished) return;
    reported = true;
    abortHttp();
    parentPort.postMessage({ type: 'attempt-failed', status, message, body: body || '', code: code || '', have: received });
  };
  const mod = m.url.startsWith('https:') ? require('node:https') : require('node:http');
  // Idle time counts only while we want bytes: a paused response is our backpressure, not a stall.
  onStall = () => failed(0, 'no data for ' + stallMs + ' ms');
  armStall();
  req = mod.get(m.url, { headers: m.headers }, (r) => {
    if (id !== attemptId || finished) return void r.destroy();
    const st = r.statusCode || 0;
    if (m.from > 0 && st === 200) {
      r.destroy();
      return failed(st, 'the server did not resume at byte ' + m.from, '', 'range_unsupported');
    }
    const range = /^bytes (\d+)-\d+\/\d+$/.exec(r.headers['content-range'] || '');
    const ok = m.from === 0 ? st === 200 : st === 206 && range !== null && Number(range[1]) === m.from;
    if (!ok) {
      const chunks = [];
      let n = 0;
      r.on('data', (c) => {
        if (n < 65536) chunks.push(c);
        n += c.length;
      });
      const report = () => failed(st, r.statusMessage || '', Buffer.concat(chunks).toString('utf8'), st === 206 ? 'range_unsupported' : '');
      r.on('end', report);
      r.on('error', report);
      return;
    }
    const total = m.from + Number(r.headers['content-length']);
    res = r;
    r.on('data', (c) => {
      // Nothing of an attempt once it was reported failed: its bytes would count twice after the resume.
      if (id !== attemptId || finished || reported) return;
      if (stall) stall.refresh();
      received += c.length;
      inputs.push({ slot: -1, view: c, size: c.length });
      queued += c.length;
      if (queued >= maxQueued) pauseHttp();
      work();
    });
    r.on('end', () => {
      if (id !== attemptId || finished || reported) return;
      if (Number.isFinite(total) && received !== total) return failed(0, 'connection closed at byte ' + received + ' of ' + total);
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

parentPort.on('message', (m) => {
  if (m.type === 'data') {
    inputs.push({ slot: m.slot, view: Buffer.from(inSab, m.slot * inSlot, m.len), size: m.len });
    received += m.len;
  }
  else if (m.type === 'end') ended = true;
  else if (m.type === 'free') {
    freeOut.push(m.slot);
    withReader -= 1;
  } else if (m.type === 'get') return void get(m);
  work();
});
`;
