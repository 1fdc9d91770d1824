/**
 * The files restore's worker thread: for one run of chunks of a pack (a
 * job) it fetches the bytes — a ranged GET it makes itself, or a local
 * file — opens each sealed chunk (AES-GCM against its id, then zstd;
 * chunk-crypto.ts) and writes its plaintext at every place it belongs in the
 * staged files. Nothing of a chunk is written before it authenticated. A
 * chunk of zeros is not written (the file is sized at the end, so it stays
 * a hole). A file whose only chunk this is gets its size, owner, mode and
 * times here, in the same open.
 *
 * A failed GET is reported with the bytes received so far; the calling
 * thread's policy (token, backoff, budget) answers with the next attempt,
 * which resumes at that byte, or gives up.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { closeSync, constants as fsc, openSync, writeSync } from 'node:fs';
import { open as openFile, type FileHandle } from 'node:fs/promises';
import { finishFdSync } from './finish-file.ts';
import { parentPort } from 'node:worker_threads';
import { CodedError } from '../util/coded-error.ts';
import { CHUNK_DATA, openChunk } from './chunk-crypto.ts';
import { MAX_CHUNK } from './chunker.ts';
import type { Finish, FromRestoreWorker, Job, JobItem, ToRestoreWorker } from './restore-protocol.ts';
import { zstdContext } from './zstd.ts';
import { gcEvery } from '../util/young-gc.ts';

const zstd = zstdContext();
const zeros = Buffer.alloc(64 * 1024);
/** Decompressed chunks land here (one item is opened at a time: its bytes are written before the next). */
const plainBuf = Buffer.allocUnsafe(MAX_CHUNK);
/**
 * Buffers that assemble an item spread over socket reads, one per running
 * job, kept for the next job: a buffer per job would outlive young GCs and
 * wait for a full one.
 */
const asmPool: Buffer[] = [];
function takeAsm(bytes: number): Buffer {
  const i = asmPool.findIndex((b) => b.length >= bytes);
  if (i >= 0) return asmPool.splice(i, 1)[0]!;
  asmPool.pop();
  return Buffer.allocUnsafe(Math.max(bytes, 2 * 1024 * 1024));
}
function giveAsm(r: Running): void {
  if (r.asm && asmPool.length < 2) asmPool.push(r.asm);
  r.asm = undefined;
}
const post = (m: FromRestoreWorker) => parentPort!.postMessage(m);

interface Running {
  job: Job;
  /** Bytes of the range received and used (the next byte is at job.start + have). */
  have: number;
  /** The item being assembled when it spans socket reads: `fill` bytes of it so far. */
  asm: Buffer | undefined;
  fill: number;
  next: number;
  finishes: Map<number, Finish>;
  req?: { destroy(e?: Error): void };
  settled: boolean;
}

const running = new Map<number, Running>();

// Progress goes to the calling thread at most every PROGRESS_MS (one message per chunk cost ≈ 10 % of a worker).
const PROGRESS_MS = 100;
const progress = new Map<number, { bytes: number; raw: number }>();
let progressTimer: NodeJS.Timeout | undefined;
function flushProgress(job?: number): void {
  for (const [j, p] of progress) {
    if (job !== undefined && j !== job) continue;
    post({ type: 'progress', job: j, bytes: p.bytes, raw: p.raw });
    progress.delete(j);
  }
}
function addProgress(job: number, bytes: number, raw: number): void {
  const p = progress.get(job);
  if (p) {
    p.bytes += bytes;
    p.raw += raw;
  } else progress.set(job, { bytes, raw });
  progressTimer ??= setTimeout(() => {
    progressTimer = undefined;
    flushProgress();
  }, PROGRESS_MS);
}

