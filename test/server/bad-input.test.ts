/**
 * The server under bad input (issue 17), one attack a test, on a real server
 * with a user logged in through the real device flow:
 * - a dot segment never changes the route: `DELETE /v1/me/snapshots/%2e%2e`
 *   was `DELETE /v1/me` (the account's erasure); every /v1 route is tried;
 * - every path under the sign-in pages answers (it hung);
 * - the code form sent without the session cookie is a 400 page (it was a
 *   500), and the form it shows works;
 * - a form with a field missing says which, in English and Portuguese.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDeviceLogin } from '../../src/auth/index.ts';
import { apiRouter } from '../../src/server/routes/index.ts';
import type { Services } from '../../src/server/services.ts';
import { Browser, formOf, openLoginPage } from './browser.ts';
import { loginAs, testServer, type TestServer } from './fixture.ts';
import { blob, generateIdentity, manifest, publicIdentity, signed } from './manifests.ts';
import { rawRequest } from './raw-http.ts';

let srv: TestServer;
let token: string;
let snapshotId: string;
const stored = blob(1500);

beforeAll(async () => {
  srv = await testServer();
  token = (await loginAs(srv, 'alice')).access_token;
  const key = await generateIdentity();
  const auth = { authorization: `Bearer ${token}` };
  expect((await fetch(`${srv.url}/v1/me/keys`, { method: 'PUT', headers: auth, body: JSON.stringify([publicIdentity(key)]) })).status).toBe(200);
  expect((await fetch(`${srv.url}/v1/me/blobs/${stored.hex}`, { method: 'PUT', headers: auth, body: stored.bytes })).status).toBe(201);
  const s = signed(manifest({ blobs: [stored.hex] }), key);
  expect((await fetch(`${srv.url}/v1/me/snapshots`, { method: 'POST', headers: auth, body: s.text })).status).toBe(201);
  snapshotId = s.id;
});
afterAll(() => srv.cleanup());

const api = (method: string, target: string, o: { body?: string; headers?: Record<string, string> } = {}) =>
  rawRequest(srv.url, { method, target, headers: { authorization: `Bearer ${token}`, ...o.headers }, body: o.body });

/** The account as it was: not scheduled for erasure, its snapshot and blob there. */
async function expectAccountIntact() {
  const me = JSON.parse((await api('GET', '/v1/me')).body) as { erase_after: number | null };
  expect(me.erase_after).toBeNull();
  const list = JSON.parse((await api('GET', '/v1/me/snapshots')).body) as { snapshots: { id: string }[] };
  expect(list.snapshots.map((s) => s.id)).toEqual([snapshotId]);
  expect((await api('HEAD', `/v1/me/blobs/${stored.hex}`)).status).toBe(200);
  const audit = JSON.parse((await api('GET', '/v1/me/audit?limit=1000')).body) as { entries: { action: string }[] };
  expect(audit.entries.map((e) => e.action)).not.toContain('account.erase-requested');
  expect(audit.entries.map((e) => e.action)).not.toContain('snapshot.delete');
}

const DOTS = ['.', '..', '%2e', '%2E', '%2e%2e', '%2E%2E', '%2E.', '.%2e', '%2e.', '.%2E'];

describe('dot segments never change the route', () => {
  it('the attack of the issue: DELETE /v1/me/snapshots/%2e%2e is a 400, not an erasure', async () => {
    const r = await api('DELETE', '/v1/me/snapshots/%2e%2e');
    expect(r.status).toBe(400);
    expect(JSON.parse(r.body)).toMatchObject({ error: { code: 'invalid_path' } });
    await expectAccountIntact();
  });

  it('every /v1 route, with each spelling of "." and ".." in each segment and after it: 400 before routing', async () => {
    const routes = apiRouter({} as Services).list();
    expect(routes.length).toBeGreaterThan(15);
    const targets: [string, string][] = [];
    for (const { method, pattern } of routes) {
      const segs = pattern
        .split('/')
        .slice(1)
        .map((p) => (p === ':hex' ? stored.hex : p === ':id' ? snapshotId : p === ':owner' ? 'me' : p === ':user' ? 'bob' : p));
      for (const dot of DOTS) {
        for (let i = 1; i < segs.length; i++) targets.push([method, `/${segs.map((s, j) => (j === i ? dot : s)).join('/')}`]);
        targets.push([method, `/${segs.join('/')}/${dot}`]);
        targets.push([method, `/${segs.join('/')}/x/${dot}`]);
        targets.push([method, `/${segs.join('/')}/${dot}?cascade=true`]);
      }
    }
    const wrong: string[] = [];
    for (const [method, target] of targets) {
      const r = await api(method, target, method === 'PUT' || method === 'POST' ? { body: '{}' } : {});
      if (r.status !== 400 || !r.body.includes('invalid_path')) wrong.push(`${method} ${target} → ${r.status}`);
    }
    expect(wrong).toEqual([]);
    await expectAccountIntact();
  });

  it('nor do backslashes, "//", a fragment or the absolute form; a trailing "/" is no other route', async () => {
    for (const [method, target] of [
      ['DELETE', '/v1/me/snapshots/x\\..\\..'],
      ['DELETE', '/v1/me/snapshots\\..'],
      ['DELETE', '//evil/v1/me'],
      ['DELETE', '/v1//me'],
      ['DELETE', '/v1/me/snapshots/x#/../..'],
      ['DELETE', `${srv.url}/v1/me/snapshots/%2e%2e`],
      ['DELETE', '*'],
    ]) {
      expect((await api(method!, target!)).status, `${method} ${target}`).toBe(400);
    }
    // not normalised to DELETE /v1/me
    expect((await api('DELETE', '/v1/me/')).status).toBe(404);
    // the absolute form is served on its own path
    const abs = await api('GET', `${srv.url}/v1/me`);
    expect(abs.status).toBe(200);
    expect(JSON.parse(abs.body)).toMatchObject({ name: 'alice' });
    // the provider's paths too
    expect((await rawRequest(srv.url, { method: 'GET', target: '/interaction/%2e%2e/v1/me' })).status).toBe(400);
    expect((await rawRequest(srv.url, { method: 'GET', target: '/v1/../.well-known/openid-configuration' })).status).toBe(400);
    await expectAccountIntact();
  });
});

