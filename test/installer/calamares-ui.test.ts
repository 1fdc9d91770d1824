/**
 * The installer page (calamares-module/koderrestoreview) on a real X server
 * (Xvfb) against real daemons:
 *
 *  1. qmlscene (Debian's, with qml-module-qtwebengine) loads the page the
 *     way Calamares' QmlViewStep does (test/installer/qml/Harness.qml, with
 *     a stand-in io.calamares.ui ViewManager that prints next()), shows the
 *     daemon's wizard in QtWebEngine, and calls ViewManager.next() once the
 *     choice made through the daemon's API is confirmed. Screenshots go to
 *     e2e/artifacts/.
 *  2. The same page without QtWebEngine (a broken QtWebEngine module first
 *     in the import path): the text fallback, and polling still advances;
 *     and with a daemon gone after writing its URL: the reason, not a blank.
 *  3. The real Calamares 3.2.61 (Debian bookworm's) with our settings: the
 *     page in the show phase, then — advanced by the page itself — the exec
 *     phase running the real koderrestore job (real libcalamares) into a
 *     real minbase target. A test-only job puts rootMountPoint/username in
 *     GlobalStorage, as mount and users would.
 *
 * Skipped when Xvfb / qmlscene / calamares are not installed
 * (scripts/install-system-deps.sh installs them).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeDebianRoot, type TestRoot } from '../helpers/debian-root.ts';
import { runInChroot } from '../../src/chroot-appliers/chroot-runner.ts';
import { installerWorld, chooseAndConfirm, skip, type InstallerWorld, type Daemon } from './daemon-fixture.ts';

const repo = new URL('../../', import.meta.url).pathname;
const STEP_DIR = join(repo, 'calamares-module/koderrestoreview');
const STEP_QML = join(STEP_DIR, 'koderrestoreview.qml');
const HARNESS = join(repo, 'test/installer/qml/Harness.qml');
const STUBS = join(repo, 'test/installer/qml');
const ARTIFACTS = join(repo, 'e2e/artifacts');
const have = (bin: string) => spawnSync('sh', ['-c', `command -v ${bin}`]).status === 0;
const canRun = have('Xvfb') && have('qmlscene') && have('import') && existsSync('/usr/lib/x86_64-linux-gnu/qt5/qml/QtWebEngine/qmldir');

let world: InstallerWorld, wizardDir: string, display: string, xvfb: ChildProcess;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A long-running child whose output is kept, with a wait-for-line helper. */
function start(cmd: string, args: string[], env: NodeJS.ProcessEnv, cwd?: string) {
  const child = spawn(cmd, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout!.on('data', (d) => (log += d));
  child.stderr!.on('data', (d) => (log += d));
  return {
    child,
    log: () => log,
    async waitFor(re: RegExp, ms = 60_000) {
      const end = Date.now() + ms;
      while (Date.now() < end) {
        if (re.test(log)) return;
        if (child.exitCode !== null) break;
        await sleep(100);
      }
      throw new Error(`waiting for ${re} in the output of ${cmd}:\n${log.slice(-6000)}`);
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(5000)]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

/** Screenshot of the X screen (ImageMagick `import`), cropped; returns the number of distinct colours. */
function screenshot(name: string, crop?: string): number {
  mkdirSync(ARTIFACTS, { recursive: true });
  const file = join(ARTIFACTS, name);
  const r = spawnSync('import', ['-display', display, '-window', 'root', ...(crop ? ['-crop', crop] : []), file], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`import: ${r.stderr}`);
  return Number(spawnSync('identify', ['-format', '%k', file], { encoding: 'utf8' }).stdout.trim());
}

const guiEnv = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
  PATH: process.env.PATH,
  HOME: world.work,
  DISPLAY: display,
  XDG_RUNTIME_DIR: join(world.work, 'xdg-runtime'),
  // Calamares runs as root, and Chromium's sandbox refuses root: the ISO's /usr/bin/calamares wrapper sets the same.
  QTWEBENGINE_DISABLE_SANDBOX: '1',
  QML_XHR_ALLOW_FILE_READ: '1',
  ...extra,
});

beforeAll(async () => {
  if (!canRun) return;
  world = await installerWorld();
  mkdirSync(join(world.work, 'xdg-runtime'), { mode: 0o700 });
  wizardDir = join(world.work, 'wizard');
  const vite = spawnSync('npx', ['vite', 'build', '--outDir', wizardDir, '--emptyOutDir', '--logLevel', 'error'], { cwd: repo, encoding: 'utf8' });
  if (vite.status !== 0) throw new Error(`vite build: ${vite.stderr}`);
  // Xvfb picks a free display and tells us which on fd 3.
  xvfb = spawn('Xvfb', ['-displayfd', '3', '-screen', '0', '1024x768x24', '-nolisten', 'tcp'], { stdio: ['ignore', 'ignore', 'pipe', 'pipe'] });
  display = await new Promise<string>((resolve, reject) => {
    let s = '';
    xvfb.stdio[3]!.on('data', (d) => {
      s += d;
      if (s.includes('\n')) resolve(`:${s.trim()}`);
    });
    xvfb.on('exit', (c) => reject(new Error(`Xvfb exited ${c}`)));
  });
}, 300_000);

afterAll(async () => {
  xvfb?.kill('SIGTERM');
  await world?.cleanup();
});

async function qmlscene(d: Daemon, extraImports: string[] = [], extraArgs: string[] = []) {
  const p = start('qmlscene', [...extraImports.flatMap((i) => ['-I', i]), '-I', STUBS, HARNESS, `--koder-step=file://${STEP_QML}`, `--koder-url-file=${d.urlFile}`, ...extraArgs], guiEnv());
  await p.waitFor(/KODER-TEST step (loaded|failed to load)/);
  expect(p.log()).toMatch(/KODER-TEST step loaded/);
  return p;
}

/** The daemon's UiState: the first message of its state stream. */
async function uiState(d: Daemon): Promise<{ phase: string; defaults: { hostname: string } }> {
  const abort = new AbortController();
  const res = await fetch(`${d.origin}/api/state`, { headers: { Authorization: `Bearer ${d.token}` }, signal: abort.signal });
  const reader = res.body!.getReader();
  let text = '';
  while (!text.includes('\n\n')) text += new TextDecoder().decode((await reader.read()).value);
  abort.abort();
  return JSON.parse(/^data: (.*)$/m.exec(text)![1]!);
}

describe.skipIf(!canRun)('the installer page (QML + QtWebEngine) under Xvfb', () => {
  it('qmlscene: shows the wizard, offers the installer\'s hostname, and calls ViewManager.next() when the choice is confirmed', async () => {
    const d = await world.startDaemon('qml', { KODER_SNAPSHOT_WIZARD_DIR: wizardDir });
    expect((await uiState(d)).defaults.hostname).toBe('koder-novo'); // the daemon's --hostname
    // The users page left "hostname" in GlobalStorage (the stand-in Global reads it from this argument).
    const q = await qmlscene(d, [], ['--koder-test-gs-hostname=pc-da-ana']);
    try {
      await q.waitFor(/offered the installer's hostname pc-da-ana as the default/);
      expect((await uiState(d)).defaults.hostname).toBe('pc-da-ana');
      await q.waitFor(/koderrestoreview: wizard loaded/);
      await sleep(1500);
      // Rendered, not a blank window: the wizard's page has text, buttons, colours.
      expect(screenshot('installer-step-welcome.png', '800x600+0+0')).toBeGreaterThan(50);
      await chooseAndConfirm(d, { snapshotId: world.seeded.leaf, categories: ['files'], confirm: false });
      await sleep(1500);
      expect(screenshot('installer-step-ready.png', '800x600+0+0')).toBeGreaterThan(50);
      expect(q.log()).not.toMatch(/ViewManager\.next/);
      const r = await d.api('/api/events', { method: 'POST', body: { type: 'CONFIRM' } });
      expect(r.status).toBe(202);
      await q.waitFor(/KODER-TEST ViewManager\.next\(\)/, 10_000);
      await sleep(2500);
      expect(q.log().match(/KODER-TEST ViewManager\.next\(\)/g)).toHaveLength(1);
      expect(q.log()).toMatch(/restore confirmed, going to the next page/);
    } finally {
      await q.stop();
    }
  }, 120_000);

  it('without QtWebEngine: the text fallback, and a skip still advances', async () => {
    // A QtWebEngine module whose plugin does not exist, first in the import path.
    const broken = join(world.work, 'no-webengine');
    mkdirSync(join(broken, 'QtWebEngine'), { recursive: true });
    writeFileSync(join(broken, 'QtWebEngine/qmldir'), 'module QtWebEngine\nplugin qtwebengine-is-not-installed\n');
    const d = await world.startDaemon('fallback', { KODER_SNAPSHOT_WIZARD_DIR: wizardDir });
    const q = await qmlscene(d, [broken]);
    try {
      await q.waitFor(/QtWebEngine is not available; showing the text fallback/);
      await sleep(1000);
      expect(screenshot('installer-step-no-webengine.png', '800x600+0+0')).toBeGreaterThan(2);
      await skip(d);
      await q.waitFor(/KODER-TEST ViewManager\.next\(\)/, 10_000);
      expect(q.log()).toMatch(/restore skipped, going to the next page/);
    } finally {
      await q.stop();
    }
  }, 120_000);

  it('a wizard that does not load: the reason instead of a blank page', async () => {
    // A URL file naming a port nobody listens on (the daemon died after writing it).
    const urlFile = join(world.work, 'gone.url');
    const d = await world.startDaemon('gone', { KODER_SNAPSHOT_WIZARD_DIR: wizardDir });
    await d.stop();
    writeFileSync(urlFile, d.url + '\n');
    const q = start('qmlscene', ['-I', STUBS, HARNESS, `--koder-step=file://${STEP_QML}`, `--koder-url-file=${urlFile}`], guiEnv());
    try {
      await q.waitFor(/the wizard did not load/);
      await sleep(1000);
      expect(screenshot('installer-step-wizard-not-loaded.png', '800x600+0+0')).toBeGreaterThan(2);
      expect(q.log()).not.toMatch(/ViewManager\.next/);
    } finally {
      await q.stop();
    }
  }, 60_000);

  describe.skipIf(!have('calamares'))('in the real Calamares (bookworm 3.2.61)', () => {
    const URL_FILE = '/run/koder-snapshot/wizard-url';
    let target: TestRoot, backup: string | undefined;

    beforeAll(async () => {
      target = await makeDebianRoot();
      await runInChroot(target.root, ['useradd', '-m', '-u', '1000', '-s', '/bin/bash', 'ana']);
      // The page reads the daemon's URL where the ISO's daemon writes it (Calamares takes no extra arguments).
      mkdirSync('/run/koder-snapshot', { recursive: true, mode: 0o700 });
      if (existsSync(URL_FILE)) renameSync(URL_FILE, (backup = `${URL_FILE}.before-test`));
    }, 120_000);

    afterAll(async () => {
      rmSync(URL_FILE, { force: true });
      if (backup) renameSync(backup, URL_FILE);
      await target?.dispose();
    });

    it('the page shows the wizard, advances by itself, and the exec job restores into the target', async () => {
      const d = await world.startDaemon('calamares', { KODER_SNAPSHOT_WIZARD_DIR: wizardDir });
      copyFileSync(d.urlFile, URL_FILE);
      // A Calamares configuration directory (calamares -c): our settings, the default branding.
      const cfg = join(world.work, 'calamares');
      mkdirSync(join(cfg, 'modules'), { recursive: true });
      mkdirSync(join(cfg, 'branding'));
      cpSync('/usr/share/calamares/branding/default', join(cfg, 'branding/default'), { recursive: true });
      symlinkSync('/usr/share/calamares/qml', join(cfg, 'qml'));
      writeFileSync(join(cfg, 'settings.conf'), [
        '---',
        `modules-search: [ local, ${join(repo, 'calamares-module')}, ${join(repo, 'test/installer/calamares')} ]`,
        'instances:',
        '- id: koderrestoreview',
        '  module: notesqml',
        '  config: koderrestoreview.conf',
        'sequence:',
        '- show:',
        '  - notesqml@koderrestoreview',
        '- exec:',
        '  - kodertestgs',
        '  - koderrestore',
        '- show:',
        '  - finished',
        'branding: default',
        'prompt-install: false',
        'dont-chroot: true',
        '',
      ].join('\n'));
      writeFileSync(join(cfg, 'modules/koderrestoreview.conf'), readFileSync(join(STEP_DIR, 'koderrestoreview.conf'), 'utf8').replace('/usr/share/koder-snapshot/calamares/koderrestoreview.qml', STEP_QML));
      copyFileSync(join(repo, 'calamares-module/koderrestore/koderrestore.conf'), join(cfg, 'modules/koderrestore.conf'));
      writeFileSync(join(cfg, 'modules/kodertestgs.conf'), `---\nrootMountPoint: ${target.root}\nusername: ana\nhostname: koder-novo\n`);
      const cal = start('calamares', ['-d', '-c', cfg, '-D8'], guiEnv(), cfg);
      try {
        await cal.waitFor(/koderrestoreview: wizard loaded/, 90_000);
        await sleep(2000);
        expect(screenshot('calamares-restore-page.png')).toBeGreaterThan(50);
        await chooseAndConfirm(d, { snapshotId: world.seeded.leaf, categories: ['files'] });
        await cal.waitFor(/restore confirmed, going to the next page/, 10_000);
        // The exec phase: our job, in Calamares' own Python, reports the daemon's outcome.
        await cal.waitFor(/koderrestore: restore done/, 120_000);
        expect(readFileSync(join(target.root, 'home/ana/Documentos/leia-me.txt'), 'utf8')).toBe('Olá, mundo restaurado!\n');
        await sleep(3000);
        screenshot('calamares-finished.png');
        expect(cal.log()).not.toMatch(/Installation Failed|installation failed/i);
      } finally {
        await cal.stop();
      }
    }, 240_000);
  });
});
