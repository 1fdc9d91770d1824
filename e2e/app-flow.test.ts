/**
 * The Backup app end to end in Chromium, with real parts only: the
 * reference server (real device flow and provider pages), the demo user
 * with its captured, signed data v2 chain of ana-laptop (what `npm start`
 * seeds), a second user, and the daemon in app mode for each (AppSession +
 * startDaemon, as `koder-snapshot app` wires them) serving a private build of
 * the app, each with its own fixture home and XDG folders.
 *
 * What a person does, driven by accessible names: sign in through the
 * provider's pages in a second browser context (and, for the second user,
 * "open on this computer" in the same browser), set up the keys; back up
 * now (live progress, cancel, then the result with what was left out) and
 * find the new snapshot with its folders' real sizes; the schedule and what
 * to include, into config.toml; browse a v2 snapshot and restore one file
 * into ~/Restored <date>/ byte for byte; delete a snapshot (what it frees is
 * what the server's usage drops by); share with the second user, who finds it
 * under "Shared with me" and opens its files, then revoke (gone, 404 for
 * them); change the passphrase, then restore secrets with the new one (the
 * old one refused); a new recovery key (the old one refused); delete the
 * account, watch the 24 h countdown, cancel it; sign out.
 *
 * Every screen is shot at 1024×600 in en and pt-BR (e2e/artifacts/app/),
 * checked for layout (nothing cut or sticking out), axe (no serious or
 * critical violation) and untranslated strings; some at phone width too.
 * Last, the same things with the keyboard only (Tab, Enter, Space, arrows,
 * Escape): sign in, open a snapshot, browse, choose, restore in place, a
 * dialog opened and closed.
 */
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { DEMO_PASSPHRASE, DEMO_PASSWORD, DEMO_USER } from '../src/cli/demo/seed.ts';
import type { AppState } from '../src/daemon/app/contract.ts';
import { restoredFolderName } from '../src/daemon/app/home-target.ts';
import { applySecrets } from '../src/chroot-appliers/secrets.ts';
import { resolveTarget } from '../src/chroot-appliers/target.ts';
import { openVault } from '../src/keys/vault.ts';
import { resolveChain } from '../src/manifest/index.ts';
import { TIMER_NAME } from '../src/capture/schedule.ts';
import { formatBytes } from '../src/ui/format.ts';
import { applyContext } from '../test/helpers/apply-context.ts';
import { ROOT, flowServer, seedFlow, type FlowServer } from './helpers/stack.ts';
import { appPerson, buildApp, type AppPerson } from './helpers/app-stack.ts';
import { approveOnPhone, launchChromium, qrRows, readQrModules, watchErrors } from './helpers/browser.ts';
import { axeViolations, layoutProblems, texts } from './helpers/page-checks.ts';

const ARTIFACTS = resolve(ROOT, 'e2e/artifacts/app');
const BUILD = resolve(ROOT, '.cache/app-e2e');
const NEW_PASSPHRASE = 'cafe com pao de queijo';
const BIA_PASSPHRASE = 'bia guarda tudo aqui';
/** The server's quota per user: the overview shows the storage used against it. */
const QUOTA = 50 * 1024 * 1024;
/** The same word in both languages, legitimately. */
const SAME_IN_BOTH = new Set(['Backup', 'Snapshots', 'Menu', 'Snapshot']);

let work: string;
let browser: Browser;
const contexts: BrowserContext[] = [];
let server: FlowServer;
let seeded: Awaited<ReturnType<typeof seedFlow>>;
let ana: AppPerson;
let bia: AppPerson;
let page: Page;
let errors: string[];

async function personPage(o: { lang: 'en' | 'pt-BR'; width?: number; height?: number }): Promise<Page> {
  const ctx = await browser.newContext({ viewport: { width: o.width ?? 1024, height: o.height ?? 600 }, locale: o.lang === 'en' ? 'en-US' : 'pt-BR', timezoneId: 'America/Sao_Paulo', reducedMotion: 'reduce' });
  contexts.push(ctx);
  return ctx.newPage();
}

const screenOf = (p: Page) => p.locator('.app').getAttribute('data-screen');
async function onScreen(p: Page, screen: string, timeout = 20_000): Promise<void> {
  await p.waitForSelector(`.app[data-screen="${screen}"]`, { timeout });
}
interface Focused { tag: string; name: string; snapshot: string | null }
async function focused(p: Page): Promise<Focused> {
  return p.evaluate(() => {
    const a = document.activeElement as HTMLElement | null;
    return { tag: a?.tagName.toLowerCase() ?? '', name: (a?.getAttribute('aria-label') ?? a?.textContent ?? '').replace(/\s+/g, ' ').trim(), snapshot: a?.getAttribute('data-snapshot') ?? null };
  });
}
/** Presses Tab until the focused element matches (keyboard only: no clicks). */
async function tabTo(p: Page, match: (f: Focused) => boolean, what: string, max = 80): Promise<void> {
  const seen: string[] = [];
  for (let i = 0; i < max; i++) {
    await p.keyboard.press('Tab');
    const f = await focused(p);
    if (match(f)) return;
    seen.push(f.name.slice(0, 30) || f.tag);
  }
  throw new Error(`Tab never reached ${what}; went through: ${seen.join(' | ')}`);
}
const named = (n: string) => (f: Focused) => f.name === n;

