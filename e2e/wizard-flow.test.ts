/**
 * The installer wizard end to end in Chromium, with real parts only: the
 * reference server (real device flow, real provider pages), the demo user
 * and its captured, signed snapshot chain (what `npm start` seeds), the real
 * daemon (RestoreSession with its real actors + startDaemon) serving a
 * private wizard build, and npm start's scratch target — a real Debian
 * bookworm minbase root with the user ana (useradd) — into which CONFIRM
 * restores (standalone mode).
 *
 * Context A is the installer's page; context B is the phone that opens the
 * QR code's link and approves the sign-in on the provider's pages. Driven by
 * accessible names (roles, labels, button names) in en and pt-BR.
 *
 * Categories are restricted to repos + secrets + files in the happy path
 * (so the hostname, a system setting, is not written): apt and locale-gen in a chroot take
 * minutes and have their own e2e (e2e/restore.test.ts); here the point is the
 * wizard ↔ daemon ↔ server flow ending with files in the target.
 *
 * Screenshots of every real screen: e2e/artifacts/flow/.
 */
import { lstatSync, mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { DEMO_PASSPHRASE, DEMO_PASSWORD, DEMO_USER } from '../src/cli/demo/seed.ts';
import type { UiState } from '../src/daemon/ui-state.ts';
import { CLIENT_ID, sqliteHandleOf } from '../src/server/index.ts';
import { contentTree as tree } from '../test/helpers/tree-state.ts';
import { makeScratchRoot, type ScratchRoot } from '../src/cli/demo/scratch-root.ts';
import { ROOT, buildWizard, flowDaemon, flowServer, holdStep, seedFlow, type FlowDaemon, type FlowServer } from './helpers/stack.ts';
import { approveOnPhone, daemonState, launchChromium, onScreen, qrRows, readQrModules, recordScreens, shooter, watchErrors } from './helpers/browser.ts';

const ARTIFACTS = resolve(ROOT, 'e2e/artifacts/flow');
/** A private build: other suites build or serve dist/wizard and .cache/wizard-e2e at the same time. */
const BUILD = resolve(ROOT, '.cache/wizard-flow');

let work: string;
let browser: Browser;
const contexts: BrowserContext[] = [];
const { shot } = shooter(ARTIFACTS);

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'ks-e2e-flow-'));
  rmSync(ARTIFACTS, { recursive: true, force: true });
  buildWizard(BUILD);
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  for (const c of contexts) await c.close().catch(() => {});
  await browser?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

async function installerPage(o: { lang: 'en' | 'pt-BR'; width: number; height: number }): Promise<Page> {
  const ctx = await browser.newContext({ viewport: { width: o.width, height: o.height }, locale: o.lang === 'en' ? 'en-US' : 'pt-BR', timezoneId: 'America/Sao_Paulo', reducedMotion: 'reduce' });
  contexts.push(ctx);
  return ctx.newPage();
}

/** The QR shown by the wizard holds `link`: its modules, read from the rendered pixels, are the symbol of `link`. */
async function expectQrHolds(page: Page, link: string) {
  const want = qrRows(link);
  expect(await readQrModules(page, 'img.qr', want.size)).toEqual(want.rows);
}

/** Waits for `p`, or fails after `ms` saying what was going on. */
async function within<T>(p: Promise<T>, ms: number, what: () => Promise<string>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => void what().then((w) => reject(new Error(w)), reject), ms)));
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** The screen's title (h1), polled: on failure the message says which screen it was. */
async function expectTitle(page: Page, title: string) {
  await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent(), { timeout: 10_000 }).toBe(title);
}

/** The buttons in the screen (not the header's language switch). */
const mainButtons = (page: Page) => page.locator('main').getByRole('button').allTextContents();

// ── Expired code (pt-BR, 800×600) ──────────────────────────────────────────

