/**
 * bench/bundle.ts — the weight and speed of the daemon's two pages:
 *   1. gzip size of each page's JS + CSS, per file and in total, against its
 *      goal: the installer wizard ≤ 60 KB (it loads in the live session's
 *      web view), the Backup app ≤ 80 KB;
 *   2. time to first render in Chromium from a cold start (a new browser
 *      process and profile each run, median of RUNS): from launch to the
 *      first screen, and from navigation start to the page's first render
 *      (`performance.mark('wizard-first-render' | 'app-first-render')`) —
 *      the wizard against its fixture daemon, the app against the real daemon
 *      in app mode (signed out: a server nobody listens on).
 * Run: node --import tsx bench/bundle.ts [--no-build] [--runs N]
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { gzipSync } from 'node:zlib';
import { chromium } from 'playwright-core';
import { startFixtureServer } from '../e2e/wizard-fixtures/fixture-server.ts';
import { AppSession } from '../src/daemon/app/session.ts';
import { appSurface } from '../src/daemon/app/routes.ts';
import { startDaemon } from '../src/daemon/http.ts';

const ROOT = resolve(import.meta.dirname, '..');
const PAGES = [
  { name: 'wizard', dir: resolve(ROOT, 'dist/wizard'), goalKb: 60, mark: 'wizard-first-render', ready: '.app[data-screen="welcome"] h1' },
  { name: 'app', dir: resolve(ROOT, 'dist/app'), goalKb: 80, mark: 'app-first-render', ready: '.app[data-screen="signin"] h1' },
] as const;
const args = process.argv.slice(2);
const RUNS = Number(args[args.indexOf('--runs') + 1]) || 7;
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

if (!args.includes('--no-build')) {
  execFileSync('npx', ['vite', 'build', '--logLevel', 'error'], { cwd: ROOT, stdio: 'inherit' });
  execFileSync('npx', ['vite', 'build', '--mode', 'app', '--logLevel', 'error'], { cwd: ROOT, stdio: 'inherit' });
}

const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;
const walk = (dir: string): string[] => readdirSync(dir).flatMap((f) => (statSync(join(dir, f)).isDirectory() ? walk(join(dir, f)) : [join(dir, f)]));
for (const p of PAGES) {
  let total = 0;
  console.log(`${p.name} bundle (dist/${p.name}), gzip -9:`);
  for (const f of walk(p.dir).sort()) {
    const raw = readFileSync(f);
    const gz = gzipSync(raw, { level: 9 }).length;
    const counted = /\.(js|css)$/.test(f);
    if (counted) total += gz;
    console.log(`  ${relative(p.dir, f).padEnd(36)} ${kb(raw.length).padStart(9)} → ${kb(gz).padStart(8)}${counted ? '' : '  (not counted)'}`);
  }
  console.log(`  JS + CSS gzip total: ${kb(total)} (goal ≤ ${p.goalKb} KB: ${total <= p.goalKb * 1024 ? 'ok' : 'OVER'})`);
}

/** The page's server: the wizard's fixture daemon; the app's real daemon (signed out). */
async function serve(page: (typeof PAGES)[number]): Promise<{ url: string; close(): Promise<void> }> {
  if (page.name === 'wizard') {
    const s = await startFixtureServer({ root: page.dir, initial: 'welcome' });
    return { url: `${s.url}/?lang=en`, close: () => s.close() };
  }
  const home = mkdtempSync(join(tmpdir(), 'bench-app-'));
  const env = { PATH: process.env.PATH, HOME: home, XDG_CONFIG_HOME: join(home, '.config'), XDG_CACHE_HOME: join(home, '.cache'), XDG_STATE_HOME: join(home, '.state') };
  const session = await AppSession.open({ server: 'http://127.0.0.1:9', stateDir: join(home, 'state'), env });
  const d = await startDaemon({ surface: appSurface(session, page.dir) });
  return {
    url: `${d.url}&lang=en`,
    async close() {
      await session.stop();
      await d.close();
      rmSync(home, { recursive: true, force: true });
    },
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ms = (x: number) => `${x.toFixed(0)} ms`;
for (const p of PAGES) {
  const server = await serve(p);
  const launchToRender: number[] = [];
  const navToRender: number[] = [];
  try {
    for (let i = 0; i < RUNS; i++) {
      const t0 = performance.now();
      const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
      try {
        const page = await browser.newPage({ viewport: { width: 1024, height: 600 } });
        await page.goto(server.url);
        await page.waitForSelector(p.ready);
        launchToRender.push(performance.now() - t0);
        navToRender.push(await page.evaluate((mark) => performance.getEntriesByName(mark)[0]?.startTime ?? Number.NaN, p.mark));
      } finally {
        await browser.close();
      }
    }
  } finally {
    await server.close();
  }
  console.log(`${p.name}: first render in Chromium, cold start, median of ${RUNS}:`);
  console.log(`  navigation start → first screen rendered: ${ms(median(navToRender))}  (runs: ${navToRender.map(ms).join(', ')})`);
  console.log(`  browser launch → first screen rendered:   ${ms(median(launchToRender))}  (runs: ${launchToRender.map(ms).join(', ')})`);
}
