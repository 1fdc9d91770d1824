/**
 * Blob download to disk:
 *   bytes go to DEST.part, appended and hashed chunk by chunk (each chunk is
 *   written before it is hashed, so file and hash never disagree); when the
 *   connection drops or stalls, the next attempt asks `Range: bytes=<have>-`
 *   and goes on (a server answering 200 instead restarts from zero); after
 *   the last byte the sha256 must equal the address, then DEST.part is
 *   fsync'ed (unless `durable: false`) and renamed to DEST. A DEST.part left by an earlier run is
 *   hashed and resumed. A mismatch deletes DEST.part and fails with
 *   'hash_mismatch': DEST only ever exists complete and verified (a DEST
 *   already there with the right hash is kept and nothing is fetched).
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { DriveClient } from './client.ts';
import { checkBlobHex, DriveError } from './errors.ts';
import { backoffMs, pool, sleep } from './retry.ts';

export interface DownloadOptions {
  /** Owner id, for a blob of a chain shared with me. */
  owner?: string;
  signal?: AbortSignal;
  /** Bytes so far / total. */
  onProgress?: (have: number, total: number | undefined) => void;
  /** Abort an attempt after this long without a byte (ms, default 30 000). */
  stallMs?: number;
  /** Attempts after the first (default: the client's retry policy). */
  retries?: number;
  /**
   * false: DEST.part is not fsync'ed before its rename — for a copy whose
   * reader hashes it again after a restart (the fetch-ahead's, which runs
   * beside dpkg: forcing 500 MiB of packs to disk slowed dpkg down).
   */
  durable?: boolean;
  /** Internal: set when the part file was discarded once already. */
  restarted?: boolean;
}

export interface DownloadResult {
  hex: string;
  dest: string;
  size: number;
  /** How many times the transfer was resumed after a failure. */
  resumes: number;
}

export async function downloadBlob(c: DriveClient, hex: string, dest: string, o: DownloadOptions = {}): Promise<DownloadResult> {
  checkBlobHex(hex);
  await mkdir(dirname(dest), { recursive: true });
  const existing = await stat(dest).catch(() => undefined);
  if (existing?.isFile() && (await fileHashesTo(dest, hex))) return { hex, dest, size: existing.size, resumes: 0 };
  const part = `${dest}.part`;
  const retries = o.retries ?? c.retry.retries;
  const hash = createHash('sha256');
  let have = await hashExisting(part, hash);
  const fh = await open(part, 'a', 0o600);
  let total: number | undefined;
  let resumes = 0;
  let failures = 0;
  let restart = false;
  try {
    for (;;) {
      if (o.signal?.aborted) throw new DriveError(0, 'aborted', 'download aborted');
      try {
        const done = await attempt(c, hex, fh, hash, have, o, (n, t) => {
          have = n;
          total = t;
        });
        have = done.have;
        total = done.total;
        break;
      } catch (e) {
        if (e instanceof RestartFromZero) {
          restart = true;
          break;
        }
        const err = e instanceof DriveError ? e : new DriveError(0, 'network', `blob ${hex}: ${(e as Error).message}`, {}, { cause: e });
        if (err.code === 'aborted' || (!err.transient && err.code !== 'network') || failures >= retries) throw err;
        failures++;
        resumes++;
        await sleep(backoffMs(failures, c.retry), o.signal).catch(() => {
          throw new DriveError(0, 'aborted', 'download aborted');
        });
      }
    }
    if (o.durable !== false) await fh.sync();
  } finally {
    await fh.close();
  }
  if (restart) {
    // what we had does not continue what the server has now: start over, once
    if (o.restarted) throw new DriveError(0, 'range_unsupported', `blob ${hex}: the server does not resume this download`);
    await rm(part, { force: true });
    return downloadBlob(c, hex, dest, { ...o, restarted: true });
  }
  const digest = hash.digest('hex');
  if (digest !== hex) {
    await rm(part, { force: true });
    throw new DriveError(0, 'hash_mismatch', `blob ${hex}: received bytes hash to ${digest}`, { expected: hex, actual: digest });
  }
  await rename(part, dest);
  return { hex, dest, size: total ?? have, resumes };
}

