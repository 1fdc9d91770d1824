/**
 * Polling outcomes the real provider never produces (slow_down) or that are
 * easier to provoke from a stub: a tiny OAuth server on 127.0.0.1 whose token
 * endpoint answers from a script.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startDeviceLogin } from '../../src/auth/index.ts';

type Reply = { status: number; body: Record<string, unknown> };

async function stub(script: Reply[], interval = 0.1): Promise<{ url: string; polls: number[]; server: Server }> {
  const polls: number[] = [];
  const server = createServer((req, res) => {
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(JSON.stringify(body));
    };
    req.resume();
    req.on('end', () => {
      if (req.url === '/.well-known/openid-configuration') {
        return send(200, { issuer: base, token_endpoint: `${base}/token`, device_authorization_endpoint: `${base}/device/auth`, jwks_uri: `${base}/jwks` });
      }
      if (req.url === '/device/auth') {
        return send(200, { device_code: 'dc', user_code: 'BCDF-GHJK', verification_uri: `${base}/device`, expires_in: 30, interval });
      }
      if (req.url === '/token') {
        polls.push(Date.now());
        const r = script.shift() ?? { status: 400, body: { error: 'authorization_pending' } };
        return send(r.status, r.body);
      }
      send(404, {});
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, polls, server };
}

const ok: Reply = { status: 200, body: { access_token: 'at', token_type: 'Bearer', expires_in: 60, refresh_token: 'rt' } };
let servers: Server[] = [];
afterEach(() => {
  for (const s of servers) s.close();
  servers = [];
});

describe('device flow polling', () => {
  it('builds verification_uri_complete when the server omits it', async () => {
    const s = await stub([ok]);
    servers.push(s.server);
    const login = await startDeviceLogin({ server: s.url, scope: 'snapshots' });
    expect(login.verification_uri_complete).toBe(`${s.url}/device?user_code=BCDF-GHJK`);
    expect((await login.wait()).status).toBe('approved');
  });

  it('honours slow_down: the next poll waits 5 s longer', async () => {
    const s = await stub([{ status: 400, body: { error: 'authorization_pending' } }, { status: 400, body: { error: 'slow_down' } }, ok]);
    servers.push(s.server);
    const login = await startDeviceLogin({ server: s.url, scope: 'snapshots' });
    const outcome = await login.wait();
    expect(outcome.status).toBe('approved');
    expect(s.polls).toHaveLength(3);
    const [a, b, c] = s.polls as [number, number, number];
    expect(b - a).toBeLessThan(1000);
    expect(c - b).toBeGreaterThanOrEqual(5000);
  }, 15_000);

  it('maps access_denied, expired_token and other errors to typed outcomes', async () => {
    for (const [body, status] of [
      [{ error: 'access_denied', error_description: 'End-User aborted interaction' }, 'denied'],
      [{ error: 'expired_token' }, 'expired'],
      [{ error: 'invalid_grant' }, 'failed'],
    ] as const) {
      const s = await stub([{ status: 400, body }]);
      servers.push(s.server);
      const login = await startDeviceLogin({ server: s.url, scope: 'snapshots' });
      expect((await login.wait()).status).toBe(status);
    }
  });

  it('rides out a server error and goes on polling', async () => {
    const s = await stub([{ status: 503, body: { error: 'temporarily_unavailable' } }, ok]);
    servers.push(s.server);
    const login = await startDeviceLogin({ server: s.url, scope: 'snapshots' });
    expect((await login.wait()).status).toBe('approved');
  });

  it('stops at once when aborted', async () => {
    const s = await stub([]);
    servers.push(s.server);
    const login = await startDeviceLogin({ server: s.url, scope: 'snapshots' });
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 250);
    const t0 = Date.now();
    expect((await login.wait({ signal: ac.signal })).status).toBe('aborted');
    expect(Date.now() - t0).toBeLessThan(1500);
  });
});
