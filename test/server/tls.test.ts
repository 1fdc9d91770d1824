/** `--tls-cert/--tls-key`: the same server over HTTPS, issuer and endpoints in https. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { get } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { testServer, type TestServer } from './fixture.ts';

let openssl = true;
try {
  execFileSync('openssl', ['version']);
} catch {
  openssl = false;
}
const dir = mkdtempSync(join(tmpdir(), 'koder-tls-'));
let srv: TestServer | undefined;
afterAll(async () => {
  await srv?.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!openssl)('TLS', () => {
  it('serves discovery and the API over https', async () => {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=localhost',
      '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
    const cert = readFileSync(join(dir, 'cert.pem'));
    srv = await testServer({ tls: { cert, key: readFileSync(join(dir, 'key.pem')) } });
    expect(srv.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const fetchJson = (path: string) =>
      new Promise<{ status: number; body: Record<string, unknown> }>((resolve, reject) => {
        get(`${srv!.url}${path}`, { ca: cert }, (res) => {
          let text = '';
          res.on('data', (c) => (text += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
        }).on('error', reject);
      });
    const d = await fetchJson('/.well-known/openid-configuration');
    expect(d.body.issuer).toBe(srv.url);
    expect(String(d.body.device_authorization_endpoint)).toMatch(/^https:/);
    expect((await fetchJson('/v1/me')).status).toBe(401);
    // without trusting the certificate, the connection is refused
    await expect(fetch(`${srv.url}/healthz`)).rejects.toThrow();
  });
});
