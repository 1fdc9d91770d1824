/**
 * The Calamares exec job on the drive path: the person chose "Restore from a
 * drive" (the daemon's START_EXPORT on an export folder, no login), and the
 * real job (calamares-module/koderrestore/main.py, stub libcalamares) hands
 * the daemon the target exactly as on the Koder ID path. The daemon's
 * --server is a port nobody listens on: the restore needs no server. The
 * snapshot is seedChain's (version 1 blobs: a documents archive, a bundle, a
 * sealed key), exported by the real exporter; the target a bookworm minbase
 * root with ana.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { makeDebianRoot, type TestRoot } from '../helpers/debian-root.ts';
import { runInChroot } from '../../src/chroot-appliers/chroot-runner.ts';
import { DriveClient } from '../../src/drive/index.ts';
import { exportSnapshot } from '../../src/export/export.ts';
import { loginAs } from '../server/fixture.ts';
import { installerWorld, chooseAndConfirm, type InstallerWorld, type Daemon } from './daemon-fixture.ts';

const MAIN = new URL('../../calamares-module/koderrestore/main.py', import.meta.url).pathname;
const PY_TEST = new URL('./test_koderrestore.py', import.meta.url).pathname;

let world: InstallerWorld, target: TestRoot, daemon: Daemon, exportDir: string;

async function deadUrl(): Promise<string> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return `http://127.0.0.1:${port}`;
}

beforeAll(async () => {
  world = await installerWorld();
  const client = new DriveClient({ server: world.srv.url, tokens: (await loginAs(world.srv, 'ana')).access_token });
  exportDir = join(world.work, 'usb/koder');
  await exportSnapshot({ client, snapshotId: world.seeded.leaf, dir: exportDir, identity: world.seeded.identity });
  const [t, d] = await Promise.all([makeDebianRoot(), world.startDaemon('drive', {}, await deadUrl())]);
  target = t;
  daemon = d;
  await runInChroot(target.root, ['useradd', '-m', '-u', '1000', '-s', '/bin/bash', 'ana']);
  await chooseAndConfirm(daemon, { snapshotId: world.seeded.leaf, categories: ['files', 'repos', 'secrets'], fromDir: exportDir });
}, 300_000);

afterAll(async () => {
  await target?.dispose();
  await world?.cleanup();
});

describe('koderrestore Calamares job, restoring from a drive', () => {
  it('restores into the target with progress, as on the Koder ID path (no server)', async () => {
    const scratch = join(world.work, 'scratch');
    mkdirSync(scratch);
    const r = await new Promise<{ status: number | null; stderr: string }>((resolve) => {
      const child = spawn('python3', [PY_TEST, 'KoderRestoreJob.test_1_restores_into_the_target_with_progress'], {
        env: {
          PATH: process.env.PATH,
          PYTHONDONTWRITEBYTECODE: '1',
          KODER_TEST_MAIN: MAIN,
          KODER_TEST_ROOT: target.root,
          KODER_TEST_USER: 'ana',
          KODER_TEST_UID: '1000',
          KODER_TEST_CONFIRMED_URL: daemon.urlFile,
          KODER_TEST_SCRATCH: scratch,
          KODER_TEST_EXPECT: JSON.stringify({
            'home/ana/Documentos/leia-me.txt': 'Olá, mundo restaurado!\n',
            'home/ana/dev/notas/nova.txt': 'arquivo novo\n',
            'home/ana/.ssh/id_ed25519': world.seeded.sshKey.toString('utf8'),
          }),
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (d) => (stderr += d));
      child.on('close', (status) => resolve({ status, stderr }));
    });
    expect(r.status, `${r.stderr}\n--- daemon ---\n${daemon.stderr()}`).toBe(0);
    expect(r.stderr).toMatch(/Ran 1 test/);
  }, 300_000);
});
