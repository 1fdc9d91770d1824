import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeJwt } from 'jose';
import { AuthError, AuthSession, startDeviceLogin } from '../../src/auth/index.ts';
import { approveDevice } from '../server/browser.ts';
import { testServer, type TestServer } from '../server/fixture.ts';

let srv: TestServer;
beforeAll(async () => {
  srv = await testServer();
  await srv.addUser('alice', 'alice-password-1');
});
afterAll(() => srv.cleanup());

const me = (url: string, token: string) => fetch(`${url}/v1/me`, { headers: { authorization: `Bearer ${token}` } });

describe('device flow against the real provider', () => {
  it('approves through the provider pages and gets a JWT for the API', async () => {
    const login = await startDeviceLogin({ server: srv.url });
    expect(login.user_code).toMatch(/^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/);
    expect(login.verification_uri).toBe(`${srv.url}/device`);
    expect(login.verification_uri_complete).toBe(`${srv.url}/device?user_code=${login.user_code}`);
    expect(login.expires_in).toBeGreaterThan(0);
    expect(login.qr.svg).toMatch(/^<svg[\s\S]*<\/svg>$/);
    expect(login.qr.text.split('\n').length).toBeGreaterThan(10);

    const pages: Record<string, string> = {};
    const [outcome] = await Promise.all([
      login.wait(),
      approveDevice(login.verification_uri_complete, 'alice', 'alice-password-1', { onPage: (s, h) => (pages[s] = h) }),
    ]);
    expect(outcome.status).toBe('approved');
    if (outcome.status !== 'approved') return;
    const t = outcome.tokens;
    expect(t.refresh_token).toBeTruthy();
    expect(t.user_name).toBe('alice');
    const claims = decodeJwt(t.access_token);
    expect(claims.aud).toBe(`${srv.url}/v1`);
    expect(String(claims.scope)).toContain('snapshots');
    const r = await me(srv.url, t.access_token);
    expect(r.status).toBe(200);
    expect(((await r.json()) as { name: string }).name).toBe('alice');

    // the pages a person sees: labelled, in a language, code shown for comparison
    expect(pages.confirm).toContain(login.user_code);
    expect(pages.login).toMatch(/<html lang="en">/);
    expect(pages.login).toMatch(/<label for="username">/);
    expect(pages.login).toMatch(/autocomplete="current-password"/);
    expect(pages.consent).toMatch(/snapshots/);
    expect(pages.done).toMatch(/Device connected/);

    // refresh (rotating) works; the old refresh token is then refused
    const session = new AuthSession(t, { persist: false });
    const oldRt = t.refresh_token;
    await session.refresh();
    expect(session.tokens.refresh_token).not.toBe(oldRt);
    expect((await me(srv.url, session.tokens.access_token)).status).toBe(200);
    const stale = new AuthSession({ ...t, refresh_token: oldRt }, { persist: false });
    await expect(stale.refresh()).rejects.toMatchObject({ code: 'refresh_failed' });
  });

  it('speaks Portuguese when the browser asks for it', async () => {
    const login = await startDeviceLogin({ server: srv.url });
    const pages: Record<string, string> = {};
    const [outcome] = await Promise.all([
      login.wait(),
      approveDevice(login.verification_uri_complete, 'alice', 'alice-password-1', { acceptLanguage: 'pt-BR,pt;q=0.9,en;q=0.5', onPage: (s, h) => (pages[s] = h) }),
    ]);
    expect(outcome.status).toBe('approved');
    expect(pages.confirm).toMatch(/<html lang="pt-BR">/);
    expect(pages.login).toContain('Senha');
    expect(pages.consent).toContain('Permitir');
    expect(pages.done).toContain('Dispositivo conectado');
  });

  for (const denyAt of ['confirm', 'login', 'consent'] as const) {
    it(`maps a denial on the ${denyAt} page to 'denied'`, async () => {
      const login = await startDeviceLogin({ server: srv.url });
      const [outcome] = await Promise.all([login.wait(), approveDevice(login.verification_uri_complete, 'alice', 'alice-password-1', { denyAt })]);
      expect(outcome.status).toBe('denied');
    });
  }

  it('a wrong password keeps the login page and never approves', async () => {
    const login = await startDeviceLogin({ server: srv.url });
    const ac = new AbortController();
    const waiting = login.wait({ signal: ac.signal });
    await expect(approveDevice(login.verification_uri_complete, 'alice', 'wrong-password')).rejects.toThrow(/login refused/);
    ac.abort();
    expect((await waiting).status).toBe('aborted');
  });

  it('refuses password guessing after 5 failures for a name', async () => {
    await srv.addUser('target', 'target-password-1');
    for (let i = 0; i < 5; i++) {
      const login = await startDeviceLogin({ server: srv.url });
      await expect(approveDevice(login.verification_uri_complete, 'target', `guess-${i}`)).rejects.toThrow(/login refused/);
    }
    const login = await startDeviceLogin({ server: srv.url });
    let loginPage = '';
    await expect(
      approveDevice(login.verification_uri_complete, 'target', 'target-password-1', { onPage: (s, h) => s === 'login' && (loginPage = h) }),
    ).rejects.toThrow(/login refused/);
    expect(loginPage).toBeTruthy();
  });

  it("maps the code's expiry to 'expired'", async () => {
    const short = await testServer({ deviceCodeTtl: 1 });
    try {
      const login = await startDeviceLogin({ server: short.url });
      const t0 = Date.now();
      const outcome = await login.wait();
      expect(outcome.status).toBe('expired');
      expect(Date.now() - t0).toBeLessThan(5000);
    } finally {
      await short.cleanup();
    }
  });

  it('refuses plain http to another machine', async () => {
    await expect(startDeviceLogin({ server: 'http://192.0.2.10:8470' })).rejects.toBeInstanceOf(AuthError);
    await expect(startDeviceLogin({ server: 'http://192.0.2.10:8470' })).rejects.toMatchObject({ code: 'insecure_url' });
  });
});
