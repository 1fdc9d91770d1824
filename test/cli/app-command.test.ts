/**
 * `koder-snapshot app` as a person runs it (a child process of the real CLI,
 * as an unprivileged user): refused as root; as a user it serves the app's
 * page on 127.0.0.1 behind the token, opens it with xdg-open (a stand-in on
 * PATH that records what it was asked to open) using a one-time address
 * that works once and is worthless after; without a desktop session it
 * prints the address; started again, it finds the running one (one per
 * person) instead of starting a second daemon.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.ts';
import { buildApp } from '../../e2e/helpers/app-stack.ts';

const BIN = new URL('../../bin/koder-snapshot.mjs', import.meta.url).pathname;
const NOBODY = 65534;
const asRoot = process.getuid?.() === 0;
let dir: string;
let appDir: string;
const children: ChildProcess[] = [];

/** The CLI as user `nobody` (setpriv), with its own HOME; resolves once stdout has `until`. */
function app(args: string[], env: NodeJS.ProcessEnv, until: RegExp): Promise<{ child: ChildProcess; out: string }> {
  const child = spawn('setpriv', ['--reuid', String(NOBODY), '--regid', String(NOBODY), '--clear-groups', process.execPath, BIN, 'app', ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stdout!.on('data', (d) => {
      out += d;
      if (until.test(out)) resolve({ child, out });
    });
    child.stderr!.on('data', (d) => (err += d));
    child.on('close', (code) => (until.test(out) ? resolve({ child, out }) : reject(new Error(`app exited ${code}: ${out}${err}`))));
  });
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ks-app-cli-'));
  chmodSync(dir, 0o755);
  appDir = buildApp(join(dir, 'page'));
}, 120_000);

afterAll(() => {
  for (const c of children) c.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
});

describe('koder-snapshot app', () => {
  it.runIf(asRoot)('refuses to run as root', async () => {
    const r = await runCli(['app', '--no-open', '--server', 'http://127.0.0.1:9']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/runs as you, not as root/);
  });

  it.runIf(asRoot)('as a user: opens a one-time address with xdg-open, serves the page behind the token, one app per person', async () => {
    const home = join(dir, 'home');
    const bin = join(dir, 'bin');
    mkdirSync(home);
    mkdirSync(bin);
    chownSync(home, NOBODY, NOBODY);
    const opened = join(home, 'opened');
    writeFileSync(join(bin, 'xdg-open'), `#!/bin/sh\nprintf '%s\\n' "$1" >> ${opened}\n`);
    chmodSync(join(bin, 'xdg-open'), 0o755);
    const env = { PATH: `${bin}:${process.env.PATH}`, HOME: home, DISPLAY: ':99', KODER_SNAPSHOT_APP_DIR: appDir };
    const first = await app(['--server', 'http://127.0.0.1:9'], env, /open in your browser \((http:\/\/127\.0\.0\.1:\d+)/);
    const origin = /\((http:\/\/127\.0\.0\.1:\d+)/.exec(first.out)![1]!;
    await new Promise((r) => setTimeout(r, 300));
    const launch = readFileSync(opened, 'utf8').trim();
    expect(launch).toMatch(new RegExp(`^${origin}/\\?token=[A-Za-z0-9_-]{32}$`));
    // The state file holds the session token, for this user only.
    const stateFile = join(home, '.local/state/koder-snapshot/app/app.json');
    expect(existsSync(stateFile)).toBe(true);
    const token = (JSON.parse(readFileSync(stateFile, 'utf8')) as { token: string }).token;
    expect(launch).not.toContain(token);

    expect((await fetch(`${origin}/`)).status).toBe(401);
    // The one-time address: traded for the session cookie once, then worthless.
    const used = await fetch(launch, { redirect: 'manual' });
    expect(used.status).toBe(303);
    expect(used.headers.get('set-cookie')).toContain(`ks_session=${token}`);
    expect((await fetch(launch, { redirect: 'manual' })).status).toBe(401);
    const page = await fetch(`${origin}/`, { headers: { cookie: `ks_session=${token}` } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<div id="app">');
    const api = await fetch(`${origin}/api/app/overview`, { headers: { authorization: `Bearer ${token}` } });
    expect([api.status, ((await api.json()) as { error: { code: string } }).error.code]).toEqual([401, 'app_not_signed_in']);

    // Again: the running one is opened (a fresh one-time address), no second daemon.
    const again = await app(['--server', 'http://127.0.0.1:9'], env, /open in your browser/);
    await new Promise<void>((r) => again.child.once('close', () => r()));
    expect(again.child.exitCode).toBe(0);
    expect(again.out).toContain(origin);
    const launches = readFileSync(opened, 'utf8').trim().split('\n');
    expect(launches).toHaveLength(2);
    expect(launches[1]).not.toBe(launches[0]);
    expect((await fetch(launches[1]!, { redirect: 'manual' })).status).toBe(303);

    // Without a desktop session: the address is printed (the session one: only this person sees it).
    const headless = await app(['--server', 'http://127.0.0.1:9'], { PATH: env.PATH, HOME: home }, /Open this address in your browser:\n(http\S+)/);
    await new Promise<void>((r) => headless.child.once('close', () => r()));
    expect(headless.out).toContain(`${origin}/?token=${token}`);

    first.child.kill('SIGTERM');
    await new Promise<void>((r) => first.child.once('close', () => r()));
    expect(first.child.exitCode).toBe(0);
  }, 60_000);
});
