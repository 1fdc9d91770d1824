/**
 * The restore engine end to end, with real parts only: the reference server
 * on 127.0.0.1 (real device-flow login), a seeded snapshot chain, a git
 * smart-HTTP server, and a real Debian bookworm minbase root; the CLI runs as
 * a child process, as the installer job would run it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { lstatSync, mkdtempSync, readFileSync, readlinkSync, rmSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testServer, loginAs, type TestServer } from '../test/server/fixture.ts';
import { saveTokens } from '../src/auth/index.ts';
import { DriveClient } from '../src/drive/index.ts';
import { sqliteHandleOf } from '../src/server/index.ts';
import { makeDebianRoot, type TestRoot } from '../test/helpers/debian-root.ts';
import { startGitHttp, type GitHttpServer } from '../test/helpers/git-http.ts';
import { runInChroot } from '../src/chroot-appliers/chroot-runner.ts';
import { g, setGitHome } from '../test/helpers/git.ts';
import { snapshotTree } from '../test/chroot/tree.ts';
import { seedChain, PASSPHRASE, type SeededChain } from '../test/helpers/seed-chain.ts';
import { spawnCli } from '../test/helpers/cli.ts';

let srv: TestServer, work: string, env: NodeJS.ProcessEnv, seeded: SeededChain, git: GitHttpServer;

const cli = (args: string[], o: { stdin?: string; killWhen?: (stdout: string) => boolean } = {}) => spawnCli(args, { env, ...o });

async function freshTarget(): Promise<TestRoot> {
  const t = await makeDebianRoot();
  await runInChroot(t.root, ['useradd', '-m', '-u', '1000', '-s', '/bin/bash', 'ana']);
  return t;
}

const restoreArgs = (root: string, state: string) => ['restore', '--target', root, '--user', 'ana', '--hostname', 'koder-novo', '--passphrase-stdin', '--json', '--state-dir', state];

/** Content + metadata of the target, minus what legitimately differs between two runs (logs, apt caches, report times). */
function targetTree(root: string, o: { mtimes: boolean } = { mtimes: true }) {
  const volatile = /^(var\/log|var\/cache|var\/lib\/apt\/lists|var\/lib\/koder-restore\/(report\.json|report\.txt|chroot-runner\.json)|var\/lib\/dpkg\/(status-old|available-old|lock)|etc\/ld\.so\.cache|tmp|run|proc|sys|dev)(\/|$)/;
  // Across two targets, git's stat cache and reflogs record times and inodes by design.
  const perRun = /(^|\/)\.git\/(index|logs)(\/|$)/;
  const t = snapshotTree(root, { skip: (rel) => volatile.test(rel) || (!o.mtimes && perRun.test(rel)) });
  return Object.fromEntries([...t].map(([k, v]) => [k, { ...v, ino: 0, mtimeSec: o.mtimes && v.type === 'file' ? v.mtimeSec : 0 }]));
}

function diffTrees(a: Record<string, unknown>, b: Record<string, unknown>): string[] {
  const out: string[] = [];
  for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) if (JSON.stringify(a[k]) !== JSON.stringify(b[k])) out.push(k);
  return out;
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'ks-e2e-restore-'));
  setGitHome(work);
  srv = await testServer();
  const tokens = await loginAs(srv, 'ana');
  env = { PATH: process.env.PATH, HOME: work, XDG_CONFIG_HOME: join(work, 'config'), XDG_STATE_HOME: join(work, 'state'), KODER_SNAPSHOT_SERVER: srv.url, KODER_CACHE_DIR: process.env.KODER_CACHE_DIR };
  await saveTokens(tokens, env);
  // A repo on a forge: bare repo served by git http-backend.
  const forge = join(work, 'forge');
  const site = join(work, 'site');
  g(work, ['init', '-q', '-b', 'main', site]);
  g(site, ['commit', '-q', '--allow-empty', '-m', 'site: first']);
  g(work, ['clone', '-q', '--bare', site, join(forge, 'site.git')]);
  git = await startGitHttp(forge);
  const client = new DriveClient({ server: srv.url, tokens: tokens.access_token });
  seeded = await seedChain(client, work, { httpRepoUrl: `${git.url}/site.git`, user: (await client.me()).id });
}, 300_000);

afterAll(async () => {
  await git?.close();
  await srv?.cleanup();
  rmSync(work, { recursive: true, force: true });
});

