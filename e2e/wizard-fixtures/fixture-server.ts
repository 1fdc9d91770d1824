/**
 * A stand-in for the daemon, for the wizard's screen tests and for looking at
 * screens by hand: serves dist/wizard and the UI API with fixture UiStates.
 *
 *   GET  /api/state                    SSE, `data: <UiState>` now and on every change
 *   POST /api/events                   recorded; simple transitions (START → login, CHOOSE → preparing…)
 *   GET  /api/snapshots/<id>/details   SnapshotDetails of a fixture snapshot (422 MANIFEST_VERIFY for REFUSED)
 *   GET  /__fixture/                   links to every fixture; /__fixture/set/<name> switches and redirects to /
 *
 * Like the daemon, /api/* needs the session cookie (set here with the page)
 * and answers with the daemon's CSP, so a wizard that breaks either fails here.
 *
 * Run by hand: node --import tsx e2e/wizard-fixtures/fixture-server.ts [--port 8080] [--state welcome]
 */
import { SECURITY_HEADERS } from '../../src/daemon/http.ts';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import type { UiEvent, UiState } from '../../src/daemon/ui-state.ts';
import type { RestoreChoice } from '../../src/restore-machine/plan.ts';
import { FIXTURES, FIXTURE_NAMES, REFUSED, REFUSED_REASON, detailsOf, type FixtureName } from './fixtures.ts';

const COOKIE = 'koder_session';
const TOKEN = 'fixture-session';
/** The daemon's (src/daemon/http.ts). */
const CSP = SECURITY_HEADERS['Content-Security-Policy'];
const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml', '.png': 'image/png', '.ico': 'image/x-icon', '.json': 'application/json', '.woff2': 'font/woff2',
};

export interface FixtureServer {
  url: string;
  /** Every event POSTed, in order. */
  events: UiEvent[];
  /** The state being served. */
  readonly state: UiState;
  /** The last choice CHOOSE sent (fixtures after it use it). */
  readonly choice: RestoreChoice | undefined;
  /** Switches to a fixture (optionally patched) and pushes it to every open page. */
  set(name: FixtureName, patch?: Partial<UiState>): UiState;
  /** Forgets events and the last choice. */
  reset(): void;
  /** Ends every open state stream (the page should reconnect by itself). */
  dropClients(): void;
  /** Waits until `n` events have been received. */
  waitForEvents(n: number, timeoutMs?: number): Promise<UiEvent[]>;
  /** Details answers: normal, slow (ms), or failing. */
  details: { delayMs: number; fail: boolean };
  /** The state stream: `stall` opens it and sends nothing; `down` answers 503 (the daemon is gone). */
  stream: { stall: boolean; down: boolean };
  close(): Promise<void>;
}

export interface FixtureServerOptions {
  root?: string;
  host?: string;
  port?: number;
  initial?: FixtureName;
}

const here = fileURLToPath(new URL('.', import.meta.url));
export const DEFAULT_ROOT = resolve(here, '../../dist/wizard');

