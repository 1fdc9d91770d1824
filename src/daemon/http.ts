/**
 * The daemon's HTTP face, on 127.0.0.1 only: the built wizard, the UI API
 * (SSE state + events) and the installer API (apply with JSON-lines
 * progress). Guarded by a random session token (given once in the URL, then
 * an HttpOnly SameSite=Strict cookie, or as a Bearer header for the installer
 * job and page), a Host check (DNS rebinding: only 127.0.0.1:PORT / localhost:PORT)
 * and an Origin check on writes; no CORS headers are ever sent.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';
import type { AddressInfo } from 'node:net';
import { ApiError, BadRequestError, NotFoundError, UnauthorizedError } from '../server/errors.ts';
import { readJson, sendError, sendJson } from '../server/http/respond.ts';
import type { RestoreSession } from './restore-session.ts';
import type { UiEvent, UiState } from './ui-state.ts';
import { isHostname, ManifestParseError, VerificationError } from '../manifest/index.ts';
import { toMachineError } from '../restore-machine/machine-error.ts';

const COOKIE = 'ks_session';
const EVENT_TYPES = new Set(['START', 'START_EXPORT', 'SKIP', 'NEW_CODE', 'CHOOSE', 'BACK', 'RETRY', 'CONFIRM', 'RETRY_FAILED']);
const MIME: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.svg': 'image/svg+xml', '.png': 'image/png', '.ico': 'image/x-icon', '.woff2': 'font/woff2', '.json': 'application/json' };
/** The headers every page and stream carries (exported for the wizard's fixture server). */
export const SECURITY_HEADERS = {
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'SAMEORIGIN',
  'Content-Security-Policy': "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; connect-src 'self'; frame-ancestors 'self'",
};

export interface DaemonOptions {
  session: RestoreSession;
  /** Folder of the built wizard (index.html + assets). */
  wizardDir: string;
  port?: number;
  /** Fixed token (tests, installer integration); random when absent. */
  token?: string;
  log?: (line: string) => void;
}

export interface RunningDaemon {
  /** The wizard's URL with the session token: what the installer step opens. */
  url: string;
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
  const token = o.token ?? randomBytes(24).toString('base64url');
  let port = o.port ?? 0;
  const allowedHosts = () => new Set([`127.0.0.1:${port}`, `localhost:${port}`]);

  const authed = (req: IncomingMessage, url: URL) => {
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    return sameSecret(cookieToken(req), token) || sameSecret(bearer, token) || sameSecret(url.searchParams.get('token') ?? undefined, token);
  };

  const serveStatic = async (res: ServerResponse, path: string) => {
    const rel = normalize(path === '/' ? '/index.html' : path).replace(/^[/\\]+/, '');
    const file = join(o.wizardDir, rel);
    if (!file.startsWith(o.wizardDir + sep) || rel.includes('\0')) throw new NotFoundError('file');
    const st = await stat(file).catch(() => undefined);
    if (!st?.isFile()) throw new NotFoundError('file');
    res.writeHead(200, { 'Content-Type': MIME[extname(file)] ?? 'application/octet-stream', 'Content-Length': st.size, 'Cache-Control': rel === 'index.html' ? 'no-store' : 'max-age=3600', ...SECURITY_HEADERS });
    createReadStream(file).pipe(res);
  };