describe('koder-snapshot restore into a real Debian root', () => {
  let target: TestRoot;
  let firstTree: Record<string, unknown>;
  let firstTreeNoTimes: Record<string, unknown>;

  afterAll(async () => target?.dispose());

  it('restores system, packages, repos, secrets and files; defers snaps to first boot', async () => {
    target = await freshTarget();
    const hostDev = readdirSync('/dev').sort();
    const state = join(work, 'state-1');
    const r = await cli(restoreArgs(target.root, state), { stdin: PASSPHRASE + '\n' });
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    const report = lines.find((l) => l.type === 'report')?.report;
    expect(report, r.stderr).toBeDefined();
    expect(r.code).toBe(3); // done, with a package missing from the archive
    const root = target.root;
    const at = (p: string) => join(root, p);
    const status = (id: string) => report.results.find((x: { stepId: string }) => x.stepId === id);

    // system
    expect(readFileSync(at('etc/hostname'), 'utf8')).toBe('koder-novo\n');
    expect(readFileSync(at('etc/hosts'), 'utf8')).toMatch(/^127\.0\.1\.1\s+koder-novo/m);
    expect(readFileSync(at('etc/timezone'), 'utf8').trim()).toBe('America/Sao_Paulo');
    expect(readlinkSync(at('etc/localtime'))).toMatch(/zoneinfo\/America\/Sao_Paulo$/);
    expect((await runInChroot(root, ['locale', '-a'])).stdout).toMatch(/^pt_BR\.utf8$/m);
    expect(readFileSync(at('etc/default/keyboard'), 'utf8')).toMatch(/^XKBLAYOUT="?br"?$/m);
    // apt: jq and tree installed (from the delta), the missing one reported
    expect((await runInChroot(root, ['jq', '-n', '1+1'])).stdout.trim()).toBe('2');
    expect((await runInChroot(root, ['tree', '--version'])).code).toBe(0);
    expect(status('apt.install').status).not.toBe('done');
    expect(JSON.stringify(status('apt.install'))).toContain('no-such-package-xyz');
    // files byte-identical, owned by ana
    const docs = at('home/ana/Documentos');
    expect(readFileSync(join(docs, 'leia-me.txt'), 'utf8')).toBe('Olá, mundo restaurado!\n');
    expect(readFileSync(join(docs, 'contas/2026/extrato.bin')).equals(readFileSync(join(seeded.documents, 'contas/2026/extrato.bin')))).toBe(true);
    expect(lstatSync(join(docs, 'script.sh')).mode & 0o777).toBe(0o755);
    expect(readlinkSync(join(docs, 'atalho'))).toBe('contas/2026/extrato.bin');
    expect(lstatSync(join(docs, 'leia-me.txt')).uid).toBe(1000);
    // repos: the bundle (with uncommitted work back) and the https clone
    const notas = at('home/ana/dev/notas');
    expect(readFileSync(join(notas, 'README.md'), 'utf8')).toContain('rascunho não commitado');
    expect(readFileSync(join(notas, 'nova.txt'), 'utf8')).toBe('arquivo novo\n');
    expect(g(notas, ['log', '--format=%s', 'main'])).toBe('first');
    expect(g(at('home/ana/dev/site'), ['log', '--format=%s'])).toBe('site: first');
    // secrets: 0600, owned by ana, in a 0700 ~/.ssh
    const key = at('home/ana/.ssh/id_ed25519');
    expect(readFileSync(key).equals(seeded.sshKey)).toBe(true);
    expect(lstatSync(key).mode & 0o777).toBe(0o600);
    expect(lstatSync(key).uid).toBe(1000);
    expect(lstatSync(at('home/ana/.ssh')).mode & 0o777).toBe(0o700);
    // first boot: unit enabled, snap task recorded
    expect(readlinkSync(at('etc/systemd/system/multi-user.target.wants/koder-restore-firstboot.service'))).toBe('/etc/systemd/system/koder-restore-firstboot.service');
    expect(readFileSync(at('var/lib/koder-restore/firstboot-tasks.json'), 'utf8')).toContain('spotify');
    expect(JSON.parse(readFileSync(at('var/lib/koder-restore/report.json'), 'utf8')).snapshotId).toBe(seeded.leaf);
    // host untouched
    // (other test files mount their own roots meanwhile, so look for ours, not for equality)
    const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n');
    expect(mounts.filter((l) => l.includes(`${root}/`) || / koder-(dev|devpts|shm|proc|sysfs|run) /.test(l))).toEqual([]);
    expect(readdirSync('/dev').sort()).toEqual(hostDev);
    // progress was reported as JSON lines for the installer
    expect(lines.filter((l) => l.type === 'progress').length).toBeGreaterThan(3);
    firstTree = targetTree(root);
    firstTreeNoTimes = targetTree(root, { mtimes: false });
  }, 900_000);

  it('a second run changes nothing in the target', async () => {
    const r = await cli(restoreArgs(target.root, join(work, 'state-2')), { stdin: PASSPHRASE + '\n' });
    expect(r.code, r.stderr).toBe(3);
    expect(diffTrees(firstTree, targetTree(target.root))).toEqual([]);
  }, 900_000);

  it('killed in the middle of apt and again of files, a resumed run ends with the same target as an uninterrupted one', async () => {
    const killed = await freshTarget();
    try {
      const state = join(work, 'state-kill');
      // 1: while dpkg is unpacking/configuring packages
      const inApt = await cli(restoreArgs(killed.root, state), { stdin: PASSPHRASE + '\n', killWhen: (out) => /"current":"apt\.install"[^\n]*"doneItems":[1-9]/.test(out) });
      expect(inApt.signal).toBe('SIGKILL');
      // 2: while the documents archive streams into the target
      const inFiles = await cli(restoreArgs(killed.root, state), { stdin: PASSPHRASE + '\n', killWhen: (out) => /"current":"files\.restore/.test(out) });
      expect(inFiles.signal).toBe('SIGKILL');
      const last = await cli(restoreArgs(killed.root, state), { stdin: PASSPHRASE + '\n' });
      expect(last.code, last.stderr).toBe(3);
      expect(diffTrees(firstTreeNoTimes, targetTree(killed.root, { mtimes: false }))).toEqual([]);
    } finally {
      await killed.dispose();
    }
  }, 1_200_000);

  it('--dry-run verifies and prints the plan, writing nothing', async () => {
    const before = targetTree(target.root);
    const r = await cli([...restoreArgs(target.root, join(work, 'state-dry')), '--dry-run']);
    expect(r.code, r.stderr).toBe(0);
    const plan = JSON.parse(r.stdout.trim().split('\n').pop()!);
    expect(plan.type).toBe('plan');
    expect(plan.steps.map((s: { kind: string }) => s.kind)).toContain('apt.install');
    expect(diffTrees(before, targetTree(target.root))).toEqual([]);
  }, 300_000);

  it('a blob tampered on the server is refused and nothing of it is left in the target', async () => {
    const docsBlob = [...seeded.blobs.keys()].find((hex) => readFileSync(seeded.blobs.get(hex)!).subarray(0, 4).equals(Buffer.from([0x28, 0xb5, 0x2f, 0xfd])))!;
    const stored = execFileSync('find', [srv.dataDir, '-name', `*${docsBlob}`, '-type', 'f'], { encoding: 'utf8' }).trim();
    const original = readFileSync(stored);
    const bad = Buffer.from(original);
    bad[Math.floor(bad.length / 2)]! ^= 0xff;
    writeFileSync(stored, bad);
    const t = await freshTarget();
    try {
      const before = targetTree(t.root);
      // No --hostname: the hostname is a system setting, not part of --only files.
      const r = await cli(['restore', '--target', t.root, '--user', 'ana', '--json', '--state-dir', join(work, 'state-tamper-blob'), '--only', 'files']);
      expect(r.code).toBe(1);
      expect(r.stdout + r.stderr).toMatch(/hash/);
      const changed = diffTrees(before, targetTree(t.root));
      // Only the report dir may differ; no documents, no staging, no hostname.
      expect(changed.filter((p) => !/^var\/lib\/koder-restore(\/|$)/.test(p) && p !== 'var/lib')).toEqual([]);
      expect(execFileSync('find', [t.root, '-name', '*koder-restore-staging*'], { encoding: 'utf8' }).trim()).toBe('');
    } finally {
      writeFileSync(stored, original);
      await t.dispose();
    }
  }, 300_000);

  it('a manifest tampered on the server is refused before anything is written', async () => {
    const db = sqliteHandleOf(srv);
    const row = db.prepare('SELECT user_id, text FROM snapshots WHERE id = ?').get(seeded.leaf) as { user_id: string; text: string };
    db.prepare('UPDATE snapshots SET text = ? WHERE id = ?').run(row.text.replace('America/Sao_Paulo', 'America/Manaus'), seeded.leaf);
    const t = await freshTarget();
    try {
      const before = targetTree(t.root);
      const r = await cli(restoreArgs(t.root, join(work, 'state-tamper-manifest')), { stdin: PASSPHRASE + '\n' });
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(/REFUSED/);
      expect(diffTrees(before, targetTree(t.root))).toEqual([]);
    } finally {
      db.prepare('UPDATE snapshots SET text = ? WHERE id = ?').run(row.text, seeded.leaf);
      await t.dispose();
    }
  }, 300_000);
});
