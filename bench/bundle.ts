/**
 * bench/bundle.ts — the installer wizard's weight and speed:
 *   1. gzip size of its JS + CSS (goal ≤ 60 KB), per file and in total;
 *   2. time to first render in Chromium from a cold start (a new browser
 *      process and profile each run, median of RUNS): from launch to the
 *      first screen, and from navigation start to the app's first render
 *      (`performance.mark('wizard-first-render')`), against the fixture daemon.
 * Run: node --import tsx bench/bundle.ts [--no-build] [--runs N]
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { gzipSync } from 'node:zlib';
import { chromium } from 'playwright-core';
import { startFixtureServer } from '../e2e/wizard-fixtures/fixture-server.ts';

const ROOT = resolve(import.meta.dirname, '..');
const DIST = resolve(ROOT, 'dist/wizard');
const GOAL_KB = 60;
const args = process.argv.slice(2);
const RUNS = Number(args[args.indexOf('--runs') + 1]) || 7;
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

if (!args.includes('--no-build')) execFileSync('npx', ['vite', 'build', '--logLevel', 'error'], { cwd: ROOT, stdio: 'inherit' });

const files = (function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => (statSync(join(dir, f)).isDirectory() ? walk(join(dir, f)) : [join(dir, f)]));
})(DIST);
const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;
let total = 0;
console.log('wizard bundle (dist/wizard), gzip -9:');
for (const f of files.sort()) {
  const raw = readFileSync(f);
  const gz = gzipSync(raw, { level: 9 }).length;
  const counted = /\.(js|css)$/.test(f);
  if (counted) total += gz;
  console.log(`  ${relative(DIST, f).padEnd(36)} ${kb(raw.length).padStart(9)} → ${kb(gz).padStart(8)}${counted ? '' : '  (not counted)'}`);
}
console.log(`  JS + CSS gzip total: ${kb(total)} (goal ≤ ${GOAL_KB} KB: ${total <= GOAL_KB * 1024 ? 'ok' : 'OVER'})`);

const server = await startFixtureServer({ root: DIST, initial: 'welcome' });
const launchToRender: number[] = [];
const navToRender: number[] = [];
try {
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
    try {
      const page = await browser.newPage({ viewport: { width: 800, height: 600 } });
      await page.goto(`${server.url}/?lang=en`);
      await page.waitForSelector('.app[data-screen="welcome"] h1');
      launchToRender.push(performance.now() - t0);
      navToRender.push(await page.evaluate(() => performance.getEntriesByName('wizard-first-render')[0]?.startTime ?? Number.NaN));
    } finally {
      await browser.close();
    }
  }
} finally {
  await server.close();
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ms = (x: number) => `${x.toFixed(0)} ms`;
console.log(`first render in Chromium, cold start, median of ${RUNS}:`);
console.log(`  navigation start → first screen rendered: ${ms(median(navToRender))}  (runs: ${navToRender.map(ms).join(', ')})`);
console.log(`  browser launch → first screen rendered:   ${ms(median(launchToRender))}  (runs: ${launchToRender.map(ms).join(', ')})`);