parentPort!.on('message', (m: ToRestoreWorker) => {
  if (m.type === 'job') {
    const r: Running = { job: m, have: 0, asm: undefined, fill: 0, next: 0, finishes: new Map(m.finish.map((f) => [f.file, f])), settled: false };
    running.set(m.job, r);
    if ('file' in m.source) void readLocal(r, m.source.file);
    else get(r, m.source.url, m.source.headers);
  } else if (m.type === 'retry') {
    const r = running.get(m.job);
    if (r) get(r, m.url, m.headers);
  } else {
    running.delete(m.job);
  }
});

function fail(r: Running, e: unknown): void {
  if (r.settled) return;
  r.settled = true;
  running.delete(r.job.job);
  giveAsm(r);
  r.req?.destroy();
  flushProgress(r.job.job);
  const code = e instanceof CodedError ? e.code : ((e as NodeJS.ErrnoException).code ?? 'write_failed');
  post({ type: 'error', job: r.job.job, code, message: (e as Error).message });
}

function isZero(b: Buffer): boolean {
  for (let at = 0; at < b.length; at += zeros.length) {
    const part = b.subarray(at, at + zeros.length);
    if (!part.equals(zeros.subarray(0, part.length))) return false;
  }
  return true;
}

/** Each received socket buffer and opened chunk (node:crypto's output) is garbage: collected every 8 MiB (util/young-gc.ts). */
const collect = gcEvery(8 * 1024 * 1024);

function writeItem(r: Running, item: JobItem, sealed: Buffer): void {
  const plain = openChunk(item.key, item.id, CHUNK_DATA, sealed, item.raw, zstd, 'chunk', plainBuf);
  collect(sealed.length);
  const hole = isZero(plain);
  for (const t of item.targets) {
    const fin = r.finishes.get(t.file);
    if (hole && !fin) continue;
    // A file finished here is this chunk alone: O_TRUNC drops what a killed run left, and the write sets its size (no ftruncate, ≈ 5 % of a worker on small files).
    const whole = fin !== undefined && !hole && t.pos === 0 && plain.length === fin.size;
    const fd = openSync(Buffer.from(r.job.paths[t.file]!), fsc.O_WRONLY | fsc.O_CREAT | fsc.O_NOFOLLOW | (whole ? fsc.O_TRUNC : 0), 0o600);
    try {
      if (!hole) for (let off = 0; off < plain.length; ) off += writeSync(fd, plain, off, plain.length - off, t.pos + off);
      if (fin) finishFdSync(fd, fin, whole);
    } finally {
      closeSync(fd);
    }
  }
}

/**
 * Takes received bytes: gaps between merged items are skipped, an item that
 * arrives whole in one read is opened in place, one spread over reads is
 * assembled in a buffer of the job's largest item first.
 */
function onBytes(r: Running, b: Buffer): void {
  collect(b.length); // the socket's buffers are garbage once read, as the opened chunks are
  const items = r.job.items;
  let off = 0;
  while (off < b.length && r.next < items.length) {
    const it = items[r.next]!;
    const abs = r.job.start + r.have;
    if (abs < it.offset) {
      const skip = Math.min(it.offset - abs, b.length - off);
      off += skip;
      r.have += skip;
      continue;
    }
    const take = Math.min(it.length - r.fill, b.length - off);
    let sealed: Buffer | undefined;
    if (r.fill === 0 && take === it.length) sealed = b.subarray(off, off + take);
    else {
      r.asm ??= takeAsm(Math.max(...items.map((x) => x.length)));
      b.copy(r.asm, r.fill, off, off + take);
      r.fill += take;
      if (r.fill === it.length) sealed = r.asm.subarray(0, it.length);
    }
    off += take;
    r.have += take;
    if (!sealed) continue;
    r.fill = 0;
    writeItem(r, it, sealed);
    r.next++;
    addProgress(r.job.job, it.length, it.raw * it.targets.length);
  }
  r.have += b.length - off;
}

function complete(r: Running): void {
  if (r.settled) return;
  if (r.next < r.job.items.length) {
    fail(r, new CodedError('chunk_missing', `pack ${r.job.pack.slice(0, 12)}: the range ended before chunk ${r.next + 1} of ${r.job.items.length}`));
    return;
  }
  r.settled = true;
  running.delete(r.job.job);
  giveAsm(r);
  flushProgress(r.job.job);
  post({ type: 'done', job: r.job.job });
}

