/**
 * How long the server waits for a client (docs/deploy.md, "Timeouts").
 *
 * Node bounds the headers (headersTimeout, checked every
 * connectionsCheckingInterval) and an idle socket (server.timeout), but a
 * body only as a whole (requestTimeout): too short for a big blob on a slow
 * uplink, and with 0 (no limit) a client trickling a byte now and then holds
 * its socket and the upload's temp file for ever. So a body gets a grace
 * period plus one second for every `minBodyBytesPerSec` bytes received (the
 * rule of Apache's mod_reqtimeout, `body=20,MinRate=500`): any real upload
 * keeps extending its deadline, a trickle falls behind it. Past the deadline
 * the client gets a 408 (when nothing was answered yet) and the connection is
 * closed, which ends the handler's read with an error (its temp file goes).
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { ErrorCode } from '../../util/coded-error.ts';

export interface Timeouts {
  /** The request line and headers must arrive within this. */
  headersMs: number;
  /** A body may take this long, plus one second per `minBodyBytesPerSec` bytes received. */
  bodyGraceMs: number;
  minBodyBytesPerSec: number;
  /** A connection with no byte in or out for this long is closed (a stalled upload or download). */
  idleMs: number;
  /** An idle keep-alive connection waits this long for its next request. */
  keepAliveMs: number;
  /** How often the header and body deadlines are checked. */
  checkEveryMs: number;
}

export const DEFAULT_TIMEOUTS: Timeouts = {
  headersMs: 20_000,
  bodyGraceMs: 20_000,
  minBodyBytesPerSec: 500,
  idleMs: 60_000,
  keepAliveMs: 5_000,
  checkEveryMs: 1_000,
};

/** The node:http(s) createServer options that carry the timeouts (some are only read at creation). */
export function serverTimeoutOptions(t: Timeouts): { headersTimeout: number; requestTimeout: number; connectionsCheckingInterval: number; keepAliveTimeout: number } {
  // requestTimeout 0: the whole-request bound is replaced by the body deadline below
  return { headersTimeout: t.headersMs, requestTimeout: 0, connectionsCheckingInterval: t.checkEveryMs, keepAliveTimeout: t.keepAliveMs };
}

/** The `code` of the error a request's reader sees when its body was cut off for coming too slowly. */
export const BODY_TIMEOUT = 'ERR_BODY_TIMEOUT';

interface Watched {
  req: IncomingMessage;
  res: ServerResponse;
  socket: Socket;
  since: number;
  bytesAtStart: number;
}

/** Applies the idle timeout and enforces the body deadlines of the requests given to `watch`. */
export class BodyDeadlines {
  private watched = new Set<Watched>();
  private timer: NodeJS.Timeout;

  constructor(
    server: Server,
    private t: Timeouts,
  ) {
    server.keepAliveTimeout = t.keepAliveMs;
    server.setTimeout(t.idleMs, (socket) => socket.destroy());
    this.timer = setInterval(() => this.check(), t.checkEveryMs);
    this.timer.unref();
  }

  /** Called when a request's headers are in: from now its body runs against the deadline. */
  watch(req: IncomingMessage, res: ServerResponse): void {
    if (req.complete) return;
    this.watched.add({ req, res, socket: req.socket, since: Date.now(), bytesAtStart: req.socket.bytesRead });
  }

  private check(): void {
    const now = Date.now();
    for (const w of this.watched) {
      if (w.req.complete || w.socket.destroyed) {
        this.watched.delete(w);
        continue;
      }
      const received = w.socket.bytesRead - w.bytesAtStart;
      if (now - w.since <= this.t.bodyGraceMs + (received / this.t.minBodyBytesPerSec) * 1000) continue;
      this.watched.delete(w);
      timeOut(w);
    }
  }

  stop(): void {
    clearInterval(this.timer);
    this.watched.clear();
  }
}

function timeOut({ req, res, socket }: Watched): void {
  // the request too: once its response has ended, Node no longer aborts it when the socket closes, and
  // whoever reads its body (a blob upload, a drain) would wait for ever
  const abort = () => {
    req.destroy(Object.assign(new Error('request body too slow'), { code: BODY_TIMEOUT }));
    socket.destroy();
  };
  if (res.headersSent || res.writableEnded) {
    abort();
    return;
  }
  const body = JSON.stringify({ error: { code: 'request_timeout' satisfies ErrorCode, message: 'the request body came too slowly' } });
  res.writeHead(408, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(body), Connection: 'close' });
  res.end(body, abort);
  // a client that does not read its answer does not keep the socket either
  setTimeout(abort, 1000).unref();
}
