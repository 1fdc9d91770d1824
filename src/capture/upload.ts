/**
 * Blob upload with byte progress and flat memory: HEAD first (a blob the
 * server has is not sent — an unchanged folder costs nothing), else a
 * streamed PUT of the file; the server checks the sha256.
 *
 * The PUT goes through node:http(s) with the file piped into the request,
 * not through fetch: Node 20's fetch (undici 6) buffers a streamed request
 * body — measured, RSS grew by the whole blob (+520 MiB for a 512 MiB blob,
 * with a ReadableStream, an async iterable or a Node stream as the body; the
 * same file piped into http.request: +40 MiB). drive/upload.ts has the same
 * problem for big blobs.
 * Retries: a 401 refreshes the token once; no response, 408/429/5xx are
 * retried with the client's backoff policy (the whole PUT again: it is
 * idempotent).
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { DriveClient } from '../drive/client.ts';
import { DriveError } from '../drive/errors.ts';
import { backoffMs, sleep } from '../drive/retry.ts';
import type { TokenSource } from '../drive/types.ts';

async function readError(res: IncomingMessage): Promise<DriveError> {
  const chunks: Buffer[] = [];
  for await (const c of res) if (chunks.length < 64) chunks.push(c as Buffer);
  let code = `http_${res.statusCode}`;
  let message = `${res.statusCode} ${res.statusMessage ?? ''}`.trim();
  try {
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { error?: { code?: string; message?: string } };
    if (typeof body.error?.code === 'string') code = body.error.code;
    if (typeof body.error?.message === 'string') message = body.error.message;
  } catch {
    // not JSON
  }
  return new DriveError(res.statusCode ?? 0, code, message);
}

/** One PUT of `file` to `url`; resolves with the response status, rejects with DriveError. */
function putFile(url: URL, token: string, file: string, size: number, onBytes: (done: number) => void, signal?: AbortSignal): Promise<number> {
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(url, {
      method: 'PUT',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream', 'content-length': String(size) },
      ...(signal ? { signal } : {}),
    });
    req.on('response', (res) => {
      if (res.statusCode && res.statusCode < 300) {
        res.resume();
        res.on('end', () => resolve(res.statusCode!));
        return;
      }
      readError(res).then(reject, reject);
    });
    let done = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        done += chunk.length;
        onBytes(done);
        cb(null, chunk);
      },
    });
    pipeline(createReadStream(file, { highWaterMark: 256 * 1024 }), counter, req).catch((e: Error) => {
      if (signal?.aborted) reject(new DriveError(0, 'aborted', 'aborted', {}, { cause: e }));
      else reject(new DriveError(0, 'network', `PUT ${url.pathname}: ${e.message}`, {}, { cause: e }));
    });
  });
}

export async function uploadWithProgress(
  client: DriveClient,
  tokens: TokenSource,
  hex: string,
  file: string,
  onBytes: (done: number, size: number) => void,
  signal?: AbortSignal,
): Promise<{ sent: boolean; size: number }> {
  const { size } = await stat(file);
  if ((await client.headBlob(hex)) !== undefined) return { sent: false, size };
  const url = new URL(client.url(client.blobPath(hex)));
  let refreshed = false;
  for (let attempt = 0; ; attempt++) {
    try {
      await putFile(url, await tokens.accessToken(), file, size, (done) => onBytes(done, size), signal);
      return { sent: true, size };
    } catch (e) {
      if (!(e instanceof DriveError) || e.code === 'aborted') throw e;
      if (e.status === 401 && !refreshed && tokens.refresh) {
        refreshed = true;
        await tokens.refresh();
        attempt--;
        continue;
      }
      if (!e.transient || attempt >= client.retry.retries) throw e;
      await sleep(backoffMs(attempt + 1, client.retry), signal);
    }
  }
}
