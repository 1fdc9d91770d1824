/**
 * The Calamares exec job (calamares-module/koderrestore/main.py) for real:
 * Python `unittest` (test_koderrestore.py, stub libcalamares) against real
 * daemons in installer mode and a real bookworm minbase target where the
 * user exists (`useradd`, as Calamares' users module leaves it).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { makeDebianRoot, type TestRoot } from '../helpers/debian-root.ts';
import { runInChroot } from '../../src/chroot-appliers/chroot-runner.ts';
import { installerWorld, chooseAndConfirm, skip, type InstallerWorld, type Daemon } from './daemon-fixture.ts';

const MAIN = new URL('../../calamares-module/koderrestore/main.py', import.meta.url).pathname;
const PY_TEST = new URL('./test_koderrestore.py', import.meta.url).pathname;

let world: InstallerWorld, target: TestRoot, confirmed: Daemon, skipped: Daemon, downUrlFile: string;

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 240_000);
    child.on('close', (status) => { clearTimeout(timer); resolve({ status, stdout, stderr }); });
  });
}

/** A port that was free a moment ago (nobody listens on it). */
async function deadPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

beforeAll(async () => {
  world = await installerWorld();
  const [t, a, b] = await Promise.all([makeDebianRoot(), world.startDaemon('confirmed'), world.startDaemon('skipped')]);
  target = t; confirmed = a; skipped = b;
  await runInChroot(target.root, ['useradd', '-m', '-u', '1000', '-s', '/bin/bash', 'ana']);
  await Promise.all([chooseAndConfirm(confirmed, { snapshotId: world.seeded.leaf, categories: ['files', 'repos', 'secrets'] }), skip(skipped)]);
  downUrlFile = join(world.work, 'down.url');
  writeFileSync(downUrlFile, `http://127.0.0.1:${await deadPort()}/?token=nobody-home\n`);
}, 300_000);

afterAll(async () => {
  await target?.dispose();
  await world?.cleanup();
});

describe('koderrestore Calamares job (python, real daemon, real target)', () => {
  it('passes its Python unittest suite', async () => {
    const scratch = join(world.work, 'scratch');
    mkdirSync(scratch);
    // Asynchronously: the reference server lives in this process and must keep serving blobs.
    const r = await run('python3', [PY_TEST], {
      PATH: process.env.PATH,
      PYTHONDONTWRITEBYTECODE: '1',
      KODER_TEST_MAIN: MAIN,
      KODER_TEST_ROOT: target.root,
      KODER_TEST_USER: 'ana',
      KODER_TEST_UID: '1000',
      KODER_TEST_CONFIRMED_URL: confirmed.urlFile,
      KODER_TEST_SKIPPED_URL: skipped.urlFile,
      KODER_TEST_DOWN_URL: downUrlFile,
      KODER_TEST_SCRATCH: scratch,
      KODER_TEST_EXPECT: JSON.stringify({
        'home/ana/Documentos/leia-me.txt': 'Olá, mundo restaurado!\n',
        'home/ana/dev/notas/nova.txt': 'arquivo novo\n',
        'home/ana/.ssh/id_ed25519': world.seeded.sshKey.toString('utf8'),
      }),
    });
    const out = `${r.stdout}\n${r.stderr}\n--- daemon ---\n${confirmed.stderr()}`;
    expect(r.status, out).toBe(0);
    expect(r.stderr).toMatch(/Ran 7 tests/);
    expect(r.stderr).toMatch(/\nOK\n/);
  }, 300_000);
});