describe('the sign-in pages answer every request', () => {
  it('paths the interaction handler does not know: a 404 page, never silence', async () => {
    for (const [method, target] of [
      ['GET', '/interaction/x/y/z'],
      ['GET', '/interaction/a.b'],
      ['POST', '/interaction/a.b/login'],
      ['GET', '/interaction/'],
      ['POST', '/interaction/abc/other'],
      ['PUT', '/interaction/abc/login/x'],
    ]) {
      const r = await rawRequest(srv.url, { method: method!, target: target!, body: method === 'GET' ? undefined : 'username=a', timeoutMs: 5000 });
      expect(r.status, `${method} ${target}`).toBe(404);
      expect(r.body).toMatch(/<html lang="en">[\s\S]*Page not found/);
    }
    const pt = await rawRequest(srv.url, { method: 'GET', target: '/interaction/a.b', headers: { 'accept-language': 'pt-BR' } });
    expect(pt.body).toMatch(/<html lang="pt-BR">[\s\S]*Página não encontrada/);
    // a known shape, another method: 405; no cookie: the "expired" page
    expect((await rawRequest(srv.url, { method: 'DELETE', target: '/interaction/abc' })).status).toBe(400);
    expect((await rawRequest(srv.url, { method: 'POST', target: '/interaction/abc/login', body: 'username=a&password=b' })).status).toBe(400);
  });

  it('the code form sent without the session cookie: a 400 page whose form then works (was a 500)', async () => {
    const b = new Browser();
    const first = await b.request(`${srv.url}/device`, { form: { user_code: 'BCDF-GHJK' } });
    expect(first.res.status).toBe(400);
    expect(first.html).toContain('This form expired or was already sent. Type the code again.');
    // the page it shows carries a secret that was saved: typing a real code there leads on
    const login = await startDeviceLogin({ server: srv.url });
    const f = formOf(first.html, first.url);
    const next = await b.request(f.action.href, { form: { ...f.fields, user_code: login.user_code } });
    expect(next.res.status).toBe(200);
    expect(next.html).toContain(login.user_code);
    // the other route of the code form, without a cookie either
    const resume = await rawRequest(srv.url, { method: 'GET', target: '/device/nope', headers: { accept: 'text/html' } });
    expect(resume.status).toBeGreaterThanOrEqual(400);
    expect(resume.status).toBeLessThan(500);
  });

  it('a code form with the code missing says so (en, pt-BR)', async () => {
    for (const [lang, text] of [
      ['en', 'Type the code shown on the device.'],
      ['pt-BR', 'Digite o código mostrado no dispositivo.'],
    ]) {
      const b = new Browser(lang);
      const page = await b.request(`${srv.url}/device`);
      const f = formOf(page.html, page.url);
      const r = await b.request(f.action.href, { form: { xsrf: f.fields.xsrf! } });
      expect(r.res.status).toBe(400);
      expect(r.html).toContain(text);
    }
  });

  it('a login form with a field missing says which (en, pt-BR), counts no failure, and the right one still signs in', async () => {
    for (const [lang, texts] of [
      ['en', ['Type your user name and your password.', 'Type your password.', 'Type your user name.']],
      ['pt-BR', ['Digite seu nome de usuário e sua senha.', 'Digite sua senha.', 'Digite seu nome de usuário.']],
    ] as const) {
      const login = await startDeviceLogin({ server: srv.url });
      const { browser, page } = await openLoginPage(login.verification_uri_complete, lang);
      const action = formOf(page.html, page.url).action.href;
      const forms: Record<string, string>[] = [{}, { username: 'alice' }, { password: 'alice-password-1' }];
      for (const [i, form] of forms.entries()) {
        for (let k = 0; k < 3; k++) {
          const r = await browser.request(action, { form });
          expect(r.res.status).toBe(400);
          expect(r.html).toContain(texts[i]);
          expect(r.html).toMatch(/role="alert"/);
        }
      }
      // nine forms with a field missing, above the 5-failure brake: none counted
      const ok = await browser.request(action, { form: { username: 'alice', password: 'alice-password-1' } });
      expect(ok.html).not.toMatch(/name="password"/);
      expect(ok.html).toContain(lang === 'en' ? 'Allow' : 'Permitir');
      const consent = formOf(ok.html, ok.url);
      await browser.request(consent.action.href, { form: {} });
      expect((await login.wait()).status).toBe('approved');
    }
  });
});
