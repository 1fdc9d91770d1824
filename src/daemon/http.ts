/**
 * The daemon's HTTP face, on 127.0.0.1 only, for either surface: the
 * installer wizard (a RestoreSession: wizard-routes.ts) or the Backup app
 * (an AppSession: app/routes.ts). Here: the built page, the state stream
 * (GET /api/state, Server-Sent Events) and the guards every route is behind
 * — a random session token (given once in the URL, then an HttpOnly
 * SameSite=Strict cookie, or as a Bearer header for the installer job and
 * page), a Host check (DNS rebinding: only 127.0.0.1:PORT / localhost:PORT)
 * and an Origin check on writes; no CORS headers are ever sent.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';
import type { AddressInfo } from 'node:net';
import { ApiError, NotFoundError, UnauthorizedError } from '../server/errors.ts';
import { sendError, sendJson } from '../server/http/respond.ts';
import type { RestoreSession } from './restore-session.ts';
import { wizardSurface } from './wizard-routes.ts';
import { ManifestParseError, VerificationError } from '../manifest/index.ts';
import { toMachineError } from '../restore-machine/machine-error.ts';

const COOKIE = 'ks_session';
const MIME: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.svg': 'image/svg+xml', '.png': 'image/png', '.ico': 'image/x-icon', '.woff2': 'font/woff2', '.json': 'application/json' };
/** The headers every page and stream carries (exported for the wizard's fixture server). */
export const SECURITY_HEADERS = {
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'SAMEORIGIN',
  'Content-Security-Policy': "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; connect-src 'self'; frame-ancestors 'self'",
};

/** What a surface (the wizard's daemon, the app's) plugs into the guarded server. */
export interface DaemonSurface {
  /** Folder of the built page (index.html + assets). */
  pageDir: string;
  /** The state stream's source: calls `l` with the current state at once, then on every change. */
  subscribe(l: (state: unknown) => void): () => void;
  /**
   * A state whose key differs from the last one sent goes out at once and is
   * never coalesced away (the page acts on transitions); others are sent at
   * most ten times a second.
   */
  urgentKey(state: unknown): string;
  /** Every /api/ route but the state stream; throws NotFoundError for an unknown one. */
  route(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void>;
  /** The answer to an error a route threw that is not an ApiError (undefined: a 500). */
  mapError?(e: unknown): { status: number; code: string; message: string } | undefined;
}

interface CommonOptions {
  port?: number;
  /** Fixed token (tests, installer integration); random when absent. */
  token?: string;
  log?: (line: string) => void;
}

export type DaemonOptions = CommonOptions & (
  | {
      session: RestoreSession;
      /** Folder of the built wizard (index.html + assets). */
      wizardDir: string;
    }
  | { surface: DaemonSurface }
);

export interface RunningDaemon {
  /** The page's URL with the session token: what the installer step (or the browser) opens. */
  url: string;
  /**
   * The page's URL with a one-time token instead (valid once, for two
   * minutes): what goes on a command line (`xdg-open URL`), which other
   * users of the machine can read in /proc while it runs. Used, it is traded
   * for the session cookie like the session token, and is then worthless.
   */
  launchUrl(): string;
  origin: string;
  token: string;
  port: number;
  close(): Promise<void>;
}

function cookieToken(req: IncomingMessage): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [k, v] = part.trim().split('=');
    if (k === COOKIE) return v;
  }
  return undefined;
}