/** 1 MiB read buffers of local pack files, kept for the next reads (two per running job). */
const readPool: Buffer[] = [];
const READ_BYTES = 1024 * 1024;

/**
 * A local pack file (fetched ahead, a drive's export): read ahead by one
 * buffer while the previous one is opened and written, so that the disk and
 * this thread work at the same time (a synchronous read left the thread
 * idle during each read, and the disk idle during each write).
 */
async function readLocal(r: Running, file: string): Promise<void> {
  const bufs = [readPool.pop() ?? Buffer.allocUnsafe(READ_BYTES), readPool.pop() ?? Buffer.allocUnsafe(READ_BYTES)];
  let fh: FileHandle | undefined;
  let pending: Promise<{ bytesRead: number }> | undefined;
  try {
    fh = await openFile(file, 'r');
    const end = r.job.end;
    let pos = r.job.start;
    const readInto = (b: Buffer) => fh!.read(b, 0, Math.min(b.length, end - pos), pos);
    let i = 0;
    pending = pos < end ? readInto(bufs[0]!) : undefined;
    while (pending) {
      const { bytesRead } = await pending;
      pending = undefined;
      if (r.settled) return; // given up by the calling thread
      if (bytesRead === 0) break;
      const cur = bufs[i]!;
      pos += bytesRead;
      i ^= 1;
      if (pos < end) pending = readInto(bufs[i]!);
      onBytes(r, cur.subarray(0, bytesRead));
    }
    complete(r);
  } catch (e) {
    fail(r, e);
  } finally {
    await pending?.catch(() => undefined);
    await fh?.close().catch(() => undefined);
    for (const b of bufs) if (readPool.length < 4) readPool.push(b);
  }
}

function get(r: Running, url: string, headers: Record<string, string>): void {
  const u = new URL(url);
  const from = r.job.start + r.have;
  const request = u.protocol === 'https:' ? httpsRequest : httpRequest;
  let failedOnce = false;
  const attemptFailed = (status: number, message: string, body = '', code?: string) => {
    if (failedOnce || r.settled) return;
    failedOnce = true;
    r.req = undefined;
    post({ type: 'attempt-failed', job: r.job.job, have: r.have, status, message, body, ...(code ? { code } : {}) });
  };
  const req = request(u, { method: 'GET', headers: { ...headers, range: `bytes=${from}-${r.job.end - 1}` } });
  r.req = req;
  req.setTimeout(r.job.idleMs, () => req.destroy(new Error(`no data for ${r.job.idleMs} ms`)));
  req.on('error', (e) => attemptFailed(0, e.message));
  req.on('response', (res: IncomingMessage) => {
    const status = res.statusCode ?? 0;
    if (status !== 206) {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        if (body.length < 65536) body += d;
      });
      res.on('end', () => attemptFailed(status, res.statusMessage ?? String(status), body, status === 200 ? 'range_unsupported' : undefined));
      res.on('error', () => attemptFailed(status, res.statusMessage ?? String(status), body));
      return;
    }
    const cr = /^bytes (\d+)-(\d+)\//.exec(String(res.headers['content-range'] ?? ''));
    if (!cr || Number(cr[1]) !== from) {
      res.destroy();
      attemptFailed(206, `answer starts at ${cr?.[1] ?? '?'}, asked for ${from}`, '', 'range_unsupported');
      return;
    }
    res.on('data', (b: Buffer) => {
      if (r.settled) return;
      try {
        onBytes(r, b);
      } catch (e) {
        fail(r, e);
      }
    });
    res.on('end', () => {
      if (r.settled) return;
      if (r.job.start + r.have < r.job.end) attemptFailed(0, 'the answer ended early');
      else complete(r);
    });
    res.on('error', (e) => attemptFailed(0, e.message));
  });
  req.end();
}
