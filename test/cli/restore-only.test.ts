/**
 * `restore --only` means only: a category left out writes nothing in the
 * target. The CLI runs as a child process (as the installer job runs it)
 * against the real server with a seeded chain, into a real Debian bookworm
 * minbase root; every entry's type, mode, owner, inode, size, mtime and ctime
 * (nanoseconds) is compared before and after. Only the chosen folder, the
 * restore's own report folder and the directories on the way to them (whose
 * mtime moves when an entry appears in them) may differ.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testServer, loginAs, type TestServer } from '../server/fixture.ts';
import { saveTokens } from '../../src/auth/index.ts';
import { DriveClient } from '../../src/drive/index.ts';
import { makeDebianRoot, type TestRoot } from '../helpers/debian-root.ts';
import { runInChroot } from '../../src/chroot-appliers/chroot-runner.ts';
import { seedChain } from '../helpers/seed-chain.ts';
import { setGitHome } from '../helpers/git.ts';
import { statTree, changedEntries } from '../helpers/tree-state.ts';
import { runCli, spawnCli } from '../helpers/cli.ts';

let srv: TestServer, work: string, env: NodeJS.ProcessEnv, target: TestRoot;

const cli = (args: string[]) => spawnCli(args, { env });

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'ks-restore-only-'));
  setGitHome(work);
  srv = await testServer();
  const tokens = await loginAs(srv, 'ana');
  env = { PATH: process.env.PATH, HOME: work, XDG_CONFIG_HOME: join(work, 'config'), XDG_STATE_HOME: join(work, 'state'), KODER_SNAPSHOT_SERVER: srv.url, KODER_CACHE_DIR: process.env.KODER_CACHE_DIR };
  await saveTokens(tokens, env);
  const client = new DriveClient({ server: srv.url, tokens: tokens.access_token });
  await seedChain(client, work, { user: (await client.me()).id });
  target = await makeDebianRoot();
  await runInChroot(target.root, ['useradd', '-m', '-u', '1000', '-s', '/bin/bash', 'ana']);
}, 300_000);

afterAll(async () => {
  await target?.dispose();
  await srv?.cleanup();
  rmSync(work, { recursive: true, force: true });
});

describe('restore --only', () => {
  it('--only files restores the documents and writes nothing else (no hostname, no /etc/hosts)', async () => {
    const skip = (rel: string) => /^(proc|sys|dev|run|tmp)(\/|$)/.test(rel);
    const before = statTree(target.root, { skip });
    const r = await cli(['restore', '--target', target.root, '--user', 'ana', '--only', 'files', '--json', '--state-dir', join(work, 'state-only')]);
    const report = r.stdout.trim().split('\n').map((l) => JSON.parse(l)).find((l) => l.type === 'report')?.report;
    expect(report?.status, r.stderr).toBe('done');
    expect(report.results.map((x: { stepId: string }) => x.stepId)).toEqual(['files.restore:~/Documentos']);
    expect(r.code).toBe(0);
    expect(readFileSync(join(target.root, 'home/ana/Documentos/leia-me.txt'), 'utf8')).toBe('Olá, mundo restaurado!\n');

    const changed = changedEntries(before, statTree(target.root, { skip }), {
      // Chosen: the documents; the restore's own record: its report.
      written: ['home/ana/Documentos', 'var/lib/koder-restore'],
    });
    expect(changed).toEqual([]);
  }, 120_000);

  it('--hostname without the system category is a usage error (the hostname is a system setting)', async () => {
    const r = await runCli(['restore', '--server', srv.url, '--target', target.root, '--user', 'ana', '--only', 'files', '--hostname', 'novo']);
    expect(r.code).toBe(2);
    expect(r.stderr.split('\n')[0]).toBe('koder-snapshot restore: --hostname sets a system setting: add system to --only (or leave --hostname out)');
  });
});
