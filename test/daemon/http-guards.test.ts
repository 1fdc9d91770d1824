/**
 * The daemon's guards, attacked for real over HTTP on 127.0.0.1: no token,
 * a wrong token, DNS rebinding (a foreign Host), a cross-origin write, and
 * no CORS header ever granted.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'node:http';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RestoreSession } from '../../src/daemon/restore-session.ts';
import { startDaemon, type RunningDaemon } from '../../src/daemon/http.ts';

let dir: string, daemon: RunningDaemon, session: RestoreSession;

function http(path: string, o: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: daemon.port, path, method: o.method ?? 'GET', headers: { host: `127.0.0.1:${daemon.port}`, ...o.headers } }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(o.body);
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ks-daemon-'));
  mkdirSync(join(dir, 'wizard'));
  writeFileSync(join(dir, 'wizard/index.html'), '<!doctype html><title>wizard</title>');
  // A server nobody listens on: the guards are checked before anything reaches it.
  session = await RestoreSession.open({ server: 'http://127.0.0.1:9', stateDir: join(dir, 'state'), mode: 'installer', defaults: { hostname: '', targetUser: '' }, appliers: {}, env: { HOME: dir, XDG_CONFIG_HOME: join(dir, 'cfg') } });
  daemon = await startDaemon({ session, wizardDir: join(dir, 'wizard'), token: 'the-right-token-0123456789' });
});
afterAll(async () => {
  await daemon.close();
  await session.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('daemon guards', () => {
  it('without the token: 401 on the page and every API route', async () => {
    for (const [method, path] of [['GET', '/'], ['GET', '/api/state'], ['GET', '/api/status'], ['POST', '/api/events'], ['POST', '/api/apply'], ['POST', '/api/defaults']] as const) {
      const r = await http(path, { method, headers: { 'content-type': 'application/json' }, body: method === 'POST' ? '{"type":"START"}' : undefined });
      expect(r.status, `${method} ${path}`).toBe(401);
    }
    expect((await http('/api/status', { headers: { cookie: 'ks_session=wrong' } })).status).toBe(401);
    expect((await http('/api/status', { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
    expect(session.ui().phase).toBe('welcome'); // the refused START did nothing
  });

  it('the token in the URL becomes an HttpOnly SameSite=Strict cookie and leaves the address', async () => {
    const r = await http('/?token=the-right-token-0123456789&lang=pt-BR');
    expect(r.status).toBe(303);
    expect(r.headers.location).toBe('/?lang=pt-BR');
    expect(String(r.headers['set-cookie'])).toMatch(/^ks_session=the-right-token-0123456789; HttpOnly; SameSite=Strict; Path=\//);
    const page = await http('/', { headers: { cookie: 'ks_session=the-right-token-0123456789' } });
    expect(page.status).toBe(200);
    expect(page.headers['content-security-policy']).toContain("default-src 'self'");
  });

  it('refuses a foreign Host even with the right token (DNS rebinding)', async () => {
    for (const host of ['evil.example:80', `evil.example:${daemon.port}`, `127.0.0.1.nip.io:${daemon.port}`]) {
      const r = await http('/api/status', { headers: { host, authorization: 'Bearer the-right-token-0123456789' } });
      expect(r.status, host).toBe(421);
    }
  });

  it("POST /api/defaults (the installer page): the installer's hostname becomes the default; anything else is refused", async () => {
    const auth = { authorization: 'Bearer the-right-token-0123456789', 'content-type': 'application/json' };
    for (const body of ['{"hostname":"-bad_host"}', '{"hostname":""}', '{"hostname":42}', '{}', `{"hostname":"${'a'.repeat(64)}"}`]) {
      const r = await http('/api/defaults', { method: 'POST', headers: auth, body });
      expect(r.status, body).toBe(400);
    }
    expect(session.ui().defaults.hostname).toBe('');
    const cross = await http('/api/defaults', { method: 'POST', headers: { ...auth, origin: 'http://evil.example' }, body: '{"hostname":"evil"}' });
    expect(cross.status).toBe(403);
    const r = await http('/api/defaults', { method: 'POST', headers: auth, body: '{"hostname":"pc-da-ana"}' });
    expect(r.status).toBe(202);
    expect(session.ui().defaults).toEqual({ hostname: 'pc-da-ana', targetUser: '' });
  });

  it('refuses a cross-origin write even with the cookie, and never grants CORS', async () => {
    const cookie = 'ks_session=the-right-token-0123456789';
    const r = await http('/api/events', { method: 'POST', headers: { cookie, origin: 'http://evil.example', 'content-type': 'application/json' }, body: '{"type":"SKIP"}' });
    expect(r.status).toBe(403);
    expect(session.ui().phase).toBe('welcome');
    const ok = await http('/api/status', { headers: { cookie, origin: 'http://evil.example' } });
    expect(ok.headers['access-control-allow-origin']).toBeUndefined();
    const same = await http('/api/events', { method: 'POST', headers: { cookie, origin: `http://127.0.0.1:${daemon.port}`, 'content-type': 'application/json' }, body: '{"type":"SKIP"}' });
    expect(same.status).toBe(202);
    expect(session.ui().phase).toBe('skipped');
  });

  it('rejects unknown events and path traversal out of the wizard folder', async () => {
    const cookie = 'ks_session=the-right-token-0123456789';
    expect((await http('/api/events', { method: 'POST', headers: { cookie, 'content-type': 'application/json' }, body: '{"type":"TARGET","target":{"root":"/"}}' })).status).toBe(400);
    expect((await http('/../../../../etc/passwd', { headers: { cookie } })).status).toBe(404);
    expect((await http('/%2e%2e/%2e%2e/etc/passwd', { headers: { cookie } })).status).toBe(404);
  });
});
