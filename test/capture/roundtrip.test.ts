/**
 * Capture → real server → restore, end to end, with real git, zstd, tar and
 * sealing:
 * - a fixture home (documents, repositories clean / dirty / without remote,
 *   secrets) is captured and uploaded to a server on 127.0.0.1;
 * - the chain is fetched and verified from the server and restored by the
 *   restore engine's appliers (files.ts, repos.ts, secrets.ts) into a temp
 *   target root: same files
 *   byte for byte, same repositories with the uncommitted work back as
 *   uncommitted changes, same secrets;
 * - a second capture with nothing changed sends no blob byte and posts a
 *   delta with only its [snapshot] header;
 * - changing one document re-uploads only that folder's blob;
 * - no secret's plaintext is anywhere in the server's data dir (or the
 *   capture cache).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { capture, type CaptureEvent, type CaptureResult } from '../../src/capture/index.ts';
import type { StepApplier } from '../../src/chroot-appliers/applier.ts';
import { applyFiles } from '../../src/chroot-appliers/files.ts';
import { applyRepo } from '../../src/chroot-appliers/repos.ts';
import { applySecrets } from '../../src/chroot-appliers/secrets.ts';
import { resolveTarget } from '../../src/chroot-appliers/target.ts';
import { DriveClient } from '../../src/drive/index.ts';
import { driveBlobSource } from '../../src/daemon/drive-blobs.ts';
import { generateIdentity, type Identity } from '../../src/keys/identity.ts';
import { resolveChain, type Manifest } from '../../src/manifest/index.ts';
import type { PlanStep } from '../../src/restore-machine/plan.ts';
import { applyContext } from '../helpers/apply-context.ts';
import { loginAs, testServer, type TestServer } from '../server/fixture.ts';
import { allFiles, git, makeFixtureHome, readTree, testConfig, type FixtureHome } from './fixture.ts';

let srv: TestServer;
let fx: FixtureHome;
let client: DriveClient;
let token: string;
let identity: Identity;
let first: CaptureResult;
let firstEvents: CaptureEvent[];
let dirtyStatusBefore: string;
let dirtyIndexBefore: Buffer;

const cfg = () => testConfig(fx.base);
const events: CaptureEvent[] = [];
const run = (o: { full?: boolean } = {}) => capture({ config: cfg(), home: fx.home, root: '/', only: ['repos', 'secrets', 'files'], client, tokens: token, identity, onEvent: (e) => events.push(e), ...o });

async function restoreInto(root: string, snapshotId: string): Promise<{ folded: Manifest; results: Record<string, string> }> {
  const { folded } = await resolveChain(snapshotId, (id) => client.getManifest(id), [identity.signing.publicKey]);
  mkdirSync(join(root, 'etc'), { recursive: true });
  mkdirSync(join(root, 'home', 'ana'), { recursive: true });
  writeFileSync(join(root, 'etc', 'passwd'), `root:x:0:0:root:/root:/bin/sh\nana:x:${process.getuid!()}:${process.getgid!()}:Ana:/home/ana:/bin/bash\n`);
  const target = await resolveTarget(root, 'ana');
  const ctx = applyContext({ target, manifest: folded, choice: { snapshotId, categories: ['files', 'repos', 'secrets'] }, blobs: driveBlobSource(client), identity });
  const { plan } = ctx;
  const table: Partial<Record<PlanStep['kind'], StepApplier>> = { 'files.restore': applyFiles, 'repo.restore': applyRepo, 'secrets.restore': applySecrets };
  const results: Record<string, string> = {};
  for (const step of plan.steps) {
    const a = table[step.kind];
    if (!a) continue;
    const r = await a(step, ctx, () => {});
    results[step.id] = `${r.status}${r.message ? `: ${r.message}` : ''}`;
  }
  return { folded, results };
}

beforeAll(async () => {
  const base = mkdtempSync(join(tmpdir(), 'koder-capture-'));
  fx = makeFixtureHome(base);
  srv = await testServer();
  token = (await loginAs(srv, 'ana')).access_token;
  client = new DriveClient({ server: srv.url, tokens: token });
  identity = await generateIdentity();
  dirtyStatusBefore = git(fx.repos.dirty, fx.home, 'status', '--porcelain');
  dirtyIndexBefore = readFileSync(join(fx.repos.dirty, '.git', 'index'));
  first = await run();
  firstEvents = events.splice(0);
}, 120_000);

afterAll(async () => {
  await srv?.cleanup();
  fx?.cleanup();
});

describe('capture → server → restore', () => {
  it('the first capture is a full snapshot, posted, with the expected entries', () => {
    expect(first.posted).toBe(true);
    expect(first.kind).toBe('full');
    const m = first.manifest;
    expect(m.files?.entry?.map((f) => f.local_path)).toEqual(['~/Documents', '~/Pictures']);
    const repos = Object.fromEntries((m.repos?.entry ?? []).map((r) => [r.path, r]));
    expect(Object.keys(repos).sort()).toEqual(['~/dev/clean', '~/dev/local', '~/dev/work/dirty']);
    // clean and pushed: URL + branch only
    expect(repos['~/dev/clean']).toMatchObject({ slug: 'clean', branch: 'main', url: `file://${fx.remotes}/clean.git` });
    expect(repos['~/dev/clean']!.bundle).toBeUndefined();
    // dirty: a bundle, flagged dirty, with its remote
    expect(repos['~/dev/work/dirty']).toMatchObject({ branch: 'main', dirty: true, url: `file://${fx.remotes}/dirty.git` });
    expect(repos['~/dev/work/dirty']!.bundle_tree).toMatch(/^sha256:/);
    expect(repos['~/dev/work/dirty']!.bundle).toBeUndefined();
    // no remote: a bundle, no url
    expect(repos['~/dev/local']!.url).toBeUndefined();
    expect(repos['~/dev/local']).toMatchObject({ branch: 'trunk', dirty: true });
    expect(Object.keys(m.secrets ?? {}).sort()).toEqual(['config_rclone_rclone.conf', 'gnupg', 'netrc', 'ssh_id_ed25519']);
    expect(m.secrets!.gnupg).toMatchObject({ path: '~/.gnupg', mode: '0700', type: 'tar' });
    expect(m.secrets!.ssh_id_ed25519).toMatchObject({ path: '~/.ssh/id_ed25519', mode: '0600', type: 'file' });
    // Data v2: absolute symlinks are kept (restored as links, never followed).
    expect(first.warnings.some((w) => w.includes('absolute-link'))).toBe(false);
    expect(first.manifest.snapshot.version).toBe(2);
    for (const f of first.manifest.files!.entry!) expect(f).toMatchObject({ tree: expect.stringMatching(/^sha256:/), packs: expect.any(Array) });
    expect(first.uploadedBytes).toBeGreaterThan(500_000);
  });

  it("reports each folder's bytes against its size, counted beside the capture", () => {
    for (const f of first.manifest.files!.entry!) {
      const mine = firstEvents.filter((e) => 'label' in e && e.label === f.local_path);
      expect(mine[0]?.type, f.local_path).toBe('build.start');
      for (const e of mine) if (e.type === 'build.progress') expect(e.done).toBeLessThanOrEqual(e.total);
      const done = mine.find((e) => e.type === 'build.done');
      expect(done, f.local_path).toMatchObject({ inputSize: f.size, reused: false });
    }
  });

  it('the server holds only packs and tree roots: no document name or content in the clear', () => {
    const stored = allFiles(join(srv.dataDir, 'blobs'));
    expect(stored.length).toBeGreaterThan(1);
    for (const f of stored) {
      const bytes = readFileSync(f);
      // File names and contents, and the repositories' bundles (a v1 bundle shows its refs in the clear).
      for (const needle of ['notes.md', 'long-name-long-name', '# notes', 'refs/koder/wip', 'refs/heads/main']) expect(bytes.includes(needle), `${needle} in ${f}`).toBe(false);
    }
  });

  it('restores the same files, repositories (with uncommitted work) and secrets into a target root', async () => {
    const root = join(fx.base, 'target');
    mkdirSync(root);
    const { results } = await restoreInto(root, first.id);
    for (const [id, r] of Object.entries(results)) expect(r, id).toMatch(/^done/);
    const home = join(root, 'home', 'ana');

    // Files: byte-identical, same modes, same symlinks; skipped things absent.
    const skipped = (r: string) => r === 'node_modules' || r.startsWith('node_modules/');
    expect(readTree(join(home, 'Documents'))).toEqual(readTree(join(fx.home, 'Documents'), skipped));
    expect(readTree(join(home, 'Pictures'))).toEqual(readTree(join(fx.home, 'Pictures')));
    expect(statSync(join(home, 'Documents', 'report.txt')).mtime.toISOString()).toBe('2023-05-06T07:08:09.000Z');

    // Repositories: same HEAD and branch; the working tree as it was (tracked, staged, untracked; deleted stays deleted).
    for (const [rel, src] of [['dev/clean', fx.repos.clean], ['dev/work/dirty', fx.repos.dirty], ['dev/local', fx.repos.local]] as const) {
      const dst = join(home, rel);
      expect(git(dst, fx.home, 'rev-parse', 'HEAD'), rel).toBe(git(src, fx.home, 'rev-parse', 'HEAD'));
      expect(git(dst, fx.home, 'symbolic-ref', '--short', 'HEAD'), rel).toBe(git(src, fx.home, 'symbolic-ref', '--short', 'HEAD'));
      const notGit = (r: string) => r === '.git' || r.startsWith('.git/') || r === 'ignored.log';
      expect(readTree(dst, notGit), rel).toEqual(readTree(src, notGit));
    }
    const dirty = join(home, 'dev/work/dirty');
    expect(readFileSync(join(dirty, 'tracked.txt'), 'utf8')).toBe('changed, not staged\n');
    expect(existsSync(join(dirty, 'gone.txt'))).toBe(false);
    expect(existsSync(join(dirty, 'ignored.log'))).toBe(false);
    const status = git(dirty, fx.home, 'status', '--porcelain');
    expect(status).toMatch(/ M tracked\.txt|M  tracked\.txt/);
    expect(status).toContain('staged.txt');
    expect(status).toContain('untracked.txt');
    expect(status).toContain('gone.txt');
    expect(git(join(home, 'dev/local'), fx.home, 'log', '--format=%s')).toBe('two\none');
    expect(git(join(home, 'dev/local'), fx.home, 'status', '--porcelain')).toContain('scratch.txt');
    // The person's repositories were not touched by the capture.
    expect(git(fx.repos.dirty, fx.home, 'for-each-ref', '--format=%(refname)')).not.toContain('refs/koder');
    expect(readFileSync(join(fx.repos.dirty, '.git', 'index'))).toEqual(dirtyIndexBefore);
    expect(git(fx.repos.dirty, fx.home, 'status', '--porcelain')).toBe(dirtyStatusBefore);

    // Secrets: byte-identical, same modes.
    for (const rel of ['.ssh/id_ed25519', '.netrc', '.config/rclone/rclone.conf']) {
      expect(readFileSync(join(home, rel)), rel).toEqual(readFileSync(join(fx.home, rel)));
      expect(statSync(join(home, rel)).mode & 0o777, rel).toBe(0o600);
    }
    expect(existsSync(join(home, '.ssh/id_ed25519.pub'))).toBe(false);
    expect(readTree(join(home, '.gnupg'))).toEqual(readTree(join(fx.home, '.gnupg')));
    expect(statSync(join(home, '.gnupg')).mode & 0o777).toBe(0o700);
  }, 60_000);

  it('a second capture with nothing changed uploads no blob byte and posts an empty delta', async () => {
    const second = await run();
    expect(second.posted).toBe(true);
    expect(second.kind).toBe('delta');
    expect(second.parentId).toBe(first.id);
    expect(second.uploadedBytes).toBe(0);
    expect(Object.keys(second.manifest)).toEqual(['snapshot']);
    expect(second.manifest.snapshot.parent).toBe(first.id);
  }, 60_000);

  it('changing one document uploads only its chunk and the changed trees', async () => {
    writeFileSync(join(fx.home, 'Documents', 'sub', 'notes.md'), '# notes\n- one\n- two\n- three\n');
    const third = await run();
    expect(third.kind).toBe('delta');
    expect(third.uploadedBytes).toBeGreaterThan(0);
    expect(third.uploadedBytes).toBeLessThan(20_000);
    expect(Object.keys(third.manifest).sort()).toEqual(['files', 'snapshot']);
    expect(third.manifest.files!.entry!.map((f) => f.local_path)).toEqual(['~/Documents']);
    // The chain still folds to the whole machine.
    const { folded } = await resolveChain(third.id, (id) => client.getManifest(id), [identity.signing.publicKey]);
    expect(folded.repos?.entry).toHaveLength(3);
    expect(Object.keys(folded.secrets ?? {})).toHaveLength(4);
  }, 60_000);

  it('--only carries the other parts over from the parent; --full re-states everything and sends nothing new', async () => {
    const onlyFiles = await capture({ config: cfg(), home: fx.home, only: ['files'], client, tokens: token, identity });
    expect(onlyFiles.kind).toBe('delta');
    expect(Object.keys(onlyFiles.manifest)).toEqual(['snapshot']);
    expect(onlyFiles.full.repos?.entry).toHaveLength(3);
    const full = await run({ full: true });
    expect(full.kind).toBe('full');
    expect(full.manifest.snapshot.parent).toBeUndefined();
    expect(full.uploadedBytes).toBe(0);
    expect(Object.keys(full.manifest).sort()).toEqual(['files', 'repos', 'secrets', 'skips', 'snapshot']);
    // Unchanged secrets keep their sealed bytes (sealing is randomized): same as the first snapshot's.
    expect(full.manifest.secrets).toEqual(first.manifest.secrets);
  }, 60_000);

  it('format = 1 still captures a folder as one tar.zst blob that GNU tar and zstd read', async () => {
    const c = cfg();
    c.files.format = 1;
    const v1 = await capture({ config: c, home: fx.home, only: ['files'], client, tokens: token, identity });
    expect(v1.kind).toBe('full');
    expect(v1.manifest.snapshot.version).toBe(1);
    const docs = v1.manifest.files!.entry!.find((f) => f.local_path === '~/Documents')!;
    const file = allFiles(join(srv.dataDir, 'blobs')).find((p) => p.endsWith(docs.blob!.slice('sha256:'.length)))!;
    const tarBytes = execFileSync('zstd', ['-dc', file]);
    expect(tarBytes.length).toBe(docs.size);
    const names = execFileSync('tar', ['-tf', '-'], { input: tarBytes, encoding: 'utf8' }).split('\n').filter(Boolean);
    expect(names[0]).toBe('./');
    expect(names).toContain('./sub/notes.md');
    expect(names).toContain(`./${'long-name-'.repeat(14)}.txt`);
    expect(names.some((n) => n.includes('node_modules'))).toBe(false);
  }, 60_000);

  it('no secret plaintext is anywhere in the server data dir or the capture cache', () => {
    const files = [...allFiles(srv.dataDir), ...allFiles(join(fx.base, 'cache'))];
    expect(files.length).toBeGreaterThan(3);
    for (const f of files) {
      const bytes = readFileSync(f);
      for (const m of fx.markers) expect(bytes.includes(m), `${m} in ${f}`).toBe(false);
    }
  });
});
