/** Small helpers for node:http handlers: JSON replies, typed-error mapping, bounded bodies. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApiError, BadRequestError, UnauthorizedError } from '../errors.ts';
import type { ErrorCode } from '../../util/coded-error.ts';

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text), 'Cache-Control': 'no-store', ...headers });
  res.end(text);
}

export function sendEmpty(res: ServerResponse, status: number, headers: Record<string, string | number> = {}): void {
  res.writeHead(status, headers);
  res.end();
}

export function sendError(res: ServerResponse, e: unknown, log?: (e: unknown) => void): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  if (e instanceof ApiError) {
    const headers: Record<string, string> = {};
    if (e instanceof UnauthorizedError) {
      headers['WWW-Authenticate'] = e.bearerError ? `Bearer error="${e.bearerError}", error_description="${e.message.replace(/"/g, "'")}"` : 'Bearer';
    }
    sendJson(res, e.status, { error: { code: e.code, message: e.message, ...e.details } }, headers);
    return;
  }
  log?.(e);
  sendJson(res, 500, { error: { code: 'internal' satisfies ErrorCode, message: 'internal server error' } });
}

/** Reads the whole body as text, refusing more than `limit` bytes (413). */
export async function readText(req: IncomingMessage, limit: number): Promise<string> {
  return (await readBody(req, limit)).toString('utf8');
}

/** Reads the whole body, refusing more than `limit` bytes (413). */
export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) throw new ApiError('body_too_large', `body limited to ${limit} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > limit) throw new ApiError('body_too_large', `body limited to ${limit} bytes`);
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}

export async function readJson(req: IncomingMessage, limit = 1024 * 1024): Promise<unknown> {
  const text = await readText(req, limit);
  try {
    return JSON.parse(text);
  } catch {
    throw new BadRequestError('invalid_json', 'request body is not valid JSON');
  }
}

export async function readForm(req: IncomingMessage, limit = 64 * 1024): Promise<URLSearchParams> {
  return new URLSearchParams(await readText(req, limit));
}

const forwardedFor = new WeakMap<IncomingMessage, string>();

/**
 * Behind one trusted reverse proxy (`--trust-proxy`): the client's address
 * is the last one in X-Forwarded-For — the one our proxy appended; anything
 * before it the client may have written itself. dispatch.ts calls this once
 * per request.
 */
export function trustForwardedFor(req: IncomingMessage): void {
  const h = req.headers['x-forwarded-for'];
  const last = (Array.isArray(h) ? h.join(',') : (h ?? '')).split(',').pop()?.trim();
  if (last && /^[0-9A-Fa-f.:]{2,45}$/.test(last)) forwardedFor.set(req, last);
}

/** The client's address: the socket's peer, or what the trusted proxy said (trustForwardedFor). */
export function clientIp(req: IncomingMessage): string | null {
  return forwardedFor.get(req) ?? req.socket.remoteAddress ?? null;
}

/**
 * Before answering an error to a request whose body was not read (a 413 on
 * Content-Length, a 404 on a PUT): read and drop a small rest so the client
 * sees the answer rather than a reset; close the connection after a big one.
 */
export async function settleBody(req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.complete || req.method === 'GET' || req.method === 'HEAD') return;
  const declared = Number(req.headers['content-length']);
  if (!req.destroyed && Number.isFinite(declared) && declared <= SETTLE_LIMIT) {
    try {
      for await (const _ of req) {
        // discard
      }
      return;
    } catch {
      // fall through
    }
  }
  if (!res.headersSent) res.setHeader('Connection', 'close');
}

/** The most of an unread body drained to answer on the same connection. */
const SETTLE_LIMIT = 16 * 1024 * 1024;
