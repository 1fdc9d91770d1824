/**
 * What a person does after scanning the QR code, in a real browser with a
 * phone's screen (Chromium via playwright-core): the link opens the provider's
 * page (its auto-submitting form runs), the code is shown to compare, then
 * sign-in and consent, all by the accessible names of fields and buttons.
 * Skipped when no Chromium is installed (scripts/install-system-deps.sh).
 */
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, devices, type Browser } from 'playwright-core';
import { startDeviceLogin } from '../../src/auth/index.ts';
import { testServer, type TestServer } from '../server/fixture.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const have = existsSync(CHROMIUM);
let srv: TestServer;
let browser: Browser;

beforeAll(async () => {
  if (!have) return;
  srv = await testServer();
  await srv.addUser('ines', 'ines-password-1');
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
});
afterAll(async () => {
  await browser?.close();
  await srv?.cleanup();
});

describe.skipIf(!have)('the QR link on a phone', () => {
  for (const [locale, t] of [
    ['en-US', { cont: 'Continue', user: 'User name', pass: 'Password', signIn: 'Sign in', allow: 'Allow', done: 'Device connected' }],
    ['pt-BR', { cont: 'Continuar', user: 'Nome de usuário', pass: 'Senha', signIn: 'Entrar', allow: 'Permitir', done: 'Dispositivo conectado' }],
  ] as const) {
    it(`approves a login (${locale})`, async () => {
      const login = await startDeviceLogin({ server: srv.url });
      const waiting = login.wait();
      const ctx = await browser.newContext({ ...devices['Pixel 7'], locale });
      const page = await ctx.newPage();
      await page.goto(login.verification_uri_complete);
      // the auto-submitted form lands on the confirmation page, which shows the code
      await expect.poll(() => page.locator('.code').textContent()).toBe(login.user_code);
      await page.getByRole('button', { name: t.cont }).click();
      await page.getByLabel(t.user).fill('ines');
      await page.getByLabel(t.pass).fill('ines-password-1');
      await page.getByRole('button', { name: t.signIn }).click();
      await page.getByRole('button', { name: t.allow }).click();
      await expect.poll(() => page.locator('h1').textContent()).toBe(t.done);
      // nothing wider than the phone's screen
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      expect(overflow).toBeLessThanOrEqual(0);
      expect((await waiting).status).toBe('approved');
      await ctx.close();
    });
  }

  it('typing the code by hand at verification_uri works too', async () => {
    const login = await startDeviceLogin({ server: srv.url });
    const waiting = login.wait();
    const ctx = await browser.newContext({ ...devices['Pixel 7'], locale: 'en-US' });
    const page = await ctx.newPage();
    await page.goto(login.verification_uri);
    await page.getByLabel('Code').fill(login.user_code.replace('-', '').toLowerCase());
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByRole('button', { name: 'Cancel' }).click();
    expect((await waiting).status).toBe('denied');
    await ctx.close();
  });
});
