import { mkdtempSync, statSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkServerUrl, deleteTokens, isLoopbackHost, loadTokens, saveTokens, tokenPath } from '../../src/auth/index.ts';

const home = mkdtempSync(join(tmpdir(), 'koder-xdg-'));
const env = { XDG_CONFIG_HOME: home, HOME: home };
afterAll(() => rmSync(home, { recursive: true, force: true }));

describe('token files', () => {
  it('writes one 0600 file per server under $XDG_CONFIG_HOME/koder-snapshot', async () => {
    const t = { server: 'https://id.koder.dev', issuer: 'https://id.koder.dev', client_id: 'koder-installer', access_token: 'a', expires_at: 1 };
    const path = await saveTokens(t, env);
    expect(path.startsWith(join(home, 'koder-snapshot', 'tokens'))).toBe(true);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(join(home, 'koder-snapshot', 'tokens')).mode & 0o777).toBe(0o700);
    expect(await loadTokens('https://id.koder.dev/', env)).toEqual(t);
    expect(tokenPath('http://127.0.0.1:8470', env)).not.toBe(tokenPath('http://127.0.0.1:8471', env));
    expect(await loadTokens('http://127.0.0.1:8470', env)).toBeUndefined();
    expect(await deleteTokens('https://id.koder.dev', env)).toBe(true);
    expect(await loadTokens('https://id.koder.dev', env)).toBeUndefined();
  });

  it('allows plain http only to loopback', () => {
    for (const h of ['127.0.0.1', '127.8.9.1', '::1', '[::1]', 'localhost', 'a.localhost']) expect(isLoopbackHost(h)).toBe(true);
    for (const h of ['10.0.0.1', '192.168.1.2', 'example.com', 'localhost.example.com', '::2', '128.0.0.1']) expect(isLoopbackHost(h)).toBe(false);
    expect(checkServerUrl('http://[::1]:8470').host).toBe('[::1]:8470');
    expect(() => checkServerUrl('http://example.com')).toThrow(/https/);
    expect(checkServerUrl('https://example.com').protocol).toBe('https:');
    expect(() => checkServerUrl('ftp://127.0.0.1')).toThrow();
  });
});
