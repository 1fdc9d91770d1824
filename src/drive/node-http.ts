/**
 * Streamed requests over node:http(s), for the two blob paths where fetch
 * costs too much (Node 20, undici 6, measured):
 * - uploads: fetch buffers a streamed request body (+520 MiB RSS for a
 *   512 MiB blob; the same file piped into http.request: +40 MiB);
 * - restore downloads: reading 600 MiB from loopback costs fetch's web
 *   streams ≈ 1.0 CPU-s, an IncomingMessage ≈ 0.6, plus the GC of the
 *   former — on the restore's busiest thread (bench/restore-files.ts).
 * The rules are DriveClient.request's: the client's token, one refresh on
 * 401, DriveError for refused statuses. Retrying is the caller's (an upload
 * repeats the whole PUT, a download resumes with Range). A connection idle
 * for `idleMs` (default: the client's timeout) is destroyed: an error of the
 * request before the answer, of the response body after.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { DriveClient } from './client.ts';
import { DriveError, errorFromBody } from './errors.ts';

export interface StreamRequest {
  method: 'GET' | 'PUT';
  path: string;
  headers?: Record<string, string>;
  /** A fresh body for each attempt (a 401 refresh sends it again). */
  body?: () => Readable;
  signal?: AbortSignal;
  idleMs?: number;
  /** Statuses returned as-is instead of thrown. */
  accept?: number[];
}

/** Resolves with the response (2xx or accepted) once its head arrived; the caller reads or discards the body. */
export async function streamRequest(c: DriveClient, r: StreamRequest): Promise<IncomingMessage> {
  const url = new URL(c.url(r.path));
  const tokens = c.tokenSource;
  for (let refreshed = false; ; refreshed = true) {
    const res = await once(url, await tokens.accessToken(), r, r.idleMs ?? c.timeoutMs);
    const status = res.statusCode ?? 0;
    if ((status >= 200 && status < 300) || r.accept?.includes(status)) return res;
    if (status === 401 && !refreshed && tokens.refresh) {
      res.resume();
      await tokens.refresh();
      continue;
    }
    throw await readError(res);
  }
}

function once(url: URL, token: string, r: StreamRequest, idleMs: number): Promise<IncomingMessage> {
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    let answered = false;
    const fail = (e: unknown) => {
      if (answered) return; // from now on the response's own errors say what happened
      answered = true;
      if (r.signal?.aborted) reject(new DriveError(0, 'aborted', 'aborted', {}, { cause: e }));
      else if (e instanceof DriveError) reject(e);
      else reject(new DriveError(0, 'network', `${r.method} ${url.pathname}: ${(e as Error).message}`, {}, { cause: e }));
    };
    const req = request(url, {
      method: r.method,
      headers: { authorization: `Bearer ${token}`, ...r.headers },
      ...(r.signal ? { signal: r.signal } : {}),
    });
    req.setTimeout(idleMs, () => req.destroy(new DriveError(0, 'network', `${r.method} ${url.pathname}: no activity for ${idleMs} ms`)));
    req.on('error', fail);
    req.on('response', (res) => {
      if (answered) return void res.destroy();
      answered = true;
      resolve(res);
    });
    // A refused PUT may also cut the body short: then the answer, not the pipe, says why.
    if (r.body) pipeline(r.body(), req).catch(fail);
    else req.end();
  });
}

/** The answer's error body as a DriveError (the body is consumed, up to 64 chunks). */
export async function readError(res: IncomingMessage): Promise<DriveError> {
  const chunks: Buffer[] = [];
  try {
    for await (const c of res) if (chunks.length < 64) chunks.push(c as Buffer);
  } catch {
    // a cut error body still has its status
  }
  return errorFromBody(res.statusCode ?? 0, res.statusMessage ?? '', Buffer.concat(chunks).toString('utf8'));
}
