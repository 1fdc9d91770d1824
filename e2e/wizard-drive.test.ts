/**
 * "Restore from a drive" end to end in Chromium, real parts only: the demo
 * user's captured chain (what `npm start` seeds) exported by the real
 * exporter into a folder under a fake mount root; then the server is
 * stopped — the drive path needs no network — and the real daemon, which
 * looks at that mount root, serves a private wizard build restoring into
 * npm start's scratch target (a bookworm minbase root with ana).
 *
 * Welcome offers the drive beside Koder ID; no sign-in screen; the chain is
 * listed from the export; the passphrase is required; the plan, the
 * progress and the report as from the server; the files, the repository and
 * the secrets in the target. Also: a folder typed by hand, and one that holds
 * no export (Back to Welcome).
 *
 * Screenshots: e2e/artifacts/drive/.
 */
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { DEMO_PASSPHRASE, DEMO_PASSWORD, DEMO_USER } from '../src/cli/demo/seed.ts';
import { makeScratchRoot, type ScratchRoot } from '../src/cli/demo/scratch-root.ts';
import type { UiState } from '../src/daemon/ui-state.ts';
import { DriveClient } from '../src/drive/index.ts';
import { exportSnapshot } from '../src/export/export.ts';
import { openVault } from '../src/keys/vault.ts';
import { contentTree as tree } from '../test/helpers/tree-state.ts';
import { loginAs } from '../test/server/fixture.ts';
import { ROOT, buildWizard, flowDaemon, flowServer, seedFlow, type FlowDaemon, type FlowServer } from './helpers/stack.ts';
import { daemonState, launchChromium, onScreen, recordScreens, shooter, watchErrors } from './helpers/browser.ts';

const ARTIFACTS = resolve(ROOT, 'e2e/artifacts/drive');
const BUILD = resolve(ROOT, '.cache/wizard-drive');

let work: string;
let browser: Browser;
const contexts: BrowserContext[] = [];
const { shot } = shooter(ARTIFACTS);
let server: FlowServer;
let seeded: Awaited<ReturnType<typeof seedFlow>>;
let media: string;
let exportDir: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'ks-e2e-drive-'));
  rmSync(ARTIFACTS, { recursive: true, force: true });
  buildWizard(BUILD);
  browser = await launchChromium();
  server = await flowServer(join(work, 'server'));
  seeded = await seedFlow(server.srv, join(work, 'server'));
  // `koder-snapshot export` as the demo user, onto a "USB drive" under a mount root of our own.
  const tokens = await loginAs(server.srv, DEMO_USER, DEMO_PASSWORD);
  const client = new DriveClient({ server: server.url, tokens: tokens.access_token });
  const identity = await openVault((await client.getVault())!.doc as Parameters<typeof openVault>[0], { passphrase: DEMO_PASSPHRASE });
  media = join(work, 'media');
  exportDir = join(media, 'ana/KODER-USB/koder');
  mkdirSync(exportDir, { recursive: true });
  await exportSnapshot({ client, snapshotId: seeded.ids[2]!, dir: exportDir, identity });
  // From here on, no server: the drive path must not need one.
  await server.stop();
}, 240_000);

afterAll(async () => {
  for (const c of contexts) await c.close().catch(() => {});
  await browser?.close();
  await server?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

async function installerPage(lang: 'en' | 'pt-BR' = 'en'): Promise<Page> {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: lang === 'en' ? 'en-US' : 'pt-BR', timezoneId: 'America/Sao_Paulo', reducedMotion: 'reduce' });
  contexts.push(ctx);
  return ctx.newPage();
}

async function expectTitle(page: Page, title: string) {
  await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent(), { timeout: 10_000 }).toBe(title);
}