  const sse = (req: IncomingMessage, res: ServerResponse) => {
    res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-store', Connection: 'keep-alive', ...SECURITY_HEADERS });
    let pending: UiState | undefined;
    let timer: NodeJS.Timeout | undefined;
    let phase: UiState['phase'] | undefined;
    const write = (ui: UiState) => res.write(`data: ${JSON.stringify(ui)}\n\n`);
    // Coalesce bursts of progress into at most ten messages a second. A new
    // phase is sent at once and never coalesced away: the wizard acts on
    // transitions (focus, which form to show), e.g. configure → preparing →
    // back at the form with WRONG_SECRET within a few milliseconds.
    const unsubscribe = o.session.subscribe((ui) => {
      if (ui.phase !== phase) {
        phase = ui.phase;
        if (timer) clearTimeout(timer);
        timer = undefined;
        pending = undefined;
        write(ui);
        return;
      }
      pending = ui;
      timer ??= setTimeout(() => {
        timer = undefined;
        if (pending) write(pending);
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

  const applyRoute = async (req: IncomingMessage, res: ServerResponse) => {
    const body = (await readJson(req, 16 * 1024)) as { root?: unknown; user?: unknown };
    if (typeof body?.root !== 'string' || typeof body.user !== 'string') throw new BadRequestError('invalid_apply', 'body must be { "root": "/target", "user": "name" }');
    res.writeHead(200, { 'Content-Type': 'application/x-ndjson; charset=utf-8', 'Cache-Control': 'no-store' });
    const line = (x: unknown) => res.write(JSON.stringify(x) + '\n');
    const phase = o.session.ui().phase;
    if (phase === 'skipped' || phase === 'welcome') {
      line({ type: 'skipped', message: phase === 'skipped' ? 'the person chose to skip the restore' : 'no restore was chosen' });
      res.end();
      return;
    }
    let last = '';
    const unsubscribe = o.session.subscribe((ui) => {
      if (!ui.progress) return;
      const p = ui.progress;
      const msg = JSON.stringify({
        type: 'progress', phase: ui.phase, current: p.current, label: ui.plan?.steps.find((s) => s.id === p.current)?.label,
        stepPhase: p.phase, detail: p.detail, fraction: Math.round(p.fraction * 1e4) / 1e4, etaSeconds: p.etaSeconds,
        doneBytes: p.doneBytes, totalBytes: p.totalBytes, doneItems: p.doneItems, totalItems: p.totalItems,
      });
      if (msg !== last) res.write((last = msg) + '\n');
    });
    try {
      const report = await o.session.applyTo({ root: body.root, user: body.user });
      line({ type: 'report', report });
    } catch (e) {
      line({ type: 'error', code: (e as { code?: string }).code ?? 'ERROR', message: (e as Error).message });
    } finally {
      unsubscribe();
      res.end();
    }
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
    const route = `${method} ${url.pathname}`;
    if (route === 'GET /api/state') return sse(req, res);
    if (route === 'GET /api/status') {
      const ui = o.session.ui();
      return sendJson(res, 200, { phase: ui.phase, confirmed: ui.confirmed ?? false, mode: ui.mode });
    }
    if (route === 'POST /api/events') {
      const e = (await readJson(req, 64 * 1024)) as UiEvent;
      if (!e || typeof e !== 'object' || !EVENT_TYPES.has((e as { type?: string }).type ?? '')) throw new BadRequestError('invalid_event', 'unknown event');
      o.session.send(e);
      return sendJson(res, 202, { accepted: e.type });
    }
    if (route === 'POST /api/apply') return applyRoute(req, res);
    if (route === 'POST /api/defaults') {
      // The installer page: the hostname the person gave on the installer's users page (GlobalStorage), offered as the default.
      const body = (await readJson(req, 4 * 1024)) as { hostname?: unknown };
      if (typeof body?.hostname !== 'string' || !isHostname(body.hostname)) throw new BadRequestError('invalid_defaults', 'body must be { "hostname": an RFC 1123 hostname }');
      o.session.setDefaults({ hostname: body.hostname });
      return sendJson(res, 202, { defaults: o.session.ui().defaults });
    }
    const details = /^\/api\/snapshots\/([0-9a-f]{64})\/details$/.exec(url.pathname);
    if (method === 'GET' && details) return sendJson(res, 200, await o.session.details(details[1]!));
    throw new NotFoundError('route');
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((e) => {
      if (e instanceof ApiError) return sendError(res, e);
      // A chain that does not verify or parse (details): 422 with the UiState's spelling of the code, which the wizard reads.
      if (e instanceof VerificationError || e instanceof ManifestParseError) return sendJson(res, 422, { error: toMachineError(e) });
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
    origin,
    token,
    port,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
