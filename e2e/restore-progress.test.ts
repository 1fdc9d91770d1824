/**
 * Progress inside apt, end to end with real parts: the reference server on
 * 127.0.0.1, a seeded snapshot with 24 apt packages (93 with their
 * dependencies on bookworm), `koder-snapshot restore --json` as a child
 * process into a fresh bookworm minbase root, apt-get against the real
 * archive. While the apt step runs, the JSON lines must move: the share
 * done rising in many steps, apt's phases with the package in hand, and an
 * estimate of the time left.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testServer, loginAs, type TestServer } from '../test/server/fixture.ts';
import { saveTokens } from '../src/auth/index.ts';
import { DriveClient } from '../src/drive/index.ts';
import { makeDebianRoot, type TestRoot } from '../test/helpers/debian-root.ts';
import { runInChroot } from '../src/chroot-appliers/chroot-runner.ts';
import { setGitHome } from '../test/appliers-data/git.ts';
import { seedChain, type SeededChain } from '../test/helpers/seed-chain.ts';

const BIN = new URL('../bin/koder-snapshot.mjs', import.meta.url).pathname;
const PACKAGES = 'jq tree less curl git vim-tiny nano htop file zip unzip rsync wget bc patch make lsof strace psmisc man-db python3 ncdu tmux sqlite3'.split(' ');

let srv: TestServer, work: string, env: NodeJS.ProcessEnv, seeded: SeededChain, target: TestRoot;

interface Line { type: string; current?: string; stepPhase?: string; detail?: string; fraction: number; etaSeconds?: number; report?: unknown; at: number }

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'ks-e2e-progress-'));
  setGitHome(work);
  srv = await testServer();
  const tokens = await loginAs(srv, 'ana');
  env = { PATH: process.env.PATH, HOME: work, XDG_CONFIG_HOME: join(work, 'config'), XDG_STATE_HOME: join(work, 'state'), KODER_SNAPSHOT_SERVER: srv.url, KODER_CACHE_DIR: process.env.KODER_CACHE_DIR };
  await saveTokens(tokens, env);
  const client = new DriveClient({ server: srv.url, tokens: tokens.access_token });
  seeded = await seedChain(client, work, { user: (await client.me()).id, apt: PACKAGES });
  target = await makeDebianRoot();
  await runInChroot(target.root, ['useradd', '-m', '-u', '1000', '-s', '/bin/bash', 'ana']);
}, 300_000);

afterAll(async () => {
  await target?.dispose();
  await srv?.cleanup();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('progress during apt, as JSON lines', () => {
  it(`restoring ${PACKAGES.length} packages: the share done rises in more than 10 steps during the apt step, with the package in hand and an ETA`, async () => {
    const lines: Line[] = [];
    const code = await new Promise<number | null>((resolve) => {
      const child = spawn(process.execPath, [BIN, 'restore', '--target', target.root, '--user', 'ana', '--snapshot', seeded.leaf, '--only', 'apps', '--json', '--state-dir', join(work, 'state-apt')], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let buf = '';
      let err = '';
      child.stdout.on('data', (d) => {
        buf += d;
        const parts = buf.split('\n');
        buf = parts.pop()!;
        for (const l of parts) if (l.trim()) lines.push({ ...JSON.parse(l), at: Date.now() });
      });
      child.stderr.on('data', (d) => (err += d));
      child.on('close', (c) => {
        if (c !== 3 && c !== 0) console.error(err.slice(-4000));
        resolve(c);
      });
    });
    const report = lines.find((l) => l.type === 'report')?.report as { results: Array<{ stepId: string; status: string; message?: string }> };
    expect(report).toBeDefined();
    const apt = report.results.find((r) => r.stepId === 'apt.install')!;
    expect(apt.message).toMatch(new RegExp(`^${PACKAGES.length} packages installed`));
    expect(code).toBe(0);
    expect((await runInChroot(target.root, ['python3', '-c', 'print(6*7)'])).stdout.trim()).toBe('42');

    const during = lines.filter((l) => l.type === 'progress' && l.current === 'apt.install');
    const fractions = during.map((l) => l.fraction);
    // more than 10 distinct values, never going back
    expect(new Set(fractions).size).toBeGreaterThan(10);
    for (let i = 1; i < fractions.length; i++) expect(fractions[i]!).toBeGreaterThanOrEqual(fractions[i - 1]!);
    expect(fractions.at(-1)! - fractions[0]!).toBeGreaterThan(0.3);
    // apt's phases, and dpkg's packages by name
    const phases = during.map((l) => l.stepPhase).filter((p, i, a) => p && p !== a[i - 1]);
    expect(phases).toEqual(expect.arrayContaining(['update', 'install']));
    expect(phases.indexOf('update')).toBeLessThan(phases.lastIndexOf('install'));
    const installing = new Set(during.filter((l) => l.stepPhase === 'install').map((l) => l.detail));
    expect(installing.size).toBeGreaterThan(5);
    // an estimate of the time left while apt works, counting down
    const withEta = during.filter((l) => l.etaSeconds !== undefined);
    expect(withEta.length).toBeGreaterThan(during.length / 3);
    const etas = withEta.map((l) => l.etaSeconds!);
    expect(etas.at(-1)!).toBeLessThan(etas[0]! + 5);
    console.log(`apt step: ${during.length} progress lines over ${((during.at(-1)!.at - during[0]!.at) / 1000).toFixed(1)} s, ${new Set(fractions).size} distinct shares ${fractions[0]} → ${fractions.at(-1)}, ETA ${etas.join(' ')}`);
  }, 900_000);
});