/** A section of the side bar (or the menu, on a phone). */
async function nav(p: Page, name: string): Promise<void> {
  await p.locator('nav#nav').getByRole('link', { name, exact: true }).click();
}
async function title(p: Page): Promise<string> {
  return ((await p.getByRole('heading', { level: 1 }).textContent()) ?? '').trim();
}

/**
 * Shoots the screen in en and pt-BR (switching with the page's own
 * language buttons), with the layout, axe and translation checks.
 */
async function look(p: Page, name: string, o: { ready?: string; show?: string; width?: number; height?: number; reopen?: () => Promise<void> } = {}): Promise<void> {
  const seen: Record<string, string[]> = {};
  const size = `${o.width ?? p.viewportSize()!.width}x${o.height ?? p.viewportSize()!.height}`;
  const was = await p.getAttribute('html', 'lang');
  const switchTo = async (button: string) => {
    // A modal dialog makes the page behind it inert: close it, switch, open it again.
    if (o.reopen && (await p.locator('dialog[open]').count())) {
      await p.keyboard.press('Escape');
      await p.getByRole('button', { name: button, exact: true }).click();
      await o.reopen();
    } else await p.getByRole('button', { name: button, exact: true }).click();
  };
  for (const [lang, button] of [['en', 'English'], ['pt-BR', 'Português']] as const) {
    await switchTo(button);
    await p.waitForFunction((l) => document.documentElement.lang === l, lang);
    if (o.ready) await p.waitForSelector(o.ready);
    if (o.show) await p.locator(o.show).first().scrollIntoViewIfNeeded();
    await p.evaluate(() => document.fonts.ready.then(() => undefined));
    await p.screenshot({ path: join(ARTIFACTS, `${name}.${lang}.${size}.png`), animations: 'disabled' });
    expect(await layoutProblems(p, { bodyMayScroll: true }), `${name} ${lang}`).toEqual([]);
    expect(await axeViolations(p), `${name} ${lang}`).toEqual([]);
    seen[lang] = await texts(p);
  }
  const pt = new Set(seen['pt-BR']);
  expect(seen.en!.filter((t) => pt.has(t) && !SAME_IN_BOTH.has(t)), `${name}: the same in en and pt-BR`).toEqual([]);
  if (was === 'en') await switchTo('English');
}

async function until<T>(what: string, get: () => T | undefined | false, ms = 60_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = get();
    if (v) return v;
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const holds: { release(): void }[] = [];

/** Holds the server's blob PUTs (`put`) or the opening of blobs to read (`open`) until released; the real method runs after. */
function holdBlobs(kind: 'put' | 'open') {
  const blobs = server.srv.services.blobs as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
  const real = blobs[kind]!.bind(blobs);
  let release!: () => void;
  let reached!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const hit = new Promise<void>((r) => (reached = r));
  blobs[kind] = async (...a: unknown[]) => {
    reached();
    await gate;
    return real(...a);
  };
  const h = {
    hit,
    release() {
      blobs[kind] = real;
      release();
    },
  };
  holds.push(h);
  return h;
}

/** Regular files' bytes below `dir`. */
function bytesBelow(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) n += bytesBelow(p);
    else if (e.isFile()) n += statSync(p).size;
  }
  return n;
}

const state = (p: AppPerson) => p.session.state();
const CONFIG = '[snapshot]\nhostname = "ana-laptop"\ncategories = ["system", "repos", "secrets", "files"]\n\n[repos]\nroots = ["~/dev"]\n';

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'ks-e2e-app-'));
  rmSync(ARTIFACTS, { recursive: true, force: true });
  mkdirSync(ARTIFACTS, { recursive: true });
  buildApp(BUILD);
  server = await flowServer(join(work, 'main'), { quotaBytes: QUOTA });
  seeded = await seedFlow(server.srv, join(work, 'main'));
  await server.srv.addUser('bia', 'bia-password-1');
  ana = await appPerson({ server: server.url, dir: join(work, 'ana'), home: seeded.fixtureHome, root: join(work, 'main', 'fixture', 'root'), appDir: BUILD, config: CONFIG });
  bia = await appPerson({ server: server.url, dir: join(work, 'bia'), home: join(work, 'bia-home'), appDir: BUILD });
  browser = await launchChromium();
  page = await personPage({ lang: 'en' });
  errors = watchErrors(page, 'ana');
}, 240_000);