describe('restore from a drive found on Welcome', () => {
  let target: ScratchRoot;
  let d: FlowDaemon;
  let page: Page;
  let errors: string[];
  let screens: () => Promise<string[]>;

  beforeAll(async () => {
    target = await makeScratchRoot(join(work, 'target'), 'ana', () => {});
    expect(target.kind, target.note).toBe('debian');
    d = await flowDaemon({ server: server.url, dir: join(work, 'daemon'), wizardDir: BUILD, target: { root: target.root, user: 'ana' }, lang: 'en', exportRoots: [media] });
    page = await installerPage();
    errors = watchErrors(page, 'drive');
  }, 180_000);
  afterAll(async () => {
    await d?.close();
  });

  it('Welcome offers "Restore from a drive" beside Koder ID, naming what the drive holds', async () => {
    await page.goto(d.url);
    screens = await recordScreens(page);
    await onScreen(page, 'welcome');
    const drive = page.getByRole('button', { name: 'Restore from a drive' });
    await drive.waitFor({ timeout: 15_000 });
    expect(await page.getByRole('button', { name: 'Restore from Koder ID' }).isVisible()).toBe(true);
    expect(await page.locator('#drive-found').textContent()).toContain('ana-laptop');
    expect(await page.locator('#drive-found').textContent()).toContain(exportDir);
    await shot(page, '01-welcome-drive');
    await drive.click();
  }, 60_000);

  it('no sign-in: the chain is listed from the export and verified; the passphrase is required', async () => {
    await onScreen(page, 'choose', 20_000);
    const newest = page.getByRole('button', { name: /ana-laptop/ }).first();
    await expect.poll(() => newest.getAttribute('data-snapshot')).toBe(seeded.ids[2]);
    await expect.poll(() => newest.textContent(), { timeout: 15_000 }).toMatch(/Chain of 3 snapshots/);
    await shot(page, '02-choose');
    await newest.click();
    await onScreen(page, 'configure');
    await page.getByLabel('Name of this computer').fill('koder-novo');
    await page.getByLabel('Your user on this computer').fill('ana');
    await page.getByRole('checkbox', { name: /^System settings/ }).uncheck();
    await page.getByRole('checkbox', { name: /^Apps/ }).uncheck();
    await page.getByRole('checkbox', { name: /^Secrets/ }).uncheck();
    // Even without secrets, a drive needs the passphrase: no "skip", the field stays.
    const secret = page.getByLabel('Recovery passphrase', { exact: true });
    expect(await secret.isVisible()).toBe(true);
    expect(await page.getByRole('button', { name: /skip/i }).count()).toBe(0);
    await page.getByRole('button', { name: 'Review the plan' }).click();
    expect(await secret.getAttribute('aria-invalid')).toBe('true');
    await page.getByRole('checkbox', { name: /^Secrets/ }).check();
    await secret.fill(DEMO_PASSPHRASE);
    await shot(page, '03-configure');
    await page.getByRole('button', { name: 'Review the plan' }).click();
    await onScreen(page, 'ready', 30_000);
    await expectTitle(page, 'Review the restore');
    const state = await daemonState<UiState>(page);
    expect(state.source).toEqual({ kind: 'export', dir: exportDir });
    expect(state.plan!.vault).toBe('unlocked');
    expect(state.plan!.steps.map((s) => s.kind)).toEqual(['files.restore', 'files.restore', 'repo.restore', 'secrets.restore']);
    await shot(page, '04-summary');
  }, 90_000);

  it('start → progress → report; the documents, the repository and the secrets are in the target', async () => {
    await page.getByRole('button', { name: 'Start the restore' }).click();
    await onScreen(page, 'report', 90_000);
    await expectTitle(page, 'Your setup is restored');
    expect(await page.locator('main').textContent()).toMatch(/4 done, 0 skipped, 0 failed/);
    await shot(page, '05-report');
    const home = join(target.root, 'home/ana');
    for (const dir of ['Documentos', 'Imagens']) expect(tree(join(home, dir)), dir).toEqual(tree(join(seeded.fixtureHome, dir)));
    expect(readFileSync(join(home, 'dev/notas/ideias.md'), 'utf8')).toBe('- restaurar tudo com um QR code\n');
    for (const s of ['.ssh/id_ed25519', '.netrc']) {
      expect(readFileSync(join(home, s)).equals(readFileSync(join(seeded.fixtureHome, s))), s).toBe(true);
      expect(lstatSync(join(home, s)).mode & 0o777, s).toBe(0o600);
    }
    const seen = await screens();
    expect(seen).not.toContain('login');
    for (const s of ['welcome', 'choose', 'configure', 'ready', 'report']) expect(seen, seen.join(' → ')).toContain(s);
    expect(errors).toEqual([]);
  }, 120_000);
});

describe('a folder pointed to by hand (pt-BR)', () => {
  let d: FlowDaemon;
  let page: Page;

  beforeAll(async () => {
    d = await flowDaemon({ server: server.url, dir: join(work, 'daemon-typed'), wizardDir: BUILD, lang: 'pt-BR' });
    page = await installerPage('pt-BR');
  }, 60_000);
  afterAll(async () => {
    await d?.close();
  });

  it('a folder without an export: said plainly, Back returns to Welcome; the export folder: its snapshots', async () => {
    await page.goto(d.url);
    await onScreen(page, 'welcome');
    expect(await page.getByRole('button', { name: 'Restaurar de um disco' }).count()).toBe(0); // nothing found: no drive button
    await page.getByRole('button', { name: 'Restaurar de uma pasta em um disco…' }).click();
    const folder = page.getByLabel('Pasta da exportação');
    await folder.fill(media);
    await page.getByRole('button', { name: 'Abrir' }).click();
    await onScreen(page, 'list-failed', 20_000);
    expect(await page.locator('main').textContent()).toContain('Essa pasta não tem um snapshot');
    await shot(page, 'x1-no-export.pt-BR');
    await page.getByRole('button', { name: 'Voltar' }).click();
    await onScreen(page, 'welcome');
    await page.getByRole('button', { name: 'Restaurar de uma pasta em um disco…' }).click();
    await page.getByLabel('Pasta da exportação').fill(exportDir);
    await page.getByRole('button', { name: 'Abrir' }).click();
    await onScreen(page, 'choose', 20_000);
    // The export names the snapshot it holds (its chain of three comes with it).
    await expect.poll(() => page.getByRole('button', { name: /ana-laptop/ }).count()).toBe(1);
    await expect.poll(() => page.getByRole('button', { name: /ana-laptop/ }).textContent(), { timeout: 15_000 }).toMatch(/Cadeia de 3 snapshots/);
    await shot(page, 'x2-choose.pt-BR');
  }, 90_000);
});