export async function startFixtureServer(opts: FixtureServerOptions = {}): Promise<FixtureServer> {
  const root = resolve(opts.root ?? DEFAULT_ROOT);
  const clients = new Set<ServerResponse>();
  const events: UiEvent[] = [];
  const waiters = new Set<() => void>();
  let choice: RestoreChoice | undefined;
  let state: UiState = FIXTURES[opts.initial ?? 'welcome']({ now: Date.now() });
  const details = { delayMs: 0, fail: false };
  const stream = { stall: false, down: false };

  const push = () => {
    const line = `data: ${JSON.stringify(state)}\n\n`;
    for (const c of clients) c.write(line);
  };
  const set = (name: FixtureName, patch: Partial<UiState> = {}) => {
    state = { ...FIXTURES[name]({ now: Date.now(), choice }), ...patch };
    push();
    return state;
  };

  /** What the daemon would do next, roughly; tests switch fixtures for the rest. */
  const react = (e: UiEvent) => {
    switch (e.type) {
      case 'START': return set('login');
      case 'SKIP': return set('skipped', { mode: state.mode });
      case 'NEW_CODE': return set('login');
      case 'CHOOSE':
        choice = e.choice;
        // As the machine does: prepare runs, and a wrong secret sends it back to choose with the error.
        if (e.passphrase === 'wrong' || e.recoveryKey === 'wrong') setTimeout(() => set('choose-wrong-secret'), 150);
        return set('preparing');
      case 'BACK': return set('choose', { mode: state.mode });
      case 'RETRY':
        if (state.phase === 'list-failed') return set('choose');
        if (state.phase === 'prepare-failed') return set('preparing');
        if (state.phase === 'apply-failed') return set('applying');
        return state;
      case 'CONFIRM':
        return state.mode === 'installer' ? ((state = { ...state, confirmed: true }), push(), state) : set('applying');
      case 'RETRY_FAILED': return set('applying');
    }
  };

  const authed = (req: IncomingMessage) => (req.headers.cookie ?? '').split(';').some((p) => p.trim() === `${COOKIE}=${TOKEN}`);

  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://fixture');
    const path = url.pathname;
    try {
      if (path.startsWith('/api/')) {
        if (!authed(req)) return send(res, 401, 'application/json', '{"error":"no session"}');
        if (req.method === 'GET' && path === '/api/state') {
          if (stream.down) return send(res, 503, 'text/plain', 'down');
          res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-store', Connection: 'keep-alive', 'Content-Security-Policy': CSP });
          if (!stream.stall) {
            res.write(`data: ${JSON.stringify(state)}\n\n`);
            clients.add(res);
          }
          const ping = setInterval(() => res.write(': ping\n\n'), 15_000);
          req.on('close', () => {
            clearInterval(ping);
            clients.delete(res);
          });
          return;
        }
        if (req.method === 'POST' && path === '/api/events') {
          if (!String(req.headers['content-type']).startsWith('application/json')) return send(res, 415, 'text/plain', 'json only');
          const body = JSON.parse(await readBody(req)) as UiEvent;
          events.push(body);
          for (const w of waiters) w();
          react(body);
          res.writeHead(204).end();
          return;
        }
        const m = /^\/api\/snapshots\/([0-9a-f]{64})\/details$/.exec(path);
        if (req.method === 'GET' && m) {
          if (details.delayMs) await new Promise((r) => setTimeout(r, details.delayMs));
          if (m[1] === REFUSED && !details.fail) return send(res, 422, 'application/json', JSON.stringify({ error: { code: 'MANIFEST_VERIFY', message: REFUSED_REASON } }));
          const d = detailsOf(m[1]!);
          if (details.fail || !d) return send(res, details.fail ? 502 : 404, 'application/json', '{"error":"details"}');
          return send(res, 200, 'application/json', JSON.stringify(d));
        }
        return send(res, 404, 'application/json', '{"error":"not found"}');
      }
      if (path === '/__fixture/' || path === '/__fixture') {
        const links = FIXTURE_NAMES.map((n) => `<li><a href="/__fixture/set/${n}">${n}</a> (<a href="/__fixture/set/${n}?lang=pt-BR">pt-BR</a>)</li>`).join('');
        return send(res, 200, 'text/html; charset=utf-8', `<!doctype html><title>fixtures</title><h1>Wizard fixtures</h1><ul>${links}</ul>`);
      }
      const setMatch = /^\/__fixture\/set\/([\w-]+)$/.exec(path);
      if (setMatch) {
        const name = setMatch[1] as FixtureName;
        if (!(name in FIXTURES)) return send(res, 404, 'text/plain', 'no such fixture');
        set(name);
        res.writeHead(303, { Location: `/${url.search}` }).end();
        return;
      }
      // Static files of the built wizard; the page sets the session cookie, as the daemon's does.
      const rel = path === '/' ? 'index.html' : normalize(decodeURIComponent(path)).replace(/^[/\\]+/, '');
      const file = join(root, rel);
      if (!file.startsWith(root + sep)) return send(res, 403, 'text/plain', 'forbidden');
      const st = await stat(file).catch(() => undefined);
      if (!st?.isFile()) return send(res, 404, 'text/plain', 'not found');
      const headers: Record<string, string> = { 'Content-Type': MIME[extname(file)] ?? 'application/octet-stream', 'Content-Security-Policy': CSP, 'Cache-Control': 'no-store' };
      if (rel === 'index.html') headers['Set-Cookie'] = `${COOKIE}=${TOKEN}; HttpOnly; SameSite=Strict; Path=/`;
      res.writeHead(200, headers).end(await readFile(file));
    } catch (err) {
      send(res, 500, 'text/plain', String(err));
    }
  });

  await new Promise<void>((ok) => server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://${opts.host ?? '127.0.0.1'}:${port}`,
    events,
    get state() {
      return state;
    },
    get choice() {
      return choice;
    },
    set,
    details,
    stream,
    reset() {
      events.length = 0;
      choice = undefined;
      details.delayMs = 0;
      details.fail = false;
      stream.stall = false;
      stream.down = false;
    },
    dropClients() {
      for (const c of clients) c.end();
      clients.clear();
    },
    waitForEvents(n, timeoutMs = 5000) {
      return new Promise((ok, fail) => {
        const check = () => {
          if (events.length >= n) {
            waiters.delete(check);
            clearTimeout(timer);
            ok(events.slice());
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          fail(new Error(`waited for ${n} events, got ${events.length}: ${JSON.stringify(events)}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    close() {
      for (const c of clients) c.end();
      clients.clear();
      const closed = new Promise<void>((ok) => server.close(() => ok()));
      server.closeAllConnections();
      return closed;
    },
  };
}

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'Content-Type': type, 'Content-Security-Policy': CSP }).end(body);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((ok, fail) => {
    let s = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => {
      s += c;
      if (s.length > 1_000_000) req.destroy();
    });
    req.on('end', () => ok(s));
    req.on('error', fail);
  });
}

// Run by hand.
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const arg = (name: string) => {
    const i = process.argv.indexOf(name);
    return i > 0 ? process.argv[i + 1] : undefined;
  };
  const srv = await startFixtureServer({ port: Number(arg('--port') ?? 8080), initial: (arg('--state') as FixtureName | undefined) ?? 'welcome' });
  console.log(`wizard fixtures: ${srv.url}/  (switch screens at ${srv.url}/__fixture/)`);
  setInterval(() => {
    if (srv.events.length) console.log('events:', JSON.stringify(srv.events.splice(0)));
  }, 500);
}