afterAll(async () => {
  for (const h of holds) h.release();
  for (const c of contexts) await c.close().catch(() => {});
  await browser?.close();
  await ana?.close();
  await bia?.close();
  await server?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('the Backup app, end to end', () => {
  it('signs in through the provider’s pages on a phone (QR and code) and sets up with the vault passphrase', async () => {
    await page.goto(ana.url('en'));
    await onScreen(page, 'signin');
    expect(await title(page)).toBe('Back up this computer with Koder ID');
    await look(page, '01-signin');
    await page.getByRole('button', { name: 'Sign in with Koder ID' }).click();
    await page.locator('.user-code').waitFor();
    const login = (state(ana).account as Extract<AppState['account'], { state: 'signing-in' }>).login!;
    expect(await page.locator('.user-code').textContent()).toBe(login.userCode);
    // The QR holds the complete link; "open on this computer" opens the same link in a new tab.
    const code = qrRows(login.verificationUriComplete);
    expect(await readQrModules(page, 'img.qr', code.size)).toEqual(code.rows);
    const here = page.getByRole('link', { name: 'Open on this computer' });
    expect(await here.getAttribute('href')).toBe(login.verificationUriComplete);
    expect(await here.getAttribute('target')).toBe('_blank');
    await look(page, '02-signin-code', { ready: '.user-code' });

    const phone = await approveOnPhone(browser, login.verificationUriComplete, { user: DEMO_USER, password: DEMO_PASSWORD, locale: 'pt-BR' });
    contexts.push(phone.context);
    expect(phone.shownCode.replace(/\s/g, '')).toBe(login.userCode.replace(/\s/g, ''));
    await onScreen(page, 'setup');
    expect(await title(page)).toBe('Set up this computer');
    await look(page, '03-setup-fetch');
    await page.getByLabel('Vault passphrase').fill('not the passphrase');
    await page.getByRole('button', { name: 'Set up', exact: true }).click();
    await page.getByRole('alert').filter({ hasText: 'does not open your key vault' }).waitFor({ timeout: 30_000 });
    await page.getByLabel('Vault passphrase').fill(DEMO_PASSPHRASE);
    await page.getByRole('button', { name: 'Set up', exact: true }).click();
    await onScreen(page, 'overview', 30_000);
    expect(state(ana).keys.state).toBe('ready');
    // The identity is on this computer now (0600), as `koder-snapshot init` leaves it.
    const identity = join(ana.env.XDG_CONFIG_HOME!, 'koder-snapshot', 'identity');
    expect(readdirSync(identity).length).toBeGreaterThan(0);
    await page.locator('.tile').first().waitFor();
    // Storage: what the server counts against the quota, as a bar and in words.
    const storage = page.locator('section[aria-labelledby="tile-storage"]');
    await storage.getByRole('progressbar').waitFor();
    expect(await storage.locator('p').textContent()).toBe(`${formatBytes(await server.srv.services.quota.used(seeded.userId), 'en')} used of ${formatBytes(QUOTA, 'en')}`);
    await look(page, '04-overview', { ready: '.tile .size' });
  }, 120_000);

  let newest = '';
  it('backs up now: live progress per collector and folder, cancel; again: the result with what was left out; the snapshot with its real sizes', async () => {
    const home = ana.home;
    // New work since the seeded snapshots (so chunks go up), and a FIFO the backup leaves out.
    writeFileSync(join(home, 'Documentos', 'ata-da-reuniao.bin'), createHash('sha512').update('ata').digest().toString('hex').repeat(4000));
    execFileSync('mkfifo', [join(home, 'Documentos', 'um-cano')]);

    const held = holdBlobs('put');
    await page.getByRole('button', { name: 'Back up now' }).click();
    await onScreen(page, 'backup');
    await held.hit;
    await page.getByRole('progressbar', { name: 'Overall' }).waitFor();
    await page.locator('.row-bar').first().waitFor();
    expect(await page.getByRole('heading', { name: 'Folders' }).count()).toBe(1);
    const docs = page.locator('.row-bar', { hasText: '~/Documentos' });
    await expect.poll(() => docs.locator('.row-detail').textContent()).toMatch(/ of /);
    await look(page, '05-backup-progress', { ready: '.row-bar' });
    await page.getByRole('button', { name: 'Cancel the backup' }).click();
    held.release();
    await page.getByText('The backup was cancelled').waitFor({ timeout: 30_000 });
    expect(state(ana).backup?.state).toBe('cancelled');
    await look(page, '06-backup-cancelled');

    await page.getByRole('button', { name: 'Back up now' }).click();
    await page.getByText('Backed up, but').waitFor({ timeout: 120_000 });
    const result = state(ana).backup!.result!;
    newest = result.id;
    expect(result.warnings.some((w) => w.includes('um-cano') && /FIFO/.test(w))).toBe(true);
    expect(await page.locator('.warnings li').allTextContents()).toEqual(result.warnings);
    await look(page, '07-backup-done');

    // The new snapshot, first in the list, with its folders' real sizes (the FIFO not counted).
    await nav(page, 'Snapshots');
    await onScreen(page, 'snapshots');
    const first = page.locator('.card').first();
    expect(await first.getAttribute('data-snapshot')).toBe(newest);
    await first.click();
    await onScreen(page, 'snapshot');
    const sizes = Object.fromEntries(result.folders.map((f) => [f.label, f.size]));
    expect(sizes['~/Documentos']).toBe(bytesBelow(join(home, 'Documentos')));
    expect(sizes['~/Imagens']).toBe(bytesBelow(join(home, 'Imagens')));
    const row = page.locator('.holds .row', { hasText: '~/Documentos' });
    expect(await row.locator('.size').textContent()).toBe(formatBytes(sizes['~/Documentos']!, 'en'));
    rmSync(join(home, 'Documentos', 'um-cano'));
    // The overview says how the last backup went.
    await nav(page, 'Overview');
    await page.getByText(/Completed, but 1 thing was left out/).waitFor();
  }, 240_000);

  it('the schedule: weekly on (files written, the next Monday, what finishes the job), what to include into config.toml, off again', async () => {
    await nav(page, 'Schedule');
    await onScreen(page, 'schedule');
    await look(page, '08-schedule', { ready: '.switch' });
    const sw = page.getByRole('switch', { name: 'Back up every week' });
    expect(await sw.getAttribute('aria-checked')).toBe('false');
    await sw.click();
    await expect.poll(() => sw.getAttribute('aria-checked')).toBe('true');
    const units = join(ana.env.XDG_CONFIG_HOME!, 'systemd', 'user');
    expect(existsSync(join(units, TIMER_NAME))).toBe(true);
    await page.getByText('systemctl --user enable --now koder-snapshot-capture.timer').waitFor();
    expect(await page.locator('#weekly-state').textContent()).toMatch(/^Next: .*Mon|^Next: /);
    await look(page, '09-schedule-on');

    // What to include: no system settings, one more folder, one more pattern.
    await page.getByRole('checkbox', { name: 'System settings' }).uncheck();
    await page.getByRole('textbox', { name: 'Add to: Folders' }).fill('~/Projetos');
    await page.getByRole('textbox', { name: 'Add to: Folders' }).press('Enter');
    await page.getByRole('textbox', { name: 'Add to: Leave out' }).fill('*.iso');
    await page.getByRole('button', { name: 'Add', exact: true }).nth(1).click();
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await page.getByText('Saved: the next backup uses it.').waitFor();
    const toml = readFileSync(join(ana.env.XDG_CONFIG_HOME!, 'koder-snapshot', 'config.toml'), 'utf8');
    expect(toml).toMatch(/categories = \[ "repos", "secrets", "files" \]/);
    expect(toml).toMatch(/"~\/Projetos"/);
    expect(toml).toMatch(/"\*\.iso"/);
    expect(toml).toMatch(/hostname = "ana-laptop"/);
    await page.getByText('The configuration in effect').click();
    expect(await page.locator('pre.toml').textContent()).toMatch(/"~\/Projetos"/);
    await look(page, '10-schedule-include', { ready: 'pre.toml' });

    await sw.click();
    await expect.poll(() => sw.getAttribute('aria-checked')).toBe('false');
    expect(existsSync(join(units, TIMER_NAME))).toBe(false);
  }, 60_000);

  it('browses a v2 snapshot and restores one file into ~/Restored <date>/, byte for byte (progress, then the result)', async () => {
    const newestSeeded = seeded.ids[seeded.ids.length - 1]!;
    await page.goto(`${ana.daemon.origin}/?lang=en#/snapshots/${newestSeeded}`);
    await onScreen(page, 'snapshot');
    await page.locator('.holds').waitFor();
    await look(page, '11-snapshot', { ready: '.sharing' });
    await page.getByRole('link', { name: 'Browse files' }).click();
    await onScreen(page, 'files');
    await page.locator('.files').waitFor();
    await look(page, '12-browse-folders', { ready: '.files' });
    await page.getByRole('link', { name: '~/Documentos' }).click();
    await page.getByRole('link', { name: 'contas' }).click();
    await page.getByRole('checkbox', { name: 'Choose orcamento-2026.csv' }).check();
    await page.getByText('1 item chosen').waitFor();
    await look(page, '13-browse-chosen', { ready: '.files' });

    const held = holdBlobs('open');
    await page.getByRole('button', { name: 'Restore', exact: true }).click();
    await onScreen(page, 'restore');
    await held.hit;
    await page.locator('.row-bar').first().waitFor();
    await look(page, '14-restore-progress', { ready: '.row-bar' });
    held.release();
    await page.locator('.callout', { hasText: 'Restored into' }).waitFor({ timeout: 30_000 });
    const into = restoredFolderName(new Date());
    expect(await page.locator('.callout .mono').textContent()).toBe(`~/${into}`);
    const restored = join(ana.home, into, 'Documentos', 'contas', 'orcamento-2026.csv');
    expect(readFileSync(restored).equals(readFileSync(join(ana.home, 'Documentos', 'contas', 'orcamento-2026.csv')))).toBe(true);
    expect(readdirSync(join(ana.home, into, 'Documentos'))).toEqual(['contas']);
    await look(page, '15-restore-done');
  }, 90_000);

  it('deletes the new snapshot: the dialog says what it frees, which is what the server’s usage drops by', async () => {
    const before = await server.srv.services.quota.used(seeded.userId);
    await page.goto(`${ana.daemon.origin}/?lang=en#/snapshots/${newest}`);
    await onScreen(page, 'snapshot');
    await page.getByRole('button', { name: 'Delete', exact: true }).click();
    const dialog = page.getByRole('dialog', { name: 'Delete this snapshot?' });
    await dialog.getByText(/Deleting it frees/).waitFor();
    await look(page, '16-delete-dialog', {
      ready: 'dialog p',
      reopen: async () => {
        await page.getByRole('button', { name: /^(Delete|Apagar)$/ }).first().click();
        await page.locator('dialog[open] p').first().waitFor();
      },
    });
    const said = (await dialog.getByText(/Deleting it frees/).textContent())!;
    await dialog.getByRole('button', { name: 'Delete', exact: true }).click();
    await onScreen(page, 'snapshots');
    const after = await server.srv.services.quota.used(seeded.userId);
    const plan = { frees: before - after };
    expect(plan.frees).toBeGreaterThan(0);
    // The dialog's figure, as it shows sizes.
    expect(said).toContain(formatBytes(plan.frees, 'en'));
    expect(await page.locator(`[data-snapshot="${newest}"]`).count()).toBe(0);
    await look(page, '17-snapshots', { ready: '.card' });
  }, 60_000);

  let biaPage: Page;
  let shared = '';
  it('shares with a second user, who signed in with “open on this computer”: they find it under Shared with me and open its files; revoked, it is gone (404 for them)', async () => {
    biaPage = await personPage({ lang: 'pt-BR' });
    const biaErrors = watchErrors(biaPage, 'bia');
    await biaPage.goto(bia.url());
    await onScreen(biaPage, 'signin');
    expect(await biaPage.getAttribute('html', 'lang')).toBe('pt-BR');
    await biaPage.getByRole('button', { name: 'Entrar com o Koder ID' }).click();
    const [tab] = await Promise.all([biaPage.context().waitForEvent('page'), biaPage.getByRole('link', { name: 'Abrir neste computador' }).click()]);
    await tab.getByRole('heading', { name: 'Este dispositivo é seu?' }).waitFor({ timeout: 15_000 });
    await tab.getByRole('button', { name: 'Continuar' }).click();
    await tab.getByLabel('Nome de usuário').fill('bia');
    await tab.getByLabel('Senha').fill('bia-password-1');
    await tab.getByRole('button', { name: 'Entrar' }).click();
    await tab.getByRole('button', { name: 'Permitir' }).click();
    await tab.getByRole('heading', { name: 'Dispositivo conectado' }).waitFor();
    await tab.close();
    await onScreen(biaPage, 'setup');
    expect(await title(biaPage)).toBe('Configure seus backups');
    await look(biaPage, '18-setup-create');
    await biaPage.getByLabel('Nova frase-senha', { exact: true }).fill(BIA_PASSPHRASE);
    await biaPage.getByLabel('Digite a nova frase-senha de novo').fill(BIA_PASSPHRASE);
    await biaPage.getByRole('button', { name: 'Criar minhas chaves' }).click();
    await onScreen(biaPage, 'recovery', 30_000);
    const key = (await biaPage.locator('.recovery-key').textContent())!;
    expect(key).toMatch(/^([0-9A-Z]{4}-){7}[0-9A-Z]{4}$/);
    await look(biaPage, '19-setup-recovery-key', { ready: '.recovery-key' });
    await biaPage.getByRole('button', { name: 'Já guardei' }).click();
    await onScreen(biaPage, 'overview');
    await nav(biaPage, 'Chaves');
    const biaPrint = (await biaPage.locator('.fingerprint').textContent())!;
    expect(biaPrint).toBe(state(bia).keys.fingerprint);

    // Ana shares the newest seeded snapshot with bia, comparing bia's key.
    shared = seeded.ids[seeded.ids.length - 1]!;
    await page.goto(`${ana.daemon.origin}/?lang=en#/snapshots/${shared}`);
    await onScreen(page, 'snapshot');
    await page.getByText('Not shared with anyone.').waitFor();
    await page.getByLabel('Share with (Koder ID user name)').fill('nobody-here');
    await page.getByRole('button', { name: 'Look up' }).click();
    await page.getByText('There is no Koder ID user with that name.').waitFor();
    await page.getByLabel('Share with (Koder ID user name)').fill('bia');
    await page.getByRole('button', { name: 'Look up' }).click();
    expect(await page.locator('.sharing .fingerprint').textContent()).toBe(biaPrint);
    await look(page, '20-share-lookup', { ready: '.sharing .fingerprint', show: '.sharing .found' });
    await page.getByRole('button', { name: 'Share with bia' }).click();
    await page.getByText('Shared with bia.').waitFor();
    await page.locator('.sharing .row', { hasText: 'bia' }).waitFor();
    await look(page, '21-shared', { ready: '.sharing .row', show: '.sharing .callout' });

    // Bia finds it, opens it, and reads a file of it (its folders open with the keys the share sealed to her).
    await nav(biaPage, 'Compartilhados comigo');
    await onScreen(biaPage, 'shared');
    const card = biaPage.locator(`[data-snapshot="${shared}"]`);
    await card.waitFor();
    expect(await card.textContent()).toContain('demo');
    await look(biaPage, '22-shared-with-me', { ready: '.card .card-counts' });
    await card.click();
    await onScreen(biaPage, 'snapshot');
    await biaPage.getByRole('link', { name: 'Ver arquivos' }).click();
    await biaPage.getByRole('link', { name: '~/Documentos' }).click();
    await biaPage.getByRole('checkbox', { name: 'Escolher leia-me.txt' }).check();
    await biaPage.getByRole('button', { name: 'Restaurar', exact: true }).click();
    await biaPage.locator('.callout', { hasText: 'Restaurado em' }).waitFor({ timeout: 30_000 });
    const got = join(bia.home, restoredFolderName(new Date()), 'Documentos', 'leia-me.txt');
    expect(readFileSync(got).equals(readFileSync(join(ana.home, 'Documentos', 'leia-me.txt')))).toBe(true);

    // Revoked: gone from bia's list, and the snapshot answers 404 to her.
    await page.getByRole('button', { name: 'Stop sharing bia' }).click();
    await page.getByText('Not shared with anyone.').waitFor();
    // At once, before her list is read again: the folder she just browsed answers 404 (nothing of a share is kept to browse on).
    const inside = await biaPage.evaluate(async (id) => (await fetch(`/api/app/snapshots/${id}/files?path=${encodeURIComponent('~/Documentos')}`)).status, shared);
    expect(inside).toBe(404);
    await nav(biaPage, 'Compartilhados comigo');
    await biaPage.getByText('Ninguém compartilhou um snapshot com você.').waitFor();
    await look(biaPage, '23-shared-with-me-empty');
    const status = await biaPage.evaluate(async (id) => (await fetch(`/api/app/snapshots/${id}`)).status, shared);
    expect(status).toBe(404);
    await biaPage.goto(`${bia.daemon.origin}/#/snapshots/${shared}`);
    await biaPage.getByText('Este snapshot não existe mais').waitFor();
    expect(biaErrors).toEqual([]);
  }, 180_000);

  it('changes the passphrase; secrets restore with the new one, the old one is refused', async () => {
    await nav(page, 'Keys');
    await onScreen(page, 'keys');
    expect(await page.locator('.fingerprint').textContent()).toBe(state(ana).keys.fingerprint);
    await look(page, '24-keys', { ready: '.fingerprint' });
    await page.getByLabel('Current passphrase').fill(DEMO_PASSPHRASE);
    await page.getByLabel('New passphrase', { exact: true }).fill(NEW_PASSPHRASE);
    await page.getByLabel('Type the new passphrase again').fill(NEW_PASSPHRASE);
    await page.getByRole('button', { name: 'Change the passphrase' }).click();
    await page.getByText('Changed: use the new passphrase').waitFor({ timeout: 30_000 });
    await look(page, '25-passphrase-changed');

    // A restore of the secrets (the real applier, into a scratch root) with the new passphrase; the old one refused.
    const client = await ana.session.client();
    const stored = (await client.getVault())!.doc as Parameters<typeof openVault>[0];
    await expect(openVault(stored, { passphrase: DEMO_PASSPHRASE })).rejects.toMatchObject({ code: 'wrong_secret' });
    const identity = await openVault(stored, { passphrase: NEW_PASSPHRASE });
    const keys = (await client.getKeys()).map((k) => new Uint8Array(Buffer.from(k.ed25519, 'base64')));
    const { folded } = await resolveChain(seeded.ids[seeded.ids.length - 1]!, (id) => client.getManifest(id), keys);
    const root = join(work, 'secrets-target');
    mkdirSync(join(root, 'etc'), { recursive: true });
    mkdirSync(join(root, 'home', 'ana'), { recursive: true });
    writeFileSync(join(root, 'etc', 'passwd'), `root:x:0:0:root:/root:/bin/sh\nana:x:${process.getuid!()}:${process.getgid!()}:Ana:/home/ana:/bin/bash\n`);
    const target = await resolveTarget(root, 'ana');
    const ctx = applyContext({ target, manifest: folded, choice: { categories: ['secrets'] }, identity });
    const step = ctx.plan.steps.find((s) => s.kind === 'secrets.restore')!;
    expect((await applySecrets(step, ctx, () => {})).status).toBe('done');
    expect(readFileSync(join(root, 'home/ana/.ssh/id_ed25519')).equals(readFileSync(join(ana.home, '.ssh/id_ed25519')))).toBe(true);
  }, 90_000);

  it('makes a new recovery key (shown once, its QR, a printable sheet): it opens the vault, the previous one no longer does', async () => {
    const make = async () => {
      await page.getByLabel('Vault passphrase').fill(NEW_PASSPHRASE);
      await page.getByRole('button', { name: 'Make a new recovery key' }).click();
      await page.locator('.recovery-key').waitFor({ timeout: 30_000 });
      return (await page.locator('.recovery-key').textContent())!;
    };
    const first = await make();
    await page.getByRole('button', { name: 'I have saved it' }).click();
    const second = await make();
    expect(second).not.toBe(first);
    const code = qrRows(second);
    expect(await readQrModules(page, '.recovery img.qr', code.size)).toEqual(code.rows);
    await page.getByText('Your old recovery key no longer works.').waitFor();
    await look(page, '26-recovery-key', { ready: '.recovery-key' });
    await page.emulateMedia({ media: 'print' });
    await page.screenshot({ path: join(ARTIFACTS, '27-recovery-print.en.1024x600.png') });
    expect(await page.locator('.recovery-key').isVisible()).toBe(true);
    expect(await page.locator('nav#nav').isVisible()).toBe(false);
    expect(await page.locator('#pass-current').isVisible()).toBe(false);
    await page.emulateMedia({ media: 'screen' });
    await page.getByRole('button', { name: 'Português', exact: true }).click();
    await page.emulateMedia({ media: 'print' });
    await page.screenshot({ path: join(ARTIFACTS, '27-recovery-print.pt-BR.1024x600.png') });
    await page.emulateMedia({ media: 'screen' });
    await page.getByRole('button', { name: 'English', exact: true }).click();
    const stored = (await (await ana.session.client()).getVault())!.doc as Parameters<typeof openVault>[0];
    await expect(openVault(stored, { recoveryKey: second })).resolves.toMatchObject({ keyId: state(ana).keys.keyId });
    await expect(openVault(stored, { recoveryKey: first })).rejects.toMatchObject({ code: 'wrong_secret' });
  }, 90_000);

  it('deletes the account: the 24 h grace counts down (here and in a banner), cancelled; the audit log; sign out', async () => {
    await nav(page, 'Account');
    await onScreen(page, 'account');
    await page.locator('.audit li').first().waitFor();
    const actions = await page.locator('.audit-what').allTextContents();
    expect(actions).toEqual(expect.arrayContaining(['Snapshot shared', 'Key vault changed', 'Snapshot saved', 'Snapshot deleted']));
    await look(page, '28-account', { ready: '.audit li' });
    await page.getByRole('button', { name: 'Delete my account' }).click();
    const dialog = page.getByRole('dialog', { name: 'Delete your account?' });
    const confirm = dialog.getByRole('button', { name: 'Delete my account' });
    expect(await confirm.isDisabled()).toBe(true);
    await dialog.getByLabel(/To confirm, type your user name/).fill(DEMO_USER);
    await look(page, '29-erase-dialog', {
      ready: 'dialog input',
      reopen: async () => {
        await page.getByRole('button', { name: /^(Delete my account|Excluir minha conta)$/ }).click();
        await page.locator('dialog[open] input').fill(DEMO_USER);
      },
    });
    await confirm.click();
    await page.locator('.danger-zone .countdown').waitFor();
    const a = (await page.locator('.danger-zone .countdown').textContent())!;
    expect(a).toMatch(/^23:59:[0-5]\d$|^24:00:00$/);
    await expect.poll(() => page.locator('.danger-zone .countdown').textContent(), { timeout: 5000 }).not.toBe(a);
    expect(await page.locator('.banner-bad').textContent()).toMatch(/Your account will be erased in 2[34]:/);
    expect((await (await ana.session.client()).me()).erase_after).toBeGreaterThan(Date.now() + 23 * 3600_000);
    await look(page, '30-erase-pending', { ready: '.danger-zone .countdown' });
    await page.getByRole('button', { name: 'Cancel the deletion' }).click();
    await page.getByRole('button', { name: 'Delete my account' }).waitFor();
    expect(await page.locator('.banner-bad').count()).toBe(0);
    expect((await (await ana.session.client()).me()).erase_after).toBeNull();

    await page.getByRole('button', { name: 'Sign out' }).click();
    await onScreen(page, 'signin');
    expect(readdirSync(join(ana.env.XDG_CONFIG_HOME!, 'koder-snapshot', 'tokens'))).toEqual([]);
    expect(errors).toEqual([]);
  }, 90_000);

  it('fits a phone-width window (390×844): the menu, the overview, a snapshot, its files, the keys', async () => {
    const phone = await personPage({ lang: 'en', width: 390, height: 844 });
    const phoneErrors = watchErrors(phone, 'phone');
    await phone.goto(bia.url('en'));
    await onScreen(phone, 'overview');
    await look(phone, '31-phone-overview', { ready: '.tile' });
    await phone.getByRole('button', { name: 'Menu' }).click();
    await phone.getByRole('link', { name: 'Keys' }).waitFor();
    await look(phone, '32-phone-menu', { ready: 'nav.open' });
    await nav(phone, 'Keys');
    await onScreen(phone, 'keys');
    await expect.poll(() => phone.locator('nav#nav').isVisible()).toBe(false);
    await look(phone, '33-phone-keys', { ready: '.fingerprint' });
    await phone.goto(`${bia.daemon.origin}/?lang=en#/account`);
    await onScreen(phone, 'account');
    await look(phone, '34-phone-account', { ready: '.audit li' });
    expect(phoneErrors).toEqual([]);
  }, 90_000);

  it('works with the keyboard only: sign in, a snapshot, its files, a file chosen and restored in place, a dialog opened and closed with Escape', async () => {
    const kb = await personPage({ lang: 'en' });
    const kbErrors = watchErrors(kb, 'keyboard');
    await kb.goto(ana.url('en'));
    await onScreen(kb, 'signin');
    await tabTo(kb, named('Sign in with Koder ID'), 'the sign-in button');
    await kb.keyboard.press('Enter');
    await kb.locator('.user-code').waitFor();
    const login = (state(ana).account as Extract<AppState['account'], { state: 'signing-in' }>).login!;
    const phone = await approveOnPhone(browser, login.verificationUriComplete, { user: DEMO_USER, password: DEMO_PASSWORD, locale: 'en-US' });
    contexts.push(phone.context);
    await onScreen(kb, 'overview'); // the keys stayed on this computer: no setup again

    const leia = join(ana.home, 'Documentos', 'leia-me.txt');
    const original = readFileSync(leia);
    writeFileSync(leia, 'changed after every snapshot\n');
    const snapshot = seeded.ids[seeded.ids.length - 1]!;
    await tabTo(kb, named('Snapshots'), 'Snapshots in the side bar');
    await kb.keyboard.press('Enter');
    await onScreen(kb, 'snapshots');
    await kb.locator(`[data-snapshot="${snapshot}"]`).waitFor();
    await tabTo(kb, (f) => f.snapshot === snapshot, 'the snapshot’s card');
    await kb.keyboard.press('Enter');
    await onScreen(kb, 'snapshot');
    await kb.locator('.holds').waitFor();
    await tabTo(kb, named('Browse files'), 'Browse files');
    await kb.keyboard.press('Enter');
    await onScreen(kb, 'files');
    await kb.locator('.files').waitFor();
    await tabTo(kb, named('~/Documentos'), 'the folder');
    await kb.keyboard.press('Enter');
    await kb.getByRole('checkbox', { name: 'Choose leia-me.txt' }).waitFor();
    await tabTo(kb, named('Choose leia-me.txt'), 'the file’s checkbox');
    await kb.keyboard.press('Space');
    await kb.getByText('1 item chosen').waitFor();
    await tabTo(kb, (f) => f.tag === 'input' && f.name === '', 'the first restore option');
    await kb.keyboard.press('ArrowDown');
    expect(await kb.getByRole('radio', { name: /Where they were/ }).isChecked()).toBe(true);
    await tabTo(kb, named('Restore'), 'Restore');
    await kb.keyboard.press('Enter');
    await onScreen(kb, 'restore');
    await kb.getByText('Restored where they were.').waitFor({ timeout: 30_000 });
    expect(readFileSync(leia).equals(original)).toBe(true);
    expect(readFileSync(`${leia}.pre-restore`, 'utf8')).toBe('changed after every snapshot\n');
    expect(await kb.locator('.row-result .details').textContent()).toBe('What was there was different: kept as ~/Documentos/leia-me.txt.pre-restore');
    expect(state(ana).restore!.result!.items).toEqual([{ path: '~/Documentos/leia-me.txt', status: 'done', kept: ['~/Documentos/leia-me.txt.pre-restore'] }]);
    await look(kb, '35-restore-in-place', { ready: '.row-result' });

    // A dialog: opened with Enter, focus inside it, closed with Escape.
    await tabTo(kb, named('Account'), 'Account in the side bar');
    await kb.keyboard.press('Enter');
    await onScreen(kb, 'account');
    await tabTo(kb, named('Delete my account'), 'Delete my account');
    await kb.keyboard.press('Enter');
    await kb.getByRole('dialog', { name: 'Delete your account?' }).waitFor();
    expect(await kb.evaluate(() => Boolean(document.activeElement?.closest('dialog')))).toBe(true);
    await kb.keyboard.press('Escape');
    await expect.poll(() => kb.locator('dialog[open]').count()).toBe(0);
    expect((await (await ana.session.client()).me()).erase_after).toBeNull();
    expect(kbErrors).toEqual([]);
  }, 120_000);
});
