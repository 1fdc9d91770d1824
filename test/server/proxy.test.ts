/**
 * Behind a reverse proxy (docs/deploy.md): with --trust-proxy the client's
 * address is the last X-Forwarded-For entry (the one our proxy appended;
 * earlier ones are the client's own words), in the audit log and for the
 * sign-in throttle; without it the header is ignored. And a stop lets the
 * requests in flight finish (a rolling restart), new connections refused.
 */
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loginAs, testServer, type TestServer } from './fixture.ts';
import { blob } from './manifests.ts';

let proxied: TestServer, direct: TestServer;
beforeAll(async () => {
  [proxied, direct] = await Promise.all([testServer({ trustProxy: true }), testServer()]);
});
afterAll(async () => {
  await proxied?.cleanup();
  await direct?.cleanup();
});

async function vaultUpdateIp(srv: TestServer, name: string, xff: string): Promise<string | null> {
  const token = (await loginAs(srv, name)).access_token;
  const r = await fetch(`${srv.url}/v1/me/vault`, { method: 'PUT', headers: { authorization: `Bearer ${token}`, 'x-forwarded-for': xff }, body: '{"v":1}' });
  expect(r.status).toBe(200);
  const audit = (await (await fetch(`${srv.url}/v1/me/audit`, { headers: { authorization: `Bearer ${token}` } })).json()) as { entries: { action: string; ip: string | null }[] };
  return audit.entries.find((e) => e.action === 'vault.update')!.ip;
}

describe('behind a proxy', () => {
  it('--trust-proxy: the address the proxy appended, not what the client wrote before it', async () => {
    expect(await vaultUpdateIp(proxied, 'pia', '203.0.113.66, 198.51.100.9')).toBe('198.51.100.9');
  });

  it('without it, X-Forwarded-For is the client talking: ignored', async () => {
    expect(await vaultUpdateIp(direct, 'rui', '198.51.100.9')).toBe('127.0.0.1');
  });

  it('a stop with a grace lets an upload in flight finish, and takes no new connection', async () => {
    const srv = await testServer();
    const token = (await loginAs(srv, 'sol')).access_token;
    const b = blob(40_000);
    const answer = new Promise<number>((resolve, reject) => {
      const req = request(`${srv.url}/v1/me/blobs/${b.hex}`, { method: 'PUT', headers: { authorization: `Bearer ${token}`, 'content-length': String(b.bytes.length) } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.write(b.bytes.subarray(0, 20_000));
      setTimeout(() => req.end(b.bytes.subarray(20_000)), 600);
    });
    await new Promise((r) => setTimeout(r, 200));
    const closing = srv.close({ graceMs: 10_000 });
    await new Promise((r) => setTimeout(r, 100));
    await expect(fetch(`${srv.url}/healthz`)).rejects.toThrow();
    expect(await answer).toBe(201);
    await closing;
    await srv.cleanup().catch(() => {});
  });
});