function sameSecret(a: string | undefined, b: string): boolean {
  if (!a) return false;
  const x = Buffer.from(a), y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export async function startDaemon(o: DaemonOptions): Promise<RunningDaemon> {
  const surface = 'surface' in o ? o.surface : wizardSurface(o.session, o.wizardDir);
  const token = o.token ?? randomBytes(24).toString('base64url');
  let port = o.port ?? 0;
  const allowedHosts = () => new Set([`127.0.0.1:${port}`, `localhost:${port}`]);

  /** One-time tokens of launchUrl(), with their expiry (epoch ms). */
  const launches = new Map<string, number>();
  const launchToken = (given: string | undefined): boolean => {
    if (!given) return false;
    const now = Date.now();
    for (const [t, until] of launches) {
      if (until < now) launches.delete(t);
      else if (sameSecret(given, t)) {
        launches.delete(t);
        return true;
      }
    }
    return false;
  };
  const authed = (req: IncomingMessage, url: URL) => {
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const given = url.searchParams.get('token') ?? undefined;
    return sameSecret(cookieToken(req), token) || sameSecret(bearer, token) || sameSecret(given, token) || (req.method === 'GET' && launchToken(given));
  };
  const launchUrl = () => {
    const t = randomBytes(24).toString('base64url');
    launches.set(t, Date.now() + 120_000);
    return `http://127.0.0.1:${port}/?token=${t}`;
  };

  const serveStatic = async (res: ServerResponse, path: string) => {
    const rel = normalize(path === '/' ? '/index.html' : path).replace(/^[/\\]+/, '');
    const file = join(surface.pageDir, rel);
    if (!file.startsWith(surface.pageDir + sep) || rel.includes('\0')) throw new NotFoundError('file');
    const st = await stat(file).catch(() => undefined);
    if (!st?.isFile()) throw new NotFoundError('file');
    res.writeHead(200, { 'Content-Type': MIME[extname(file)] ?? 'application/octet-stream', 'Content-Length': st.size, 'Cache-Control': rel === 'index.html' ? 'no-store' : 'max-age=3600', ...SECURITY_HEADERS });
    createReadStream(file).pipe(res);
  };

  const sse = (req: IncomingMessage, res: ServerResponse) => {
    res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-store', Connection: 'keep-alive', ...SECURITY_HEADERS });
    let pending: unknown;
    let timer: NodeJS.Timeout | undefined;
    let key: string | undefined;
    const write = (state: unknown) => res.write(`data: ${JSON.stringify(state)}\n\n`);
    // Coalesce bursts of progress into at most ten messages a second. A new
    // key (the wizard's phase) is sent at once and never coalesced away: the
    // page acts on transitions (focus, which form to show), e.g. configure →
    // preparing → back at the form with WRONG_SECRET within a few milliseconds.
    const unsubscribe = surface.subscribe((state) => {
      const k = surface.urgentKey(state);
      if (k !== key) {
        key = k;
        if (timer) clearTimeout(timer);
        timer = undefined;
        pending = undefined;
        write(state);
        return;
      }
      pending = state;
      timer ??= setTimeout(() => {
        timer = undefined;
        if (pending !== undefined) write(pending);
        pending = undefined;
      }, 100);
    });
    const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
    req.on('close', () => {
      unsubscribe();
      clearInterval(keepAlive);
      if (timer) clearTimeout(timer);
    });
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    if (!allowedHosts().has(req.headers.host ?? '')) throw new ApiError('bad_host', 'unexpected Host header');
    const url = new URL(req.url ?? '/', `http://${req.headers.host}`);
    const method = req.method ?? 'GET';
    if (method !== 'GET' && method !== 'HEAD') {
      const origin = req.headers.origin;
      if (origin !== undefined && !allowedHosts().has(origin.replace(/^http:\/\//, ''))) throw new ApiError('bad_origin', 'cross-origin request refused');
    }
    const isApi = url.pathname.startsWith('/api/');
    if (isApi || url.pathname === '/' || url.pathname === '/index.html') {
      if (!authed(req, url)) throw new UnauthorizedError('open the URL the daemon printed (it carries the session token)');
      if (url.searchParams.has('token')) {
        // Trade the token in the URL for a cookie, and drop it from the address bar.
        url.searchParams.delete('token');
        res.writeHead(303, { Location: url.pathname + url.search, 'Set-Cookie': `${COOKIE}=${token}; HttpOnly; SameSite=Strict; Path=/`, 'Cache-Control': 'no-store' });
        res.end();
        return;
      }
    }
    if (!isApi) {
      if (method !== 'GET') throw new ApiError('method_not_allowed', 'method not allowed');
      return serveStatic(res, url.pathname);
    }
    if (method === 'GET' && url.pathname === '/api/state') return sse(req, res);
    // A second `koder-snapshot app` asks the running daemon for a page URL to open (Bearer: the token in its 0600 state file).
    if (method === 'POST' && url.pathname === '/api/launch') return sendJson(res, 200, { url: launchUrl() });
    return surface.route(req, res, url);
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((e) => {
      if (e instanceof ApiError) return sendError(res, e);
      // A chain that does not verify or parse (details): 422 with the UiState's spelling of the code, which the wizard reads.
      if (e instanceof VerificationError || e instanceof ManifestParseError) return sendJson(res, 422, { error: toMachineError(e) });
      const mapped = surface.mapError?.(e);
      if (mapped) return sendJson(res, mapped.status, { error: { code: mapped.code, message: mapped.message } });
      o.log?.(`daemon: ${(e as Error).stack ?? e}`);
      sendError(res, e);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  port = (server.address() as AddressInfo).port;
  const origin = `http://127.0.0.1:${port}`;
  return {
    url: `${origin}/?token=${token}`,
    launchUrl,
    origin,
    token,
    port,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
