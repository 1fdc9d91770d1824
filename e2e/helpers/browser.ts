/**
 * Chromium for the wizard's end-to-end flow (playwright-core + Debian's
 * /usr/bin/chromium): launching it, the phone that approves a device code
 * through the provider's real pages, reading the QR code the wizard shows,
 * and a record of the screens a page went through.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, devices, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { qrOf } from '../../src/util/qr.ts';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run bash scripts/install-system-deps.sh`);
  return chromium.launch({ executablePath: CHROMIUM, args: ARGS });
}

/** Screenshots into `dir`, by name. */
export function shooter(dir: string) {
  mkdirSync(dir, { recursive: true });
  const taken: string[] = [];
  return {
    taken,
    async shot(page: Page, name: string) {
      await page.evaluate(() => document.fonts.ready.then(() => undefined));
      await page.screenshot({ path: join(dir, `${name}.png`), animations: 'disabled' });
      taken.push(name);
    },
  };
}

/** Collects page errors and console errors (a wizard that throws fails the test that checks this). */
export function watchErrors(page: Page, tag: string): string[] {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`[${tag}] page error: ${e.message}`));
  page.on('console', (msg) => {
    // A stream the daemon closes, a details fetch while the server is down: expected network noise.
    if (msg.type() === 'error' && !/Failed to load resource|EventSource/.test(msg.text())) errors.push(`[${tag}] console: ${msg.text()}`);
  });
  return errors;
}

/**
 * Starts recording the wizard's screens (the `data-screen` of `.app`) in the
 * page; `screens()` returns them in order, without repeats.
 */
export async function recordScreens(page: Page): Promise<() => Promise<string[]>> {
  await page.waitForSelector('.app');
  await page.evaluate(() => {
    const w = window as unknown as { __screens: string[] };
    w.__screens = [];
    const note = () => {
      const s = document.querySelector('.app')?.getAttribute('data-screen') ?? '';
      if (s && w.__screens[w.__screens.length - 1] !== s) w.__screens.push(s);
    };
    note();
    new MutationObserver(note).observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-screen'] });
  });
  return () => page.evaluate(() => (window as unknown as { __screens: string[] }).__screens.slice());
}

/** Waits until the wizard shows `screen` (its `data-screen`). */
export async function onScreen(page: Page, screen: string, timeout = 15_000): Promise<void> {
  await page.waitForSelector(`.app[data-screen="${screen}"]`, { timeout });
}

/** The first UiState the daemon streams on /api/state, read in the page (it holds the session cookie). */
export function daemonState<T>(page: Page): Promise<T> {
  return page.evaluate(
    () =>
      new Promise<T>((resolve, reject) => {
        const es = new EventSource('/api/state');
        es.onmessage = (e) => {
          es.close();
          resolve(JSON.parse(e.data as string) as T);
        };
        es.onerror = () => {
          es.close();
          reject(new Error('no state from /api/state'));
        };
      }),
  );
}

/**
 * The dark/light modules of the QR code shown by the <img> `selector`, as
 * rows of '#'/'.', read from the rendered pixels (the symbol has a quiet
 * zone of `quiet` modules and `modules` modules a side).
 */
export async function readQrModules(page: Page, selector: string, modules: number, quiet = 4): Promise<string[]> {
  return page.$eval(
    selector,
    async (img, [n, pad]) => {
      const el = img as HTMLImageElement;
      await el.decode();
      const total = n + 2 * pad;
      const cell = 10;
      const canvas = document.createElement('canvas');
      canvas.width = canvas.height = total * cell;
      const g = canvas.getContext('2d')!;
      g.imageSmoothingEnabled = false;
      g.drawImage(el, 0, 0, canvas.width, canvas.height);
      const px = g.getImageData(0, 0, canvas.width, canvas.height).data;
      const rows: string[] = [];
      for (let y = 0; y < n; y++) {
        let row = '';
        for (let x = 0; x < n; x++) {
          const cx = (x + pad) * cell + cell / 2, cy = (y + pad) * cell + cell / 2;
          const i = (cy * canvas.width + cx) * 4;
          row += px[i]! + px[i + 1]! + px[i + 2]! < 384 ? '#' : '.';
        }
        rows.push(row);
      }
      return rows;
    },
    [modules, quiet] as const,
  );
}

/** The modules a QR code of `text` must have, as rows of '#'/'.' (what readQrModules reads back), and its size. */
export function qrRows(text: string): { size: number; rows: string[] } {
  const want = qrOf(text);
  const rows: string[] = [];
  for (let y = 0; y < want.size; y++) {
    let row = '';
    for (let x = 0; x < want.size; x++) row += want.get(x, y) ? '#' : '.';
    rows.push(row);
  }
  return { size: want.size, rows };
}

export interface PhoneOptions {
  user: string;
  password: string;
  locale: 'en-US' | 'pt-BR';
  /** Called on each page of the provider (for screenshots). */
  onPage?: (step: 'confirm' | 'login' | 'consent' | 'done', page: Page) => Promise<void>;
}

const PHONE_WORDS = {
  'en-US': { cont: 'Continue', user: 'User name', pass: 'Password', signIn: 'Sign in', allow: 'Allow', done: 'Device connected', confirm: 'Is this your device?' },
  'pt-BR': { cont: 'Continuar', user: 'Nome de usuário', pass: 'Senha', signIn: 'Entrar', allow: 'Permitir', done: 'Dispositivo conectado', confirm: 'Este dispositivo é seu?' },
} as const;

/**
 * What the person does on the phone after scanning the QR code, in its own
 * browser context: open the link, check the code, sign in, allow. Returns
 * the code the provider showed for comparison.
 */
export async function approveOnPhone(browser: Browser, link: string, o: PhoneOptions): Promise<{ shownCode: string; context: BrowserContext }> {
  const t = PHONE_WORDS[o.locale];
  const context = await browser.newContext({ ...devices['Pixel 7'], locale: o.locale });
  const page = await context.newPage();
  await page.goto(link);
  // The link's auto-submitting form lands on "is this your device?", which shows the code.
  await page.getByRole('heading', { name: t.confirm }).waitFor({ timeout: 10_000 });
  const shownCode = ((await page.locator('.code').textContent()) ?? '').trim();
  await o.onPage?.('confirm', page);
  await page.getByRole('button', { name: t.cont }).click();
  await page.getByLabel(t.user).fill(o.user);
  await page.getByLabel(t.pass).fill(o.password);
  await o.onPage?.('login', page);
  await page.getByRole('button', { name: t.signIn }).click();
  await page.getByRole('button', { name: t.allow }).waitFor({ timeout: 10_000 });
  await o.onPage?.('consent', page);
  await page.getByRole('button', { name: t.allow }).click();
  await page.getByRole('heading', { name: t.done }).waitFor({ timeout: 10_000 });
  await o.onPage?.('done', page);
  return { shownCode, context };
}
