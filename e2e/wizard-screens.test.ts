/**
 * The installer wizard in Chromium, against the fixture daemon
 * (e2e/wizard-fixtures): every screen at 800×600 and 1280×800 in en and
 * pt-BR (screenshots in e2e/artifacts/wizard/), no page overflow, axe-core
 * with no serious/critical violation, no untranslated string; the whole flow
 * with the keyboard only, checking the events the daemon receives; RFC 1123
 * hostname validation; SSE reconnection.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { startFixtureServer, type FixtureServer } from './wizard-fixtures/fixture-server.ts';
import { axeViolations, layoutProblems, texts } from './helpers/page-checks.ts';
import { FIXTURES, NEWEST, REFUSED, REFUSED_REASON, SNAPSHOTS, detailsOf, type FixtureName } from './wizard-fixtures/fixtures.ts';
import { checkHostname } from '../src/wizard/hostname.ts';
import { aboutMinutes } from '../src/daemon/eta.ts';

const ROOT = resolve(import.meta.dirname, '..');
const ARTIFACTS = resolve(ROOT, 'e2e/artifacts/wizard');
/** A private build: other suites (the daemon's) may build or serve dist/wizard at the same time. */
const BUILD = resolve(ROOT, '.cache/wizard-e2e');
const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

type Lang = 'en' | 'pt-BR';
interface View { lang: Lang; width: number; height: number }
const VIEWS: View[] = [
  { lang: 'en', width: 800, height: 600 },
  { lang: 'en', width: 1280, height: 800 },
  { lang: 'pt-BR', width: 800, height: 600 },
  { lang: 'pt-BR', width: 1280, height: 800 },
];

let server: FixtureServer;
let browser: Browser;
const contexts: BrowserContext[] = [];
const pages = new Map<string, Page>();
const viewKey = (v: View) => `${v.lang}-${v.width}x${v.height}`;

async function newPage(v: View): Promise<Page> {
  // en comes from ?lang=, pt-BR from the browser's language (both ways are exercised).
  const ctx = await browser.newContext({ viewport: { width: v.width, height: v.height }, locale: v.lang === 'en' ? 'en-US' : 'pt-BR', timezoneId: 'America/Sao_Paulo', reducedMotion: 'reduce' });
  contexts.push(ctx);
  const page = await ctx.newPage();
  page.on('pageerror', (e) => console.error(`[${viewKey(v)}] page error:`, e));
  page.on('console', (msg) => msg.type() === 'error' && !/Failed to load resource|EventSource/.test(msg.text()) && console.error(`[${viewKey(v)}] console:`, msg.text()));
  return page;
}
const pageUrl = (v: View) => (v.lang === 'en' ? `${server.url}/?lang=en` : `${server.url}/`);

/** Waits for a screen and checks focus went to its heading (or the passphrase after a wrong one). */
async function onScreen(page: Page, screen: string, focusId = 'screen-title'): Promise<void> {
  await page.waitForSelector(`.app[data-screen="${screen}"]`, { timeout: 10_000 });
  await page.waitForFunction((id) => document.activeElement?.id === id, focusId, { timeout: 5000 });
}

