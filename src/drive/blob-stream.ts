/**
 * A blob as a stream, for restores that must not stage whole blobs (a 1 GiB
 * documents archive goes straight from the socket through zstd and tar into
 * the target). The bytes are hashed as they pass; a dropped or stalled
 * connection is resumed with `Range: bytes=<have>-` transparently; after the
 * last byte a digest that differs from the address errors the stream with
 * DriveError 'hash_mismatch' — the consumer then discards what it staged.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { DriveClient } from './client.ts';
import { DriveError } from './errors.ts';
import { backoffMs, sleep } from './retry.ts';

export interface BlobStreamOptions {
  owner?: string;
  signal?: AbortSignal;
  /** Bytes received so far. */
  onBytes?: (have: number) => void;
  /** Abort an attempt after this long without a byte (ms, default 30 000). */
  stallMs?: number;
  retries?: number;
}

export function openBlobStream(c: DriveClient, hex: string, o: BlobStreamOptions = {}): Readable {
  if (!/^[0-9a-f]{64}$/.test(hex)) throw new DriveError(0, 'invalid_blob_address', `not a sha256 hex address: ${hex}`);
  const retries = o.retries ?? c.retry.retries;
  async function* bytes(): AsyncGenerator<Buffer> {
    const hash = createHash('sha256');
    let have = 0;
    let failures = 0;
    for (;;) {
      const stall = new AbortController();
      const signal = o.signal ? AbortSignal.any([o.signal, stall.signal]) : stall.signal;
      let timer = setTimeout(() => stall.abort(), o.stallMs ?? 30_000);
      try {
        const res = await c.request(c.blobPath(hex, o.owner), { headers: have > 0 ? { range: `bytes=${have}-` } : {}, signal, retries: 0 });
        if (have > 0 && res.status !== 206) {
          // Bytes already went downstream: a server that cannot resume cannot be continued.
          await res.body?.cancel();
          throw new DriveError(res.status, 'range_unsupported', `blob ${hex}: the server did not resume at byte ${have}`);
        }
        if (!res.body) throw new DriveError(res.status, 'network', `blob ${hex}: empty response`);
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
          clearTimeout(timer);
          timer = setTimeout(() => stall.abort(), o.stallMs ?? 30_000);
          const buf = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
          hash.update(buf);
          have += buf.length;
          o.onBytes?.(have);
          yield buf;
        }
        break;
      } catch (e) {
        if (o.signal?.aborted) throw new DriveError(0, 'aborted', 'download aborted', {}, { cause: e });
        const err = e instanceof DriveError ? e : new DriveError(0, 'network', `blob ${hex}: ${(e as Error).message}`, {}, { cause: e });
        if ((!err.transient && err.code !== 'network') || failures >= retries) throw err;
        failures++;
        await sleep(backoffMs(failures, c.retry), o.signal);
      } finally {
        clearTimeout(timer);
      }
    }
    const digest = hash.digest('hex');
    if (digest !== hex) throw new DriveError(0, 'hash_mismatch', `blob ${hex}: received bytes hash to ${digest}`, { expected: hex, actual: digest });
  }
  return Readable.from(bytes(), { objectMode: false, highWaterMark: 1 << 20 });
}
