/**
 * A fake blob server on 127.0.0.1 (node:http, port 0) for the drive client's
 * download paths: serves the given bytes at `/v1/me/blobs/<hex>` (and
 * `/v1/users/<owner>/blobs/<hex>`) with one `Range: bytes=N-` / `bytes=N-M`
 * honoured (206 + Content-Range + Content-Length, 416 past the end), and
 * misbehaves on request as scripted: `script[i]` is the behaviour of the
 * i-th blob GET (0-based), 'ok' once the script is used up.
 *
 * - 'ok': a correct answer.
 * - 'drop-after:N': headers, N body bytes, then the socket is destroyed.
 * - 'stall-after:N': headers, N body bytes, then nothing (the socket stays open).
 * - 'ignore-range': 200 with the whole body even when a Range was asked for.
 * - 'status:S': status S with a JSON error document
 *   `{"error":{"code":...,"message":...}}` (404 → not_found, 401 →
 *   unauthorized, 503 → unavailable, else http_S).
 *
 * Records each blob request (headers authorization and range, the behaviour
 * used, the status sent). `close()` destroys every open socket (a stalled
 * answer included) and waits for the server to close.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type BlobBehaviour = 'ok' | 'ignore-range' | `drop-after:${number}` | `stall-after:${number}` | `status:${number}`;

export interface BlobRequestRecord {
  method: string;
  path: string;
  authorization: string | undefined;
  range: string | undefined;
  behaviour: BlobBehaviour;
  status: number;
}

export interface BlobHttpServer {
  /** Base URL, e.g. `http://127.0.0.1:43210`. */
  url: string;
  /** Every blob request, in arrival order. */
  requests: BlobRequestRecord[];
  /** Behaviours still to be used, in order (mutable: push more). */
  script: BlobBehaviour[];
  /** Serves `bytes` at `hex` (replacing what was there). */
  set(hex: string, bytes: Buffer): void;
  close(): Promise<void>;
}

const ERROR_CODES: Record<number, string> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  500: 'internal',
  503: 'unavailable',
};

function sendError(res: ServerResponse, status: number, message: string): void {
  const body = JSON.stringify({ error: { code: ERROR_CODES[status] ?? `http_${status}`, message } });
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

/** `bytes=N-` or `bytes=N-M` → [start, end] inclusive; 'bad' when unsatisfiable; undefined when absent. */
function parseRange(h: string | undefined, size: number): [number, number] | 'bad' | undefined {
  if (h === undefined) return undefined;
  const m = /^bytes=(\d+)-(\d*)$/.exec(h.trim());
  if (!m) return undefined; // ignored, as RFC 9110 allows
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size || end < start) return 'bad';
  return [start, end];
}

export async function blobHttpServer(blobs: Record<string, Buffer> = {}, script: BlobBehaviour[] = []): Promise<BlobHttpServer> {
  const store = new Map<string, Buffer>(Object.entries(blobs));
  const sockets = new Set<Socket>();
  const state: BlobHttpServer = {
    url: '',
    requests: [],
    script: [...script],
    set: (hex, bytes) => void store.set(hex, bytes),
    close: async () => {},
  };

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    const m = /^\/v1\/(?:me|users\/[^/]+)\/blobs\/([0-9a-f]{64})$/.exec(path);
    if (!m || (req.method !== 'GET' && req.method !== 'HEAD')) return sendError(res, 404, `no route ${req.method} ${path}`);
    const behaviour: BlobBehaviour = state.script.shift() ?? 'ok';
    const rec: BlobRequestRecord = {
      method: req.method,
      path,
      authorization: req.headers.authorization,
      range: req.headers.range,
      behaviour,
      status: 0,
    };
    state.requests.push(rec);

    const status = /^status:(\d+)$/.exec(behaviour);
    if (status) {
      rec.status = Number(status[1]);
      return sendError(res, rec.status, `scripted ${rec.status}`);
    }
    const bytes = store.get(m[1]!);
    if (!bytes) {
      rec.status = 404;
      return sendError(res, 404, 'blob not found');
    }
    const size = bytes.length;
    const range = behaviour === 'ignore-range' ? undefined : parseRange(req.headers.range, size);
    if (range === 'bad') {
      rec.status = 416;
      res.setHeader('Content-Range', `bytes */${size}`);
      return sendError(res, 416, `range not satisfiable (size ${size})`);
    }
    const [start, end] = range ?? [0, size - 1];
    const body = bytes.subarray(start, end + 1);
    rec.status = range ? 206 : 200;
    res.writeHead(rec.status, {
      'Content-Type': 'application/octet-stream',
      'Accept-Ranges': 'bytes',
      'Content-Length': body.length,
      ...(range ? { 'Content-Range': `bytes ${start}-${end}/${size}` } : {}),
    });
    if (req.method === 'HEAD') return void res.end();

    const drop = /^drop-after:(\d+)$/.exec(behaviour);
    const stall = /^stall-after:(\d+)$/.exec(behaviour);
    if (drop) {
      const n = Math.min(Number(drop[1]), body.length);
      // Headers and the first n bytes reach the client, then the connection dies.
      res.write(body.subarray(0, n), () => res.socket?.destroy());
      return;
    }
    if (stall) {
      const n = Math.min(Number(stall[1]), body.length);
      res.write(body.subarray(0, n)); // ...and nothing more; the socket stays open
      return;
    }
    res.end(body);
  };

  const server = createServer(handle);
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.close = () =>
    new Promise<void>((resolve, reject) => {
      server.close((e) => (e ? reject(e) : resolve()));
      for (const s of sockets) s.destroy();
    });
  return state;
}
