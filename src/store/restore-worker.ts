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
import { closeSync, constants as fsc, openSync, readSync, writeSync } from 'node:fs';
import { finishFdSync } from './finish-file.ts';
import { parentPort } from 'node:worker_threads';
import { CodedError } from '../util/coded-error.ts';
import { CHUNK_DATA, openChunk } from './chunk-crypto.ts';
import { MAX_CHUNK } from './chunker.ts';
import type { Finish, FromRestoreWorker, Job, JobItem, ToRestoreWorker } from './restore-protocol.ts';
import { zstdContext } from './zstd.ts';

const zstd = zstdContext();
const zeros = Buffer.alloc(MAX_CHUNK);
const post = (m: FromRestoreWorker) => parentPort!.postMessage(m);

interface Running {
  job: Job;
  /** Bytes of the range received and kept. */
  have: number;
  parts: Buffer[];
  partBytes: number;
  /** Absolute pack offset of parts[0][0]. */
  partsAt: number;
  next: number;
  finishes: Map<number, Finish>;
  req?: { destroy(e?: Error): void };
  settled: boolean;
}

const running = new Map<number, Running>();

parentPort!.on('message', (m: ToRestoreWorker) => {
  if (m.type === 'job') {
    const r: Running = { job: m, have: 0, parts: [], partBytes: 0, partsAt: m.start, next: 0, finishes: new Map(m.finish.map((f) => [f.file, f])), settled: false };
    running.set(m.job, r);
    if ('file' in m.source) readLocal(r, m.source.file);
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
  r.req?.destroy();
  const code = e instanceof CodedError ? e.code : ((e as NodeJS.ErrnoException).code ?? 'write_failed');
  post({ type: 'error', job: r.job.job, code, message: (e as Error).message });
}

const isZero = (b: Buffer) => b.length <= zeros.length && b.equals(zeros.subarray(0, b.length));

function writeItem(r: Running, item: JobItem, sealed: Buffer): void {
  const plain = openChunk(item.key, item.id, CHUNK_DATA, sealed, item.raw, zstd, 'chunk');
  const hole = isZero(plain);
  for (const t of item.targets) {
    const fin = r.finishes.get(t.file);
    if (hole && !fin) continue;
    const fd = openSync(Buffer.from(r.job.paths[t.file]!), fsc.O_WRONLY | fsc.O_CREAT | fsc.O_NOFOLLOW, 0o600);
    try {
      if (!hole) for (let off = 0; off < plain.length; ) off += writeSync(fd, plain, off, plain.length - off, t.pos + off);
      if (fin) finishFdSync(fd, fin);
    } finally {
      closeSync(fd);
    }
  }
}


/** Consumes whole items from the received parts. */
function drain(r: Running): void {
  const items = r.job.items;
  while (r.next < items.length) {
    const it = items[r.next]!;
    const endAbs = r.partsAt + r.partBytes;
    if (endAbs < it.offset + it.length) return;
    // Drop bytes before the item (a gap between merged chunks).
    let skip = it.offset - r.partsAt;
    while (skip > 0 && r.parts.length) {
      const p = r.parts[0]!;
      if (p.length <= skip) {
        r.parts.shift();
        skip -= p.length;
        r.partsAt += p.length;
        r.partBytes -= p.length;
      } else {
        r.parts[0] = p.subarray(skip);
        r.partsAt += skip;
        r.partBytes -= skip;
        skip = 0;
      }
    }
    let sealed: Buffer;
    if (r.parts[0]!.length >= it.length) {
      sealed = r.parts[0]!.subarray(0, it.length);
      r.parts[0] = r.parts[0]!.subarray(it.length);
      if (r.parts[0].length === 0) r.parts.shift();
    } else {
      const all = Buffer.concat(r.parts, r.partBytes);
      sealed = all.subarray(0, it.length);
      r.parts = all.length > it.length ? [all.subarray(it.length)] : [];
    }
    r.partsAt += it.length;
    r.partBytes -= it.length;
    writeItem(r, it, sealed);
    r.next++;
    post({ type: 'progress', job: r.job.job, bytes: it.length, raw: it.raw * it.targets.length });
  }
}

function complete(r: Running): void {
  if (r.settled) return;
  if (r.next < r.job.items.length) {
    fail(r, new CodedError('chunk_missing', `pack ${r.job.pack.slice(0, 12)}: the range ended before chunk ${r.next + 1} of ${r.job.items.length}`));
    return;
  }
  r.settled = true;
  running.delete(r.job.job);
  post({ type: 'done', job: r.job.job });
}

function onBytes(r: Running, b: Buffer): void {
  r.parts.push(b);
  r.partBytes += b.length;
  r.have += b.length;
  drain(r);
}

function readLocal(r: Running, file: string): void {
  try {
    const fd = openSync(file, fsc.O_RDONLY);
    try {
      const buf = Buffer.allocUnsafe(1024 * 1024);
      for (let pos = r.job.start; pos < r.job.end; ) {
        const n = readSync(fd, buf, 0, Math.min(buf.length, r.job.end - pos), pos);
        if (n === 0) break;
        onBytes(r, Buffer.from(buf.subarray(0, n)));
        pos += n;
      }
    } finally {
      closeSync(fd);
    }
    complete(r);
  } catch (e) {
    fail(r, e);
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
