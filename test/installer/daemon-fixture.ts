/**
 * Real restore daemons for the installer tests: the reference server with
 * `ana` logged in (tokens saved where the daemon looks), a seeded snapshot
 * chain, and `koder-snapshot daemon --mode installer --url-file FILE` run as
 * child processes — as koder-snapshot-daemon.service runs it on the live ISO.
 * The wizard's choice is made through the daemon's own HTTP API (the events
 * the wizard page sends): START, CHOOSE, CONFIRM — or SKIP.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testServer, loginAs, type TestServer } from '../server/fixture.ts';
import { saveTokens } from '../../src/auth/index.ts';
import { DriveClient } from '../../src/drive/index.ts';
import { seedChain, PASSPHRASE, type SeededChain } from '../helpers/seed-chain.ts';
import { setGitHome } from '../helpers/git.ts';

export const BIN = new URL('../../bin/koder-snapshot.mjs', import.meta.url).pathname;

export interface Daemon {
  url: string;
  urlFile: string;
  origin: string;
  token: string;
  child: ChildProcess;
  stderr: () => string;
  /** fetch on the daemon with the token as a Bearer header. */
  api(path: string, init?: { method?: string; body?: unknown }): Promise<Response>;
  status(): Promise<{ phase: string; confirmed: boolean; mode: string }>;
  waitFor(pred: (s: { phase: string; confirmed: boolean }) => boolean, what: string, ms?: number): Promise<void>;
  stop(): Promise<void>;
}

export interface InstallerWorld {
  work: string;
  env: NodeJS.ProcessEnv;
  srv: TestServer;
  /** ana's client on the server (her login). */
  client: DriveClient;
  seeded: SeededChain;
  startDaemon(name: string, extraEnv?: NodeJS.ProcessEnv): Promise<Daemon>;
  cleanup(): Promise<void>;
}

/** `apt`: the leaf snapshot's apt packages (default: seedChain's). */
export async function installerWorld(o: { apt?: string[] } = {}): Promise<InstallerWorld> {
  const work = mkdtempSync(join(tmpdir(), 'ks-installer-'));
  setGitHome(work);
  const srv = await testServer();
  const tokens = await loginAs(srv, 'ana');
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: work, XDG_CONFIG_HOME: join(work, 'config'), XDG_STATE_HOME: join(work, 'state'), KODER_SNAPSHOT_SERVER: srv.url, KODER_CACHE_DIR: process.env.KODER_CACHE_DIR };
  await saveTokens(tokens, env);
  const client = new DriveClient({ server: srv.url, tokens: tokens.access_token });
  const seeded = await seedChain(client, work, { user: (await client.me()).id, ...(o.apt ? { apt: o.apt } : {}) });
  const daemons: Daemon[] = [];

  const startDaemon = async (name: string, extraEnv: NodeJS.ProcessEnv = {}): Promise<Daemon> => {
    const urlFile = join(work, `${name}.url`);
    const token = `tok-${name}-${Math.random().toString(36).slice(2)}`;
    const child = spawn(process.execPath, [BIN, 'daemon', '--port', '0', '--state-dir', join(work, `daemon-${name}`), '--server', srv.url, '--mode', 'installer', '--token', token, '--url-file', urlFile, '--hostname', 'koder-novo'], {
      env: { ...env, ...extraEnv },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '', err = '';
    child.stderr!.on('data', (d) => (err += d));
    const url = await new Promise<string>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`daemon ${name} did not start:\n${err}`)), 60_000);
      child.stdout!.on('data', (d) => {
        out += d;
        const m = /^(http:\/\/127\.0\.0\.1:\d+\/\?token=\S+)$/m.exec(out);
        if (m) { clearTimeout(t); resolve(m[1]!); }
      });
      child.on('exit', (code) => { clearTimeout(t); reject(new Error(`daemon ${name} exited ${code}:\n${err}`)); });
    });
    const origin = new URL(url).origin;
    const api = (path: string, init: { method?: string; body?: unknown } = {}) =>
      fetch(origin + path, {
        method: init.method ?? 'GET',
        headers: { Authorization: `Bearer ${token}`, ...(init.body === undefined ? {} : { 'Content-Type': 'application/json' }) },
        body: init.body === undefined ? undefined : JSON.stringify(init.body),
      });
    const status = async () => (await (await api('/api/status')).json()) as { phase: string; confirmed: boolean; mode: string };
    const d: Daemon = {
      url, urlFile, origin, token, child, stderr: () => err, api, status,
      async waitFor(pred, what, ms = 60_000) {
        const end = Date.now() + ms;
        let last;
        while (Date.now() < end) {
          last = await status();
          if (pred(last)) return;
          if (/failed|refused/.test(last.phase)) break;
          await new Promise((r) => setTimeout(r, 100));
        }
        throw new Error(`daemon: waiting for ${what}, last status ${JSON.stringify(last)}\n${err}`);
      },
      async stop() {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      },
    };
    if (readFileSync(urlFile, 'utf8').trim() !== url) throw new Error('the url file does not hold the printed URL');
    daemons.push(d);
    return d;
  };

  return {
    work, env, srv, client, seeded, startDaemon,
    async cleanup() {
      for (const d of daemons) await d.stop();
      await srv.cleanup();
      rmSync(work, { recursive: true, force: true });
    },
  };
}

/** The wizard's choice, made through the daemon's API: login (saved session), choose, confirm. */
export async function chooseAndConfirm(d: Daemon, o: { snapshotId: string; categories: string[]; targetUser?: string; confirm?: boolean }) {
  const post = async (body: unknown) => {
    const r = await d.api('/api/events', { method: 'POST', body });
    if (r.status !== 202) throw new Error(`POST /api/events ${JSON.stringify(body)}: ${r.status} ${await r.text()}`);
  };
  await post({ type: 'START' });
  await d.waitFor((s) => s.phase === 'choose', 'the snapshot list');
  await post({ type: 'CHOOSE', choice: { snapshotId: o.snapshotId, hostname: 'koder-novo', targetUser: o.targetUser ?? 'ana', categories: o.categories }, passphrase: PASSPHRASE });
  await d.waitFor((s) => s.phase === 'ready', 'the plan');
  if (o.confirm === false) return;
  await post({ type: 'CONFIRM' });
  await d.waitFor((s) => s.confirmed, 'the confirmation');
}

export async function skip(d: Daemon) {
  const r = await d.api('/api/events', { method: 'POST', body: { type: 'SKIP' } });
  if (r.status !== 202) throw new Error(`SKIP: ${r.status}`);
  await d.waitFor((s) => s.phase === 'skipped', 'skipped');
}