/** The server ignored our Range (200): the part file is stale. */
class RestartFromZero extends Error {}

/** Whether the file's bytes hash to `hex` (sha256): false when it is missing or cannot be read. */
export async function fileHashesTo(path: string, hex: string): Promise<boolean> {
  const h = createHash('sha256');
  try {
    await hashExisting(path, h);
  } catch {
    return false;
  }
  return h.digest('hex') === hex;
}

async function hashExisting(part: string, hash: Hash): Promise<number> {
  try {
    const { size } = await stat(part);
    if (size === 0) return 0;
    for await (const chunk of createReadStream(part)) hash.update(chunk as Buffer);
    return size;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw e;
  }
}

async function attempt(
  c: DriveClient,
  hex: string,
  fh: FileHandle,
  hash: Hash,
  startAt: number,
  o: DownloadOptions,
  progress: (have: number, total: number | undefined) => void,
): Promise<{ have: number; total: number }> {
  const stall = new AbortController();
  const signal = o.signal ? AbortSignal.any([o.signal, stall.signal]) : stall.signal;
  let timer = setTimeout(() => stall.abort(new Error('stalled')), o.stallMs ?? 30_000);
  const kick = () => {
    clearTimeout(timer);
    timer = setTimeout(() => stall.abort(new Error('stalled')), o.stallMs ?? 30_000);
  };
  try {
    const res = await c.request(c.blobPath(hex, o.owner), {
      headers: startAt > 0 ? { range: `bytes=${startAt}-` } : {},
      accept: [416],
      signal,
      retries: 0, // resumption and its backoff are handled here
    });
    if (res.status === 416) {
      await res.arrayBuffer().catch(() => {});
      const size = Number(/\/(\d+)$/.exec(res.headers.get('content-range') ?? '')?.[1]);
      if (size === startAt) return { have: startAt, total: size }; // already complete
      throw new RestartFromZero();
    }
    let have = startAt;
    let total: number;
    if (res.status === 206) {
      const m = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(res.headers.get('content-range') ?? '');
      if (!m || Number(m[1]) !== startAt) {
        await res.body?.cancel();
        throw new RestartFromZero();
      }
      total = Number(m[3]);
    } else {
      if (startAt > 0) {
        await res.body?.cancel();
        throw new RestartFromZero();
      }
      total = Number(res.headers.get('content-length') ?? NaN);
    }
    if (!res.body) throw new DriveError(res.status, 'network', 'empty response body');
    progress(have, Number.isFinite(total) ? total : undefined);
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      kick();
      await writeAll(fh, chunk);
      hash.update(chunk);
      have += chunk.length;
      progress(have, total);
      o.onProgress?.(have, Number.isFinite(total) ? total : undefined);
    }
    if (Number.isFinite(total) && have !== total) throw new DriveError(0, 'network', `blob ${hex}: connection closed at ${have} of ${total} bytes`);
    return { have, total: Number.isFinite(total) ? total : have };
  } catch (e) {
    if (o.signal?.aborted) throw new DriveError(0, 'aborted', 'download aborted', {}, { cause: e });
    throw e;
  } finally {
    clearTimeout(timer);
  }
}

async function writeAll(fh: FileHandle, chunk: Uint8Array): Promise<void> {
  let off = 0;
  while (off < chunk.length) {
    const { bytesWritten } = await fh.write(chunk, off, chunk.length - off);
    off += bytesWritten;
  }
}

export function downloadBlobs(
  c: DriveClient,
  items: { hex: string; dest: string }[],
  o: DownloadOptions & { parallel?: number } = {},
): Promise<DownloadResult[]> {
  return pool(items, o.parallel ?? 4, (it) => downloadBlob(c, it.hex, it.dest, o));
}
