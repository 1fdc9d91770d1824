/**
 * HTTP/1.1 by hand over a TCP socket, for requests no client library would
 * send as written: dot segments and backslashes left in the path (fetch and
 * `new URL` resolve them), lying Content-Lengths, broken framing, bytes
 * trickled slowly. Reads until the server closes the connection (the requests
 * built here say `Connection: close`) or `timeoutMs` passes.
 */
import { connect, type Socket } from 'node:net';

export interface RawAnswer {
  /** Status of the first response, if one came. */
  status?: number;
  /** Everything the server sent (latin1). */
  text: string;
  /** The body of the first response (after the blank line; de-chunked when chunked; UTF-8). */
  body: string;
  /** Milliseconds from connecting to the end. */
  ms: number;
  /** false when `timeoutMs` passed with the connection still open. */
  closed: boolean;
}

/** Connects to `url`'s host and port, lets `send` write (and wait), reads everything until close or timeout. */
export function rawExchange(url: string, send: (sock: Socket) => void | Promise<void>, timeoutMs = 10_000): Promise<RawAnswer> {
  const u = new URL(url);
  const t0 = Date.now();
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const sock = connect(Number(u.port), u.hostname);
    let done = false;
    const finish = (closed: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      const text = Buffer.concat(chunks).toString('latin1');
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1];
      resolve({ status: status ? Number(status) : undefined, text, body: bodyOf(text), ms: Date.now() - t0, closed });
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    sock.on('data', (c) => chunks.push(c));
    sock.on('end', () => finish(true));
    sock.on('close', () => finish(true));
    sock.on('error', () => finish(true));
    sock.on('connect', () => {
      Promise.resolve(send(sock)).catch(() => finish(true));
    });
  });
}

export interface RawRequest {
  method: string;
  /** Sent as is: nothing is resolved or encoded. */
  target: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Content-Length is set from the body unless given (or unless Transfer-Encoding is). */
  timeoutMs?: number;
}

/** The bytes of one request with `Connection: close`. */
export function requestBytes(url: string, r: RawRequest): Buffer {
  const u = new URL(url);
  const body = r.body === undefined ? Buffer.alloc(0) : Buffer.isBuffer(r.body) ? r.body : Buffer.from(r.body);
  const headers: Record<string, string> = { host: u.host, connection: 'close', ...r.headers };
  const lower = Object.keys(headers).map((k) => k.toLowerCase());
  if (r.body !== undefined && !lower.includes('content-length') && !lower.includes('transfer-encoding')) headers['content-length'] = String(body.length);
  const head = `${r.method} ${r.target} HTTP/1.1\r\n${Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('')}\r\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), body]);
}

export function rawRequest(url: string, r: RawRequest): Promise<RawAnswer> {
  return rawExchange(url, (s) => void s.write(requestBytes(url, r)), r.timeoutMs);
}

/** The first response's body, de-chunked, as UTF-8. */
function bodyOf(text: string): string {
  return Buffer.from(bodyBytesOf(text), 'latin1').toString('utf8');
}

function bodyBytesOf(text: string): string {
  const i = text.indexOf('\r\n\r\n');
  if (i < 0) return '';
  const head = text.slice(0, i);
  let body = text.slice(i + 4);
  if (/\r\ntransfer-encoding: *chunked/i.test(head)) {
    let out = '';
    for (;;) {
      const eol = body.indexOf('\r\n');
      const n = parseInt(body.slice(0, eol), 16);
      if (!(n > 0)) break;
      out += body.slice(eol + 2, eol + 2 + n);
      body = body.slice(eol + 2 + n + 2);
    }
    return out;
  }
  const len = /\r\ncontent-length: *(\d+)/i.exec(head)?.[1];
  return len === undefined ? body : body.slice(0, Number(len));
}