describe('an expired sign-in code', () => {
  /** Seconds a code lives: short, yet long enough to look at the new code before it expires too. */
  const TTL = 8;
  let server: FlowServer;
  let d: FlowDaemon;

  beforeAll(async () => {
    server = await flowServer(join(work, 'expiring'), { deviceCodeTtl: TTL });
    d = await flowDaemon({ server: server.url, dir: join(work, 'expiring-daemon'), wizardDir: BUILD });
  }, 60_000);
  afterAll(async () => {
    await d?.close();
    await server?.close();
  });

  it('expires on the login screen; “new code” gets a new code and QR; the provider says the old one expired', async () => {
    // A device of our own, to ask the token endpoint about an expired code directly.
    const disco = (await fetch(`${server.url}/.well-known/openid-configuration`).then((r) => r.json())) as { device_authorization_endpoint: string; token_endpoint: string };
    const other = (await fetch(disco.device_authorization_endpoint, { method: 'POST', body: new URLSearchParams({ client_id: CLIENT_ID, scope: 'openid' }) }).then((r) => r.json())) as { device_code: string };
    expect(other.device_code).toBeTruthy();

    const page = await installerPage({ lang: 'pt-BR', width: 800, height: 600 });
    const errors = watchErrors(page, 'expired');
    await page.goto(d.url);
    await onScreen(page, 'welcome');
    expect(await page.getAttribute('html', 'lang')).toBe('pt-BR');
    await page.getByRole('button', { name: 'Restaurar do Koder ID' }).click();
    await onScreen(page, 'login');
    await page.getByRole('img', { name: /Código QR/ }).waitFor();
    await page.locator('.user-code').waitFor();
    const first = (await daemonState<UiState>(page)).login!;
    await expect.poll(() => page.locator('.user-code').textContent()).toBe(first.userCode);
    await shot(page, 'x1-login.pt-BR.800x600');

    // The server's code lives TTL seconds: the daemon's poll hears expired_token.
    await onScreen(page, 'login-failed', 20_000);
    await expectTitle(page, 'O código expirou');
    expect(await mainButtons(page)).toEqual(['Gerar um novo código']);
    expect((await daemonState<UiState>(page)).error?.code).toBe('EXPIRED');
    await shot(page, 'x2-login-expired.pt-BR.800x600');
    // RFC 8628: a code that ran out is expired_token (a device polling it right then must hear “expired”).
    const late = await fetch(disco.token_endpoint, { method: 'POST', body: new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:device_code', device_code: other.device_code, client_id: CLIENT_ID }) });
    expect(((await late.json()) as { error?: string }).error).toBe('expired_token');

    // Scanned too late, the provider's real page says the code expired (in the phone's language).
    const phone = await browser.newContext({ locale: 'pt-BR' });
    contexts.push(phone);
    const p = await phone.newPage();
    await p.goto(first.verificationUriComplete);
    await expect.poll(() => p.getByRole('alert').textContent(), { timeout: 10_000 }).toBe('Esse código expirou. Recomece no dispositivo para receber um novo.');
    expect(await p.getByRole('heading', { name: 'Este dispositivo é seu?' }).count()).toBe(0);

    await page.getByRole('button', { name: 'Gerar um novo código' }).click();
    await onScreen(page, 'login');
    await page.getByRole('img', { name: /Código QR/ }).waitFor();
    const second = (await daemonState<UiState>(page)).login!;
    expect(second.userCode).not.toBe(first.userCode);
    await expect.poll(() => page.locator('.user-code').textContent()).toBe(second.userCode);
    await expectQrHolds(page, second.verificationUriComplete);
    await shot(page, 'x3-login-new-code.pt-BR.800x600');
    expect(errors).toEqual([]);
  }, 60_000);
});

// ── The whole flow (en, 1280×800) ──────────────────────────────────────────

describe('the whole flow against the real daemon and server', () => {
  let server: FlowServer;
  let seeded: Awaited<ReturnType<typeof seedFlow>>;
  let target: ScratchRoot;
  let d: FlowDaemon;
  let page: Page;
  let errors: string[];
  let screens: () => Promise<string[]>;
  const held = holdStep('repo.restore');
  const newest = () => page.getByRole('button', { name: /ana-laptop/ }).first();
  let untamper = () => {};
  /** Reloads the wizard (it reads everything anew), keeping the record of the screens seen so far. */
  const reload = async () => {
    const before = await screens();
    await page.reload();
    const after = await recordScreens(page);
    screens = async () => [...before, ...(await after())];
  };

  beforeAll(async () => {
    // npm start's scratch target: the cached bookworm minbase root, on disk (no mount in the host's
    // namespace that other suites' mount-table checks would see), with ana created by useradd.
    const [s, t] = await Promise.all([flowServer(join(work, 'main')), makeScratchRoot(join(work, 'target'), 'ana', () => {})]);
    server = s;
    target = t;
    expect(target.kind, target.note).toBe('debian');
    seeded = await seedFlow(server.srv, join(work, 'main'));
    d = await flowDaemon({ server: server.url, dir: join(work, 'main-daemon'), wizardDir: BUILD, target: { root: target.root, user: 'ana' }, appliers: held.appliers, lang: 'en' });
    page = await installerPage({ lang: 'en', width: 1280, height: 800 });
    errors = watchErrors(page, 'flow');
  }, 180_000);
  afterAll(async () => {
    untamper();
    held.release();
    await d?.close();
    await server?.close();
  });

  it('welcome → login: the QR and the code; approved on the phone through the provider’s pages → the snapshot list', async () => {
    await page.goto(d.url);
    expect(new URL(page.url()).searchParams.has('token')).toBe(false); // traded for a cookie
    screens = await recordScreens(page);
    await onScreen(page, 'welcome');
    await expectTitle(page, 'Bring your setup back');
    await shot(page, '01-welcome');
    await page.getByRole('button', { name: 'Restore from Koder ID' }).click();

    await onScreen(page, 'login');
    await page.getByRole('img', { name: /QR code that opens the Koder ID sign-in page/ }).waitFor();
    const userCode = ((await page.getByText(/^[A-Z]{4}-[A-Z]{4}$/).textContent()) ?? '').trim();
    const shownUrl = ((await page.getByText(/^http:\/\/127\.0\.0\.1:\d+\/device$/).textContent()) ?? '').trim();
    expect(shownUrl).toBe(`${server.url}/device`);
    expect(await page.getByText(/The code expires in \d+:\d\d/).count()).toBe(1);
    // The login screen shows before the provider has answered with a code: wait for the code.
    await page.locator('.user-code').waitFor();
    const link = (await daemonState<UiState>(page)).login!.verificationUriComplete;
    const parsed = new URL(link);
    expect(parsed.origin + parsed.pathname).toBe(shownUrl);
    expect(parsed.searchParams.get('user_code')).toBe(userCode);
    await expectQrHolds(page, link);
    await shot(page, '02-login');

    // The newest snapshot is tampered with on the server before the list reads it (undone below).
    const db = sqliteHandleOf(server.srv);
    const leaf = seeded.ids[2]!;
    const { text } = db.prepare('SELECT text FROM snapshots WHERE id = ?').get(leaf) as { text: string };
    db.prepare('UPDATE snapshots SET text = ? WHERE id = ?').run(text.replace('br(abnt2)', 'us(dvorak)'), leaf);
    untamper = () => db.prepare('UPDATE snapshots SET text = ? WHERE id = ?').run(text, leaf);

    // Context B, the phone (in Portuguese): the link, the code to compare, sign in, allow.
    const phone = await approveOnPhone(browser, link, {
      user: DEMO_USER,
      password: DEMO_PASSWORD,
      locale: 'pt-BR',
      onPage: (step, p) => shot(p, `02-phone-${step}`),
    });
    contexts.push(phone.context);
    expect(phone.shownCode).toBe(userCode);

    await onScreen(page, 'choose', 20_000);
    await page.getByRole('heading', { name: 'Your snapshots' }).waitFor();
    const cards = page.getByRole('button', { name: /ana-laptop/ });
    await expect.poll(() => cards.count()).toBe(3);
    expect(await newest().getAttribute('data-snapshot')).toBe(seeded.ids[2]); // newest first
    expect(await newest().textContent()).toMatch(/Chain of 3 snapshots/);
    // What each chain holds, read from the daemon's details (which verify it): packages, repositories, folders, their size…
    const older = cards.nth(1);
    await expect.poll(() => older.textContent(), { timeout: 15_000 }).toMatch(/Chain of 2 snapshots\s*[\d.,]+\s(B|KB).*\d+ packages?, 1 repository, \d+ folders?/);
    // …or that it failed verification: the tampered newest one, refused as soon as it is chosen, with nothing sent.
    await expect.poll(() => newest().textContent(), { timeout: 15_000 }).toContain('Failed verification: cannot be restored');
    expect(await page.getByRole('button', { name: 'Skip the restore' }).count()).toBe(1);
    await shot(page, '03-choose');
    await newest().click();
    await onScreen(page, 'configure');
    await expectTitle(page, 'This snapshot was refused');
    expect(await mainButtons(page)).toEqual(['Choose another snapshot']);
    expect(await page.locator('form').count()).toBe(0);
    expect((await daemonState<UiState>(page)).phase).toBe('choose'); // no CHOOSE was sent, nothing prepared
    await shot(page, '04-refused-when-chosen');
    await page.getByRole('button', { name: 'Choose another snapshot' }).click();
    await onScreen(page, 'choose');
    expect(existsSync(join(target.root, 'home/ana/Documentos'))).toBe(false);
    untamper();
    untamper = () => {};
    // Read again, intact now.
    await reload();
    await onScreen(page, 'choose', 20_000);
    await expect.poll(() => newest().textContent(), { timeout: 15_000 }).toMatch(/\d+ packages?, 1 repository, \d+ folders?/);
  }, 90_000);

  it('configure: a wrong passphrase shows at the passphrase field; the right one opens the vault and gives the plan', async () => {
    await newest().click();
    await onScreen(page, 'configure');
    const sizes = page.locator('fieldset').getByText(/^\d+(\.\d+)?\s(B|KB)$/);
    await expect.poll(() => sizes.count(), { timeout: 15_000 }).toBeGreaterThan(0);
    await page.getByLabel('Name of this computer').fill('koder-novo');
    await page.getByLabel('Your user on this computer').fill('ana');
    await page.getByRole('checkbox', { name: /^System settings/ }).uncheck();
    await page.getByRole('checkbox', { name: /^Apps/ }).uncheck();
    for (const c of [/^Git repositories/, /^Secrets/, /^Documents and files/]) expect(await page.getByRole('checkbox', { name: c }).isChecked()).toBe(true);
    const secret = page.getByLabel('Recovery passphrase', { exact: true });
    await secret.fill('not my passphrase');
    await shot(page, '04-configure');
    await page.getByRole('button', { name: 'Review the plan' }).click();

    // prepare → WRONG_SECRET → back at the form: the error at the field, which has focus; the choices kept.
    await page.getByText('That did not open your key vault').waitFor({ timeout: 20_000 });
    await onScreen(page, 'configure');
    expect(await secret.getAttribute('aria-invalid')).toBe('true');
    const describedBy = (await secret.getAttribute('aria-describedby'))!;
    expect(await page.locator(`[id="${describedBy}"]`).textContent()).toContain('That did not open your key vault');
    await expect.poll(() => page.evaluate(() => document.activeElement?.getAttribute('name'))).toBe('passphrase');
    expect(await page.getByLabel('Name of this computer').inputValue()).toBe('koder-novo');
    expect(await page.getByRole('checkbox', { name: /^Apps/ }).isChecked()).toBe(false);
    expect((await daemonState<UiState>(page)).error?.code).toBe('WRONG_SECRET');
    await shot(page, '04-configure-wrong-passphrase');

    await secret.fill(DEMO_PASSPHRASE);
    await page.getByRole('button', { name: 'Review the plan' }).click();
    await onScreen(page, 'ready', 20_000);
    await expectTitle(page, 'Review the restore');
    const plan = page.getByRole('region', { name: 'What will be restored' });
    const groups = await plan.locator('h3 > span:first-child').allTextContents();
    expect(groups).toEqual(['Git repositories', 'Secrets', 'Documents and files']);
    expect(await plan.textContent()).toMatch(/~\/Documentos/);
    expect(await plan.textContent()).toMatch(/~\/Imagens/);
    expect(await page.locator('main').textContent()).toContain('Your key vault is open');
    const facts = (await page.locator('main dl').textContent()) ?? '';
    expect(facts).not.toContain('koder-novo'); // the name is a system setting, not chosen here
    expect(facts).toContain('ana');
    const state = await daemonState<UiState>(page);
    expect(state.plan!.vault).toBe('unlocked');
    expect(state.choice).toEqual({ snapshotId: seeded.ids[2], hostname: 'koder-novo', targetUser: 'ana', categories: ['repos', 'secrets', 'files'] });
    expect(state.plan!.steps.map((s) => s.kind)).toEqual(['files.restore', 'files.restore', 'repo.restore', 'secrets.restore']);
    await shot(page, '06-summary');
  }, 90_000);

  it('the server goes down during prepare: “prepare failed” with retry; started again on the same port and data, retry works', async () => {
    await page.getByRole('button', { name: 'Change choices' }).click();
    await onScreen(page, 'choose', 20_000);
    await newest().waitFor();
    await server.stop();
    try {
      await newest().click();
      await onScreen(page, 'configure');
      expect(await page.getByLabel('Name of this computer').inputValue()).toBe('koder-novo'); // the earlier choice, kept
      expect(await page.getByRole('checkbox', { name: /^Apps/ }).isChecked()).toBe(false);
      await page.getByLabel('Recovery passphrase', { exact: true }).fill(DEMO_PASSPHRASE);
      await page.getByRole('button', { name: 'Review the plan' }).click();
      await onScreen(page, 'preparing');
      await shot(page, '05-preparing');
      // The drive client retries a refused connection with backoff (about half a minute) before giving up.
      await onScreen(page, 'prepare-failed', 90_000);
      await expectTitle(page, 'Preparing the restore failed');
      expect(await mainButtons(page)).toEqual(['Back', 'Try again']);
      await shot(page, '05-prepare-failed');
    } finally {
      await server.start();
    }
    await page.getByRole('button', { name: 'Try again' }).click();
    await onScreen(page, 'ready', 30_000);
    await expectTitle(page, 'Review the restore');
    expect((await daemonState<UiState>(page)).plan!.vault).toBe('unlocked');
  }, 150_000);

  it('confirm → progress → report; the documents, the repo and the secrets are in the target', async () => {
    await page.getByRole('button', { name: 'Start the restore' }).click();
    await onScreen(page, 'applying', 20_000);
    // The repo step is about to run: the files are done.
    await within(held.started, 30_000, async () => `the repo step never started; the page says: ${await page.locator('main').textContent()}`);
    const bars = page.getByRole('progressbar');
    await expect.poll(() => page.getByRole('progressbar', { name: 'Documents and files' }).getAttribute('aria-valuenow'), { timeout: 20_000 }).toBe('100');
    expect(await page.getByRole('progressbar', { name: 'Git repositories' }).getAttribute('aria-valuenow')).toBe('0');
    const overall = Number(await page.getByRole('progressbar', { name: 'Overall' }).getAttribute('aria-valuenow'));
    expect(overall).toBeGreaterThan(0);
    expect(overall).toBeLessThan(100);
    expect(await bars.count()).toBe(4); // overall + repos, secrets, files
    await expect.poll(() => page.getByRole('status').filter({ hasText: 'Now:' }).textContent()).toContain('notas');
    expect(await page.locator('main').textContent()).toContain('You can walk away');
    await shot(page, '07-progress');
    held.release();

    await onScreen(page, 'report', 60_000);
    await expectTitle(page, 'Your setup is restored');
    expect(await page.locator('main').textContent()).toMatch(/4 done, 0 skipped, 0 failed/);
    expect(await mainButtons(page)).toEqual([]); // nothing failed: no retry
    const report = (await daemonState<UiState>(page)).report!;
    expect(report.status).toBe('done');
    expect(report.snapshotId).toBe(seeded.ids[2]);
    await shot(page, '08-report');

    // The target: documents and pictures byte-identical, owned by ana; the repo with its uncommitted work; secrets 0600.
    const home = join(target.root, 'home/ana');
    for (const dir of ['Documentos', 'Imagens']) {
      const want = tree(join(seeded.fixtureHome, dir));
      expect(Object.keys(want).length).toBeGreaterThan(0);
      expect(tree(join(home, dir)), dir).toEqual(want);
    }
    expect(lstatSync(join(home, 'Documentos/relatorio.bin')).uid).toBe(1000);
    expect(readFileSync(join(home, 'Documentos/lista-de-compras.txt'), 'utf8')).toBe('café\npão de queijo\n'); // from the newest delta
    expect(readFileSync(join(home, 'dev/notas/README.md'), 'utf8')).toContain('rascunho em andamento');
    expect(readFileSync(join(home, 'dev/notas/ideias.md'), 'utf8')).toBe('- restaurar tudo com um QR code\n');
    for (const s of ['.ssh/id_ed25519', '.netrc']) {
      expect(readFileSync(join(home, s)).equals(readFileSync(join(seeded.fixtureHome, s))), s).toBe(true);
      expect(lstatSync(join(home, s)).mode & 0o777, s).toBe(0o600);
      expect(lstatSync(join(home, s)).uid, s).toBe(1000);
    }
    // Not chosen: no apps, no system settings (not even the computer's name).
    expect(existsSync(join(target.root, 'etc/hostname')) ? readFileSync(join(target.root, 'etc/hostname'), 'utf8') : '').not.toContain('koder-novo');
    expect(existsSync(join(target.root, 'usr/bin/jq'))).toBe(false);
    const keyboard = join(target.root, 'etc/default/keyboard');
    expect(existsSync(keyboard) ? readFileSync(keyboard, 'utf8') : '').not.toMatch(/abnt2/);

    const seen = await screens();
    // (A chain that fails verification is refused when its card is read and chosen, on the configure
    // screen; the daemon verifies a chain once — content-addressed, it cannot change — so prepare
    // does not meet a forgery after that.)
    for (const s of ['welcome', 'login', 'choose', 'configure', 'preparing', 'prepare-failed', 'ready', 'applying', 'report']) expect(seen, seen.join(' → ')).toContain(s);
    expect(errors).toEqual([]);
  }, 120_000);
});

// ── Skip from the list (en, 800×600) ───────────────────────────────────────

describe('skipping from the snapshot list', () => {
  let server: FlowServer;
  let d: FlowDaemon;

  beforeAll(async () => {
    server = await flowServer(join(work, 'skip'));
    await server.srv.addUser('bia', 'bia-password-1'); // no snapshots yet
    d = await flowDaemon({ server: server.url, dir: join(work, 'skip-daemon'), wizardDir: BUILD, lang: 'en' });
  }, 60_000);
  afterAll(async () => {
    await d?.close();
    await server?.close();
  });

  it('a person with no snapshot signs in, skips from the list; the installer is told nothing will be restored', async () => {
    const page = await installerPage({ lang: 'en', width: 800, height: 600 });
    const errors = watchErrors(page, 'skip');
    await page.goto(d.url);
    await onScreen(page, 'welcome');
    await page.getByRole('button', { name: 'Restore from Koder ID' }).click();
    await onScreen(page, 'login');
    // The login screen shows before the provider has answered with a code: wait for the code.
    await page.locator('.user-code').waitFor();
    const link = (await daemonState<UiState>(page)).login!.verificationUriComplete;
    const phone = await approveOnPhone(browser, link, { user: 'bia', password: 'bia-password-1', locale: 'en-US' });
    contexts.push(phone.context);
    await onScreen(page, 'choose', 20_000);
    await page.getByText('There are no snapshots in this Koder ID yet').waitFor();
    await shot(page, '03-choose-empty.800x600');
    await page.getByRole('button', { name: 'Skip the restore' }).click();
    await onScreen(page, 'skipped');
    await expectTitle(page, 'Nothing will be restored');
    await shot(page, '09-skipped.800x600');
    // What the installer's job sees.
    const status = await fetch(`${d.daemon.origin}/api/status`, { headers: { authorization: `Bearer ${d.daemon.token}` } }).then((r) => r.json());
    expect(status.phase).toBe('skipped');
    const apply = await fetch(`${d.daemon.origin}/api/apply`, { method: 'POST', headers: { authorization: `Bearer ${d.daemon.token}`, 'content-type': 'application/json' }, body: JSON.stringify({ root: '/nonexistent', user: 'bia' }) });
    expect(JSON.parse((await apply.text()).trim())).toMatchObject({ type: 'skipped' });
    expect(errors).toEqual([]);
  }, 60_000);
});
