/**
 * A blob as a stream, for restores that must not stage whole blobs (a 1 GiB
 * documents archive goes straight from the socket through zstd and tar into
 * the target). The bytes are hashed as they pass; a dropped or stalled
 * connection is resumed with `Range: bytes=<have>-` transparently; after the
 * last byte a digest that differs from the address errors the stream with
 * DriveError 'hash_mismatch' — the consumer then discards what it staged.
 * Over node:http, not fetch: this is the restore's hot path (node-http.ts).
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import type { DriveClient } from './client.ts';
import { blobFetchError, checkBlobHex, DriveError } from './errors.ts';
import { streamRequest } from './node-http.ts';
import { retryBudget } from './retry.ts';

export interface BlobStreamOptions {
  owner?: string;
  signal?: AbortSignal;
  /** Bytes received so far. */
  onBytes?: (have: number) => void;
  /** Abort an attempt after this long without a byte (ms, default 30 000). */
  stallMs?: number;
  retries?: number;
  /** Hash the bytes and error on a mismatch (default true); false when the consumer checks the address itself. */
  verify?: boolean;
}

export function openBlobStream(c: DriveClient, hex: string, o: BlobStreamOptions = {}): Readable {
  checkBlobHex(hex);
  const retry = retryBudget(c.retry, o.retries, o.signal);
  async function* bytes(): AsyncGenerator<Buffer> {
    const hash = o.verify === false ? undefined : createHash('sha256');
    let have = 0;
    for (;;) {
      let res: IncomingMessage | undefined;
      try {
        res = await streamRequest(c, {
          method: 'GET',
          path: c.blobPath(hex, o.owner),
          ...(have > 0 ? { headers: { range: `bytes=${have}-` } } : {}),
          ...(o.signal ? { signal: o.signal } : {}),
          idleMs: o.stallMs ?? 30_000,
        });
        if (have > 0 && res.statusCode !== 206) {
          // Bytes already went downstream: a server that cannot resume cannot be continued.
          throw new DriveError(res.statusCode ?? 0, 'range_unsupported', `blob ${hex}: the server did not resume at byte ${have}`);
        }
        for await (const chunk of res) {
          const buf = chunk as Buffer;
          hash?.update(buf);
          have += buf.length;
          o.onBytes?.(have);
          yield buf;
        }
        break;
      } catch (e) {
        if (o.signal?.aborted) throw new DriveError(0, 'aborted', 'download aborted', {}, { cause: e });
        const err = e instanceof DriveError ? e : new DriveError(0, 'network', `blob ${hex}: ${(e as Error).message}`, {}, { cause: e });
        await retry(err).catch((last: unknown) => {
          throw last instanceof DriveError ? blobFetchError(last, hex, c.blobPath(hex, o.owner)) : last;
        });
      } finally {
        res?.destroy();
      }
    }
    const digest = hash?.digest('hex');
    if (digest !== undefined && digest !== hex) throw new DriveError(0, 'hash_mismatch', `blob ${hex}: received bytes hash to ${digest}`, { expected: hex, actual: digest });
  }
  // Object mode: each read hands over one received chunk as it is; a byte-mode
  // Readable's iterator concatenates whatever is buffered (a copy per read).
  return Readable.from(bytes(), { objectMode: true, highWaterMark: 16 });
}