interface Focused { tag: string; id: string; text: string; snapshot: string | null; type: string | null }
async function focused(page: Page): Promise<Focused> {
  return page.evaluate(() => {
    const a = document.activeElement as HTMLElement | null;
    return { tag: a?.tagName.toLowerCase() ?? '', id: a?.id ?? '', text: (a?.textContent ?? '').replace(/\s+/g, ' ').trim(), snapshot: a?.getAttribute('data-snapshot') ?? null, type: a?.getAttribute('type') ?? null };
  });
}
/** Presses Tab until the focused element matches (keyboard only: no clicks anywhere). */
async function tabTo(page: Page, match: (f: Focused) => boolean, what: string, max = 60): Promise<Focused> {
  const seen: string[] = [];
  for (let i = 0; i < max; i++) {
    await page.keyboard.press('Tab');
    const f = await focused(page);
    if (match(f)) return f;
    seen.push(f.id || f.text.slice(0, 30) || f.tag);
  }
  throw new Error(`Tab never reached ${what}; went through: ${seen.join(' | ')}`);
}
const byText = (t: string) => (f: Focused) => f.text === t;
const byId = (id: string) => (f: Focused) => f.id === id;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run bash scripts/install-system-deps.sh`);
  execFileSync('npx', ['vite', 'build', '--logLevel', 'error', '--outDir', BUILD, '--emptyOutDir'], { cwd: ROOT, stdio: 'pipe' });
  mkdirSync(ARTIFACTS, { recursive: true });
  server = await startFixtureServer({ root: BUILD });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  for (const v of VIEWS) pages.set(viewKey(v), await newPage(v));
}, 180_000);

afterAll(async () => {
  for (const c of contexts) await c.close().catch(() => {});
  await browser?.close();
  await server?.close();
});

// ── Every screen ────────────────────────────────────────────────────────────

interface ScreenSpec {
  name: string;
  fixture: FixtureName;
  screen: string;
  /** Before each page load (fixture daemon switches). */
  before?: () => void;
  /** The screen the page opens on, when `prepare` then moves elsewhere. */
  opens?: string;
  /** Keyboard steps from the fixture's screen to the one to capture. */
  prepare?: (page: Page) => Promise<void>;
  /** A selector present once the screen is complete. */
  ready?: string;
}

async function openSnapshot(page: Page, id: string, ready = '.cat .size') {
  await page.waitForSelector(`[data-snapshot="${id}"]`);
  await tabTo(page, (f) => f.snapshot === id, `snapshot ${id}`);
  await page.keyboard.press('Enter');
  await onScreen(page, 'configure');
  await page.waitForSelector(ready);
}

/** Every card has read its snapshot's details (counts and size, or its refusal). */
async function allCardsRead(page: Page) {
  await page.waitForSelector('.card-bad');
  await page.waitForFunction(() => Array.from(document.querySelectorAll('.card')).every((c) => c.querySelector('.card-bad') || /\d/.test(c.querySelector('.card-counts')?.textContent ?? '')), null, { timeout: 10_000 });
}

const SCREENS: ScreenSpec[] = [
  { name: '00-connecting', fixture: 'welcome', screen: 'connecting', before: () => (server.stream.stall = true) },
  {
    name: '00-connection-lost',
    fixture: 'applying',
    screen: 'applying',
    opens: 'applying',
    before: () => (server.stream.down = false),
    prepare: async (p) => {
      server.stream.down = true;
      server.dropClients();
      await p.waitForSelector('.banner');
    },
  },
  { name: '01-welcome', fixture: 'welcome', screen: 'welcome' },
  { name: '01-welcome-installer', fixture: 'welcome-installer', screen: 'welcome' },
  { name: '02-login-waiting', fixture: 'login-waiting', screen: 'login' },
  { name: '02-login', fixture: 'login', screen: 'login', ready: 'img.qr' },
  { name: '02-login-expired', fixture: 'login-expired', screen: 'login-failed' },
  { name: '02-login-denied', fixture: 'login-denied', screen: 'login-failed' },
  { name: '02-login-error', fixture: 'login-error', screen: 'login-failed' },
  { name: '03-loading', fixture: 'loading', screen: 'loading' },
  { name: '03-list-failed', fixture: 'list-failed', screen: 'list-failed' },
  { name: '03-choose', fixture: 'choose', screen: 'choose', prepare: (p) => allCardsRead(p) },
  { name: '03-choose-empty', fixture: 'choose-empty', screen: 'choose' },
  { name: '04-configure', fixture: 'choose', screen: 'configure', prepare: (p) => openSnapshot(p, NEWEST) },
  { name: '04-configure-loading', fixture: 'choose', screen: 'configure', before: () => (server.details.delayMs = 60_000), prepare: (p) => openSnapshot(p, NEWEST, '.categories .status') },
  { name: '04-configure-details-failed', fixture: 'choose', screen: 'configure', before: () => (server.details.fail = true), prepare: (p) => openSnapshot(p, NEWEST, '.details-failed') },
  { name: '04-configure-shared', fixture: 'choose', screen: 'configure', prepare: (p) => openSnapshot(p, SNAPSHOTS.find((s) => s.hostname === 'lab-workstation')!.id) },
  {
    name: '04-configure-invalid',
    fixture: 'choose',
    screen: 'configure',
    prepare: async (p) => {
      await openSnapshot(p, NEWEST);
      await tabTo(p, byId('hostname'), 'hostname');
      await p.keyboard.press('Control+A');
      await p.keyboard.type('-ana_pc');
      await p.keyboard.press('Enter'); // submit: errors shown, focus back on the hostname
      await p.waitForSelector('#secret-err');
    },
  },
  {
    name: '04-configure-recovery-key',
    fixture: 'choose',
    screen: 'configure',
    prepare: async (p) => {
      await openSnapshot(p, NEWEST);
      await tabTo(p, (f) => f.tag === 'button' && /recovery key|chave de recupera/i.test(f.text), 'use recovery key');
      await p.keyboard.press('Enter');
      await p.waitForSelector('input[name="recovery-key"]');
    },
  },
  {
    name: '04-configure-skip-secrets',
    fixture: 'choose',
    screen: 'configure',
    prepare: async (p) => {
      await openSnapshot(p, NEWEST);
      await tabTo(p, (f) => f.tag === 'button' && /^(Skip: system and apps only|Pular: só sistema e aplicativos)$/.test(f.text), 'skip secrets');
      await p.keyboard.press('Space');
      await p.waitForSelector('#restore-secrets');
    },
  },
  { name: '04-configure-refused', fixture: 'choose', screen: 'configure', prepare: (p) => openSnapshot(p, REFUSED, '.error-detail') },
  { name: '04-configure-wrong-secret', fixture: 'choose-wrong-secret', screen: 'configure', ready: '#secret-err' },
  { name: '05-preparing', fixture: 'preparing', screen: 'preparing' },
  { name: '05-prepare-failed', fixture: 'prepare-failed', screen: 'prepare-failed' },
  { name: '05-refused', fixture: 'refused', screen: 'refused' },
  { name: '05-summary', fixture: 'ready', screen: 'ready' },
  { name: '05-summary-installer', fixture: 'ready-installer', screen: 'ready' },
  { name: '05-summary-locked', fixture: 'ready-locked', screen: 'ready' },
  { name: '05-summary-confirmed', fixture: 'confirmed', screen: 'confirmed' },
  { name: '06-progress', fixture: 'applying', screen: 'applying' },
  { name: '06-progress-installer', fixture: 'applying-installer', screen: 'applying' },
  { name: '06-progress-apt', fixture: 'applying-apt', screen: 'applying' },
  { name: '06-apply-failed', fixture: 'apply-failed', screen: 'apply-failed' },
  { name: '07-report-done', fixture: 'report-done', screen: 'report' },
  { name: '07-report-partial', fixture: 'report-partial', screen: 'report' },
  { name: '07-report-failed', fixture: 'report-failed', screen: 'report' },
  { name: '08-skipped', fixture: 'skipped', screen: 'skipped' },
];

describe('wizard screens', () => {
  for (const spec of SCREENS) {
    it(`${spec.name}: screenshots, fits, accessible, translated`, async () => {
      server.reset();
      const seen: Partial<Record<Lang, string[]>> = {};
      for (const v of VIEWS) {
        const page = pages.get(viewKey(v))!;
        server.set(spec.fixture);
        spec.before?.();
        await page.goto(pageUrl(v));
        await onScreen(page, spec.opens ?? (spec.prepare ? 'choose' : spec.screen), spec.fixture === 'choose-wrong-secret' ? 'secret' : 'screen-title');
        if (spec.prepare) await spec.prepare(page);
        if (spec.ready) await page.waitForSelector(spec.ready);
        await page.evaluate(() => document.fonts.ready.then(() => undefined));
        expect(await page.getAttribute('html', 'lang')).toBe(v.lang);
        await page.screenshot({ path: resolve(ARTIFACTS, `${spec.name}.${v.lang}.${v.width}x${v.height}.png`), animations: 'disabled' });
        expect(await layoutProblems(page), `${spec.name} ${viewKey(v)}`).toEqual([]);
        expect(await axeViolations(page), `${spec.name} ${viewKey(v)}`).toEqual([]);
        if (v.width === 1280) seen[v.lang] = await texts(page);
      }
      const pt = new Set(seen['pt-BR']);
      expect(seen.en!.length).toBeGreaterThan(2);
      expect(seen.en!.filter((t) => pt.has(t)), `${spec.name}: the same in en and pt-BR`).toEqual([]);
      // No event may be sent just by looking (or by the local configure steps).
      expect(server.events).toEqual([]);
    });
  }
});

// ── Keyboard only ──────────────────────────────────────────────────────────

describe('wizard with the keyboard only', () => {
  const v: View = { lang: 'en', width: 1280, height: 800 };
  const page = () => pages.get(viewKey(v))!;

  it('walks welcome → login → choose → configure (wrong, then right passphrase) → summary → progress → report', async () => {
    const p = page();
    server.reset();
    server.set('welcome');
    await p.goto(pageUrl(v));
    await onScreen(p, 'welcome');

    await tabTo(p, byText('Restore from Koder ID'), 'Restore from Koder ID');
    await p.keyboard.press('Enter');
    expect(await server.waitForEvents(1)).toEqual([{ type: 'START' }]);
    await onScreen(p, 'login');
    await p.waitForSelector('img.qr');
    expect((await p.textContent('.user-code'))?.trim()).toBe('WDJB-MJHT');
    expect(await p.getAttribute('img.qr', 'alt')).toMatch(/QR code/);
    expect(await p.textContent('.timer')).toMatch(/expires in \d+:\d\d/);

    server.set('choose'); // approved on the phone
    await onScreen(p, 'choose');
    // Newest first within "your snapshots", then the shared ones.
    const order = await p.$$eval('.card', (cs) => cs.map((c) => c.getAttribute('data-snapshot')));
    expect(order[0]).toBe(NEWEST);
    // What the snapshot holds, its whole chain folded: packages, repositories, folders and their size (not the delta's own 180 MB).
    await allCardsRead(p);
    const card = (await p.textContent(`[data-snapshot="${NEWEST}"]`))!.replace(/\s+/g, ' ');
    const d = detailsOf(NEWEST)!;
    expect(card).toContain(`${(d.counts.apt + d.counts.flatpak + d.counts.snap).toLocaleString('en')} packages, ${d.counts.repos} repositories, ${d.counts.files} folders`);
    expect(card).toMatch(/Chain of 4 snapshots\s*[\d.]+\sGB/); // (the · between them is CSS)
    expect(card).not.toContain('180');
    await tabTo(p, (f) => f.snapshot === NEWEST, 'newest snapshot');
    await p.keyboard.press('Enter');
    await onScreen(p, 'configure');
    await p.waitForSelector('.cat .size');
    expect(await p.inputValue('#hostname')).toBe('ana-thinkpad');
    expect(await p.inputValue('#user')).toBe('ana');

    // An invalid hostname: inline error on leaving the field, and Enter sends nothing.
    await tabTo(p, byId('hostname'), 'hostname');
    await p.keyboard.press('Control+A');
    await p.keyboard.type('novo_pc-');
    await p.keyboard.press('Tab');
    expect(await p.textContent('#hostname-err')).toContain('Use only letters');
    expect(await p.getAttribute('#hostname', 'aria-invalid')).toBe('true');
    expect(await p.getAttribute('#hostname', 'aria-describedby')).toBe('hostname-err');
    await p.keyboard.press('Shift+Tab');
    await p.keyboard.press('Enter');
    expect((await focused(p)).id).toBe('hostname');
    expect(server.events).toHaveLength(1);
    await p.keyboard.press('Control+A');
    await p.keyboard.type('novo-notebook');
    expect(await p.$('#hostname-err')).toBeNull();

    await tabTo(p, byId('cat-files'), 'files checkbox');
    await p.keyboard.press('Space');
    expect(await p.isChecked('#cat-files')).toBe(false);

    await tabTo(p, byId('secret'), 'passphrase');
    await p.keyboard.type('wrong');
    await p.keyboard.press('Enter');
    const expectedChoice = { snapshotId: NEWEST, hostname: 'novo-notebook', targetUser: 'ana', categories: ['system', 'apps', 'repos', 'secrets'] };
    expect((await server.waitForEvents(2))[1]).toEqual({ type: 'CHOOSE', choice: expectedChoice, passphrase: 'wrong' });

    // prepare → WRONG_SECRET → back at the form, the error at the passphrase field, which has focus.
    await onScreen(p, 'configure', 'secret');
    expect(await p.textContent('#secret-err')).toContain('did not open your key vault');
    expect(await p.getAttribute('#secret', 'aria-invalid')).toBe('true');
    expect(await p.inputValue('#hostname')).toBe('novo-notebook');
    expect(await p.isChecked('#cat-files')).toBe(false);
    await p.keyboard.type('correct horse battery staple');
    expect(await p.$('#secret-err')).toBeNull();
    await tabTo(p, byText('Review the plan'), 'Review the plan');
    await p.keyboard.press('Enter');
    expect((await server.waitForEvents(3))[2]).toEqual({ type: 'CHOOSE', choice: expectedChoice, passphrase: 'correct horse battery staple' });
    await onScreen(p, 'preparing');

    server.set('ready'); // the plan of that choice
    await onScreen(p, 'ready');
    const groups = await p.$$eval('.plan-group h3 > span:first-child, .plan-group h3', (hs) => hs.map((h) => h.textContent ?? ''));
    expect(groups.join('|')).toContain('Apps');
    expect(groups.join('|')).not.toContain('Documents and files');
    expect(await p.textContent('.facts')).toContain('novo-notebook');
    await tabTo(p, byText('Start the restore'), 'Start the restore');
    await p.keyboard.press('Enter');
    expect((await server.waitForEvents(4))[3]).toEqual({ type: 'CONFIRM' });

    await onScreen(p, 'applying');
    const bars = await p.$$eval('[role="progressbar"]', (bs) =>
      bs.map((b) => ({ label: document.getElementById(b.getAttribute('aria-labelledby') ?? '')?.textContent, now: Number(b.getAttribute('aria-valuenow')), min: b.getAttribute('aria-valuemin'), max: b.getAttribute('aria-valuemax') })),
    );
    expect(bars.map((b) => b.label)).toEqual(['Overall', 'System settings', 'Apps', 'Git repositories', 'Secrets', 'At first boot']);
    for (const b of bars) {
      expect(b.now).toBeGreaterThanOrEqual(0);
      expect(b.now).toBeLessThanOrEqual(100);
      expect([b.min, b.max]).toEqual(['0', '100']);
    }
    expect(bars[1]!.now).toBe(100);
    expect(await p.getAttribute('.current', 'aria-live')).toBe('polite');
    expect(await p.textContent('.overall-numbers')).toMatch(/ of .*About .* left|Estimating/);

    server.set('report-partial');
    await onScreen(p, 'report');
    await tabTo(p, byText('Retry failed items'), 'Retry failed items');
    await p.keyboard.press('Space');
    expect((await server.waitForEvents(5))[4]).toEqual({ type: 'RETRY_FAILED' });
    expect(server.events.map((e) => e.type)).toEqual(['START', 'CHOOSE', 'CHOOSE', 'CONFIRM', 'RETRY_FAILED']);
  });

  const buttons: [FixtureName, string, 'Enter' | 'Space', object][] = [
    ['welcome', 'Skip', 'Space', { type: 'SKIP' }],
    ['login-expired', 'Get a new code', 'Enter', { type: 'NEW_CODE' }],
    ['login-denied', 'Get a new code', 'Space', { type: 'NEW_CODE' }],
    ['list-failed', 'Try again', 'Enter', { type: 'RETRY' }],
    ['prepare-failed', 'Back', 'Space', { type: 'BACK' }],
    ['prepare-failed', 'Try again', 'Enter', { type: 'RETRY' }],
    ['refused', 'Choose another snapshot', 'Enter', { type: 'BACK' }],
    ['ready', 'Change choices', 'Enter', { type: 'BACK' }],
    ['apply-failed', 'Try again', 'Enter', { type: 'RETRY' }],
  ];
  for (const [fixture, label, key, event] of buttons) {
    it(`${fixture}: “${label}” with ${key} sends ${JSON.stringify(event)}`, async () => {
      const p = page();
      server.reset();
      const phase = server.set(fixture).phase;
      await p.goto(pageUrl(v));
      await onScreen(p, phase);
      await tabTo(p, byText(label), label);
      await p.keyboard.press(key);
      expect(await server.waitForEvents(1)).toEqual([event]);
    });
  }

  it('the refusal screen explains, shows the reason, and offers only “back”', async () => {
    const p = page();
    server.reset();
    server.set('refused');
    await p.goto(pageUrl(v));
    await onScreen(p, 'refused');
    expect(await p.textContent('main')).toContain('failed verification');
    expect(await p.textContent('.error-detail-text')).toContain('signature does not verify');
    expect(await p.$$eval('main button', (bs) => bs.map((b) => b.textContent))).toEqual(['Choose another snapshot']);
  });

  it('a snapshot that fails verification says so on its card, and is refused as soon as it is chosen: nothing is sent', async () => {
    const p = page();
    server.reset();
    server.set('choose');
    await p.goto(pageUrl(v));
    await onScreen(p, 'choose');
    await p.waitForSelector(`[data-snapshot="${REFUSED}"] .card-bad`);
    expect(await p.textContent(`[data-snapshot="${REFUSED}"]`)).toContain('Failed verification: cannot be restored');
    await tabTo(p, (f) => f.snapshot === REFUSED, 'the refused snapshot');
    await p.keyboard.press('Enter');
    await onScreen(p, 'configure');
    expect(await p.textContent('h1')).toBe('This snapshot was refused');
    expect(await p.textContent('.error-detail-text')).toBe(REFUSED_REASON);
    expect(await p.$('#configure-form')).toBeNull();
    expect(await p.$$eval('main button', (bs) => bs.map((b) => b.textContent))).toEqual(['Choose another snapshot']);
    await tabTo(p, byText('Choose another snapshot'), 'Choose another snapshot');
    await p.keyboard.press('Enter');
    await onScreen(p, 'choose');
    expect(server.events).toEqual([]);
  });

  it('the sign-in countdown is exact to the second: never a second too many, “expired” right when it is', async () => {
    const p = page();
    server.reset();
    const expiresAt = Date.now() + 3300;
    server.set('login', { login: { ...FIXTURES.login({ now: Date.now() }).login!, expiresAt } });
    await p.goto(pageUrl(v));
    await onScreen(p, 'login');
    const samples: Array<[number, string]> = [];
    while (Date.now() < expiresAt + 600) {
      samples.push(await p.evaluate(() => [Date.now(), document.querySelector('.timer')?.textContent ?? ''] as [number, string]));
      await new Promise((r) => setTimeout(r, 40));
    }
    const lag = 150; // a render may trail the clock by this much
    for (const [t, text] of samples) {
      const at = (x: number) => Math.ceil((expiresAt - x) / 1000);
      const shown = /expires in 0:0(\d)/.exec(text);
      if (shown) {
        expect(Number(shown[1]), `at ${expiresAt - t} ms before expiry: ${text}`).toBeGreaterThanOrEqual(at(t));
        expect(Number(shown[1]), `at ${expiresAt - t} ms before expiry: ${text}`).toBeLessThanOrEqual(at(t - lag));
      } else {
        expect(text).toBe('This code has expired.');
        expect(t).toBeGreaterThanOrEqual(expiresAt);
      }
    }
    expect(samples.filter(([t]) => t > expiresAt + lag).every(([, text]) => text === 'This code has expired.')).toBe(true);
    // Each second shown once, in order, down to "expired" (how many depends on how fast the page loaded).
    const order = samples.map(([, x]) => x).filter((x, i, a) => x !== a[i - 1]);
    const first = Number(/0:0(\d)/.exec(order[0]!)?.[1]);
    expect(first).toBeLessThanOrEqual(4);
    expect(order).toEqual([...Array.from({ length: first }, (_, i) => `The code expires in 0:0${first - i}`), 'This code has expired.']);
  });

  it('progress inside apt: the package being installed, the Apps bar moving, “about N minutes left”', async () => {
    const p = page();
    server.reset();
    const st = server.set('applying-apt');
    await p.goto(pageUrl(v));
    await onScreen(p, 'applying');
    expect((await p.textContent('.current'))!.replace(/\s+/g, ' ')).toMatch(/Now: .*apt packages — installing libreoffice-core/);
    const apps = Number(await p.getAttribute('#bar-apps-label + [role="progressbar"]', 'aria-valuenow'));
    expect(apps).toBeGreaterThan(0);
    expect(apps).toBeLessThan(100);
    const m = aboutMinutes(st.progress!.etaSeconds!);
    expect(m).toBeGreaterThan(1);
    expect(await p.textContent('.eta')).toBe(m < 60 ? `About ${m} minutes left` : `About ${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min left`);
    expect(Number(await p.getAttribute('#bar-overall-label + [role="progressbar"]', 'aria-valuenow'))).toBe(Math.floor(st.progress!.fraction * 100));
  });

  it('installer mode: the button says the restore runs during installation; then “you can continue the installation”', async () => {
    const p = page();
    server.reset();
    server.set('ready-installer');
    await p.goto(pageUrl(v));
    await onScreen(p, 'ready');
    expect(await p.textContent('#installer-note')).toContain('while the system is being installed');
    await tabTo(p, byText('Restore during installation'), 'Restore during installation');
    await p.keyboard.press('Enter');
    expect(await server.waitForEvents(1)).toEqual([{ type: 'CONFIRM' }]);
    await onScreen(p, 'confirmed');
    expect(await p.textContent('main')).toContain('You can continue the installation');
    expect(await p.$$('.actions button')).toHaveLength(0);
  });

  it('skip secrets and recovery key: CHOOSE carries what was chosen', async () => {
    const p = page();
    server.reset();
    server.set('choose');
    await p.goto(pageUrl(v));
    await onScreen(p, 'choose');
    await openSnapshot(p, NEWEST);
    await tabTo(p, byText('Skip: system and apps only'), 'Skip: system and apps only');
    await p.keyboard.press('Enter');
    await p.waitForFunction(() => document.activeElement?.id === 'restore-secrets', null, { timeout: 2000 }); // focus is not lost with the button
    expect(await p.isChecked('#cat-secrets')).toBe(false);
    await tabTo(p, byText('Review the plan'), 'Review the plan');
    await p.keyboard.press('Enter');
    expect((await server.waitForEvents(1))[0]).toEqual({
      type: 'CHOOSE',
      choice: { snapshotId: NEWEST, hostname: 'ana-thinkpad', targetUser: 'ana', categories: ['system', 'apps', 'repos', 'files'] },
    });

    server.reset();
    server.set('choose');
    await p.goto(pageUrl(v));
    await onScreen(p, 'choose');
    await openSnapshot(p, NEWEST);
    await tabTo(p, byText('Use the recovery key instead'), 'recovery key');
    await p.keyboard.press('Space');
    expect(await p.textContent('label[for="secret"]')).toBe('Recovery key');
    await tabTo(p, byId('secret'), 'recovery key field');
    await p.keyboard.type('KDR1-7Q2M-9XVA-44TB-C0DE');
    await p.keyboard.press('Enter');
    expect((await server.waitForEvents(1))[0]).toEqual({
      type: 'CHOOSE',
      choice: { snapshotId: NEWEST, hostname: 'ana-thinkpad', targetUser: 'ana', categories: ['system', 'apps', 'repos', 'secrets', 'files'] },
      recoveryKey: 'KDR1-7Q2M-9XVA-44TB-C0DE',
    });
  });

  it('a shared snapshot without secrets needs no passphrase; defaults.hostname wins over the snapshot’s', async () => {
    const p = page();
    server.reset();
    server.set('choose', { defaults: { hostname: 'koder-pc', targetUser: 'bia' } });
    await p.goto(pageUrl(v));
    await onScreen(p, 'choose');
    const lab = SNAPSHOTS.find((s) => s.hostname === 'lab-workstation')!.id;
    await openSnapshot(p, lab);
    expect(await p.inputValue('#hostname')).toBe('koder-pc');
    expect(await p.inputValue('#user')).toBe('bia');
    expect(await p.isDisabled('#cat-secrets')).toBe(true);
    expect(await p.$('#secret')).toBeNull();
    await tabTo(p, byText('Review the plan'), 'Review the plan');
    await p.keyboard.press('Enter');
    expect((await server.waitForEvents(1))[0]).toEqual({
      type: 'CHOOSE',
      choice: { snapshotId: lab, hostname: 'koder-pc', targetUser: 'bia', categories: ['system', 'apps', 'repos', 'files'] },
    });
  });

  it('the language switch works from the keyboard and keeps focus', async () => {
    const p = page();
    server.reset();
    server.set('welcome');
    await p.goto(pageUrl(v));
    await onScreen(p, 'welcome');
    await p.keyboard.press('Shift+Tab'); // from the heading back into the header
    const f = await tabTo(p, byText('Português'), 'Português', 10).catch(async () => {
      await p.keyboard.press('Shift+Tab');
      return focused(p);
    });
    expect(f.text).toBe('Português');
    await p.keyboard.press('Enter');
    expect(await p.textContent('h1')).toBe('Traga seu ambiente de volta');
    expect(await p.getAttribute('html', 'lang')).toBe('pt-BR');
    expect(p.url()).toContain('lang=pt-BR');
    expect((await focused(p)).text).toBe('Português');
    expect(await p.getAttribute('button[lang="pt-BR"]', 'aria-pressed')).toBe('true');
  });
});

// ── Hostname ───────────────────────────────────────────────────────────────

describe('hostname validation (RFC 1123)', () => {
  it('accepts and rejects as the RFC says', () => {
    for (const ok of ['a', 'ana-thinkpad', 'NOVO-PC', '3com', 'host.example.com', 'x'.repeat(63), `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`]) {
      expect(checkHostname(ok), ok).toBeNull();
    }
    const bad: [string, string][] = [
      ['', 'empty'], ['-ana', 'hyphen'], ['ana-', 'hyphen'], ['a.-b', 'hyphen'], ['ana_pc', 'chars'], ['ana pc', 'chars'], ['ána', 'chars'],
      ['a..b', 'label_empty'], ['.a', 'label_empty'], ['a.', 'label_empty'], ['x'.repeat(64), 'label_too_long'],
      [`${'a'.repeat(63)}.`.repeat(4) + 'a', 'too_long'], ['192.168.0.1', 'numeric'],
    ];
    for (const [name, problem] of bad) expect(checkHostname(name), name).toBe(problem);
  });

  it('shows the problem inline as it is typed, in the person’s language, and blocks CHOOSE', async () => {
    const v: View = { lang: 'pt-BR', width: 800, height: 600 };
    const p = pages.get(viewKey(v))!;
    server.reset();
    server.set('choose');
    await p.goto(pageUrl(v));
    await onScreen(p, 'choose');
    await openSnapshot(p, NEWEST);
    await tabTo(p, byId('hostname'), 'hostname');
    const cases: [string, string | null][] = [
      ['', 'Digite um nome'], ['-pc', 'hífen'], ['meu_pc', 'Use apenas letras'], ['a..b', 'ponto a mais'], ['x'.repeat(64), '63 caracteres'], ['10.0.0.1', 'endereço IP'], ['meu-pc.casa', null],
    ];
    // The first blur makes errors visible; from then on they follow the typing.
    await p.keyboard.press('Tab');
    await p.keyboard.press('Shift+Tab');
    for (const [value, error] of cases) {
      await p.keyboard.press('Control+A');
      if (value) await p.keyboard.type(value);
      else await p.keyboard.press('Backspace');
      if (error) expect(await p.textContent('#hostname-err'), value).toContain(error);
      else expect(await p.$('#hostname-err'), value).toBeNull();
    }
    await p.keyboard.press('Control+A');
    await p.keyboard.type('meu pc');
    await p.keyboard.press('Enter');
    expect((await focused(p)).id).toBe('hostname');
    expect(server.events).toEqual([]);
  });
});

describe('state stream', () => {
  it('reconnects by itself after the daemon drops it, and shows what changed meanwhile', async () => {
    const v: View = { lang: 'en', width: 800, height: 600 };
    const p = pages.get(viewKey(v))!;
    server.reset();
    server.set('welcome');
    await p.goto(pageUrl(v));
    await onScreen(p, 'welcome');
    server.dropClients();
    await p.waitForSelector('.banner', { timeout: 5000 });
    server.set('login');
    await onScreen(p, 'login');
    await p.waitForSelector('.banner', { state: 'detached', timeout: 10_000 });
  }, 20_000);
});
