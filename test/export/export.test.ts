/**
 * Exports (issue 16): `koder-snapshot export` from the real server into a
 * folder, then `restore --from` it as the installer would, with real parts:
 * - with the network namespace cut off (`unshare -n`: no server, no
 *   mirror), into a bookworm minbase root: the folder, the repository and
 *   the secret identical to what was captured; with --with-debs, jq and tree
 *   installed from the exported .debs;
 * - a .deb altered on the drive is not installed from it (reported); an
 *   archive index (InRelease, Packages) or debs.json altered: the .debs it
 *   vouched for are left out (reported), only authentic ones offered;
 * - a byte flipped in any kind of exported file: refused, or the restore
 *   writes only authentic data — never an altered byte;
 * - a wrong passphrase opens nothing and writes nothing;
 * - a second export after a new capture writes only the new packs.
 */
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { saveTokens } from '../../src/auth/index.ts';
import { LOCAL_REPO, LocalDebs } from '../../src/chroot-appliers/apt-local-debs.ts';
import { runInChroot } from '../../src/chroot-appliers/chroot-runner.ts';
import { resolveTarget } from '../../src/chroot-appliers/target.ts';
import { DriveClient } from '../../src/drive/index.ts';
import { exportSnapshot } from '../../src/export/export.ts';
import { blobHex, blobRefs, serialize, sign, snapshotId, type Manifest } from '../../src/manifest/index.ts';
import { generateIdentity, publicIdentity } from '../../src/keys/index.ts';
import { applyContext } from '../helpers/apply-context.ts';
import { byteTree } from '../helpers/byte-tree.ts';
import { spawnCli, type CliRun } from '../helpers/cli.ts';
import { makeDebianRoot, type TestRoot } from '../helpers/debian-root.ts';
import { g, setGitHome } from '../helpers/git.ts';
import { V2_PASSPHRASE, captureV2, v2Account, writeDocuments, writeRepo, type V2Account } from '../helpers/v2-snapshot.ts';
import { loginAs, testServer, type TestServer } from '../server/fixture.ts';

const BIN = new URL('../../bin/koder-snapshot.mjs', import.meta.url).pathname;
const SSH_KEY = Buffer.from('-----BEGIN OPENSSH PRIVATE KEY-----\nexported-but-sealed-4f1e\n-----END OPENSSH PRIVATE KEY-----\n');

let srv: TestServer;
let work: string;
let env: NodeJS.ProcessEnv;
let client: DriveClient;
let account: V2Account;
let home: string;
let docs: string;
let repo: string;
let full: Manifest;
let exportDir: string;
const roots: TestRoot[] = [];

/** `restore --from DIR`, optionally in a network namespace of its own (no network at all). */
function restoreFrom(dir: string, root: string, o: { only?: string; passphrase?: string; offline?: boolean } = {}): Promise<CliRun & { report?: { status: string; results: { stepId: string; status: string; message?: string; details?: string[] }[] } }> {
  const args = [BIN, 'restore', '--from', dir, '--target', root, '--user', 'ana', '--only', o.only ?? 'files,repos,secrets', '--json', '--passphrase-stdin', '--state-dir', mkdtempSync(join(work, 'state-'))];
  return new Promise((resolve) => {
    const p = o.offline ? spawn('unshare', ['-n', process.execPath, ...args], { env }) : spawn(process.execPath, args, { env });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.stdin.end(`${o.passphrase ?? V2_PASSPHRASE}\n`);
    p.on('close', (code, signal) => {
      const report = stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l)).find((l) => l.type === 'report')?.report;
      resolve({ code, signal, stdout, stderr, report });
    });
  });
}

/** A plain target: etc/passwd with ana (1000) and her home. */
function plainRoot(name: string): string {
  const root = join(work, name);
  mkdirSync(join(root, 'etc'), { recursive: true });
  mkdirSync(join(root, 'home/ana'), { recursive: true });
  writeFileSync(join(root, 'etc/passwd'), 'ana:x:1000:1000::/home/ana:/bin/bash\n');
  return root;
}

async function debianRoot(): Promise<TestRoot> {
  const t = await makeDebianRoot();
  roots.push(t);
  await runInChroot(t.root, ['useradd', '-m', '-u', '1000', '-s', '/bin/bash', 'ana']);
  return t;
}

const repoState = (dir: string) => g(dir, ['log', '--format=%H %s', 'main']) + g(dir, ['status', '--porcelain']);

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'ks-export-'));
  setGitHome(work);
  srv = await testServer();
  const tokens = await loginAs(srv, 'ana');
  env = { PATH: process.env.PATH, HOME: work, XDG_CONFIG_HOME: join(work, 'config'), XDG_STATE_HOME: join(work, 'state'), KODER_SNAPSHOT_SERVER: srv.url, KODER_CACHE_DIR: process.env.KODER_CACHE_DIR };
  await saveTokens(tokens, env);
  client = new DriveClient({ server: srv.url, tokens: tokens.access_token });
  account = await v2Account(client);
  home = join(work, 'home-src');
  docs = writeDocuments(home, { files: 24, size: 256 * 1024 });
  repo = writeRepo(home);
  ({ full } = await captureV2(client, account, work, home, { apt: ['jq', 'tree'], packMib: 1, secrets: { ssh_id: ['~/.ssh/id_ed25519', SSH_KEY] } }));
  exportDir = join(work, 'usb/koder');
}, 300_000);

afterAll(async () => {
  for (const t of roots) await t.dispose();
  await srv?.cleanup();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('export, then restore from the folder', () => {
  it('export --with-debs writes the chain, every blob, the vault, the signed keys and the .debs', async () => {
    const r = await spawnCli(['export', '--to', exportDir, '--with-debs', '--passphrase-stdin'], { env, stdin: `${V2_PASSPHRASE}\n` });
    expect(r.code, r.stderr).toBe(0);
    const blobs = readdirSync(join(exportDir, 'blobs'));
    expect(blobs.sort()).toEqual(blobRefs(full).map(blobHex).sort());
    expect(readdirSync(join(exportDir, 'manifests'))).toHaveLength(2);
    for (const f of ['koder-export.json', 'keys.json', 'vault.json', 'debs/debs.json']) expect(existsSync(join(exportDir, f)), f).toBe(true);
    const debs = readdirSync(join(exportDir, 'debs/pool'));
    for (const p of ['jq', 'libjq1', 'libonig5', 'tree']) expect(debs.some((d) => d.startsWith(`${p}_`)), p).toBe(true);
  }, 180_000);

  it('with the network cut off: files, repository and secret identical; jq and tree installed from the exported .debs', async () => {
    const t = await debianRoot();
    const r = await restoreFrom(exportDir, t.root, { only: 'apps,files,repos,secrets', offline: true });
    expect(r.report?.status, r.stderr).toBe('done');
    expect(byteTree(join(t.root, 'home/ana/Documentos'))).toEqual(byteTree(docs));
    expect(repoState(join(t.root, 'home/ana/dev/notas'))).toBe(repoState(repo));
    expect(readFileSync(join(t.root, 'home/ana/.ssh/id_ed25519'))).toEqual(SSH_KEY);
    expect((await runInChroot(t.root, ['jq', '-n', '{"a":41} | .a + 1'])).stdout.trim()).toBe('42');
    expect((await runInChroot(t.root, ['tree', '--version'])).stdout).toMatch(/^tree v2/);
    expect(r.stderr).toMatch(/exported \.debs offered/);
    // The local source is gone after the restore.
    expect(existsSync(join(t.root, 'etc/apt/sources.list.d/koder-restore-debs.list'))).toBe(false);
    expect(existsSync(join(t.root, 'var/lib/koder-restore/debs'))).toBe(false);
  }, 300_000);

  it('a .deb altered on the drive is not installed from it: reported, the rest installs', async () => {
    const dir = join(work, 'export-bad-deb');
    cpSync(exportDir, dir, { recursive: true });
    const pool = join(dir, 'debs/pool');
    const deb = readdirSync(pool).find((d) => d.startsWith('tree_'))!;
    flip(join(pool, deb));
    const t = await debianRoot();
    const r = await restoreFrom(dir, t.root, { only: 'apps', offline: true });
    const apt = r.report?.results.find((x) => x.stepId === 'apt.install');
    expect(apt?.details?.join('\n'), r.stderr).toMatch(new RegExp(`${deb.replace(/[.+]/g, '\\$&')}: not the file the signed archive lists`));
    expect((await runInChroot(t.root, ['jq', '--version'])).code).toBe(0);
    expect((await runInChroot(t.root, ['sh', '-c', 'command -v tree'], { check: false })).code).not.toBe(0);
  }, 300_000);

  it('an archive index or debs.json altered on the drive: what it vouched for is left out and said; every .deb offered to apt is the authentic one', async () => {
    const t = await debianRoot();
    const ctx = applyContext({ target: await resolveTarget(t.root, 'ana'), manifest: full });
    const index = JSON.parse(readFileSync(join(exportDir, 'debs/debs.json'), 'utf8')) as { lists: { inrelease: string; packages: { file: string }[] }[] };
    const flipAll = (files: string[]) => (dir: string) => files.forEach((f) => flip(join(dir, f)));
    const cases: [string, (dir: string) => void, RegExp | undefined][] = [
      ['every InRelease', flipAll(index.lists.map((l) => `lists/${l.inrelease}`)), /signature does not verify with this system's archive keys/],
      ['every Packages', flipAll(index.lists.flatMap((l) => l.packages.map((p) => `lists/${p.file}`))), /its signed InRelease lists; its \.debs are not used/],
      ['debs.json', flipAll(['debs.json']), undefined],
      // A path instead of a file name: nothing is read from outside the folder.
      ['a path in debs.json', (dir) => writeFileSync(join(dir, 'debs.json'), JSON.stringify({ ...index, lists: index.lists.map((l, i) => (i === 0 ? { ...l, inrelease: '../../../../etc/passwd' } : l)) })), /not a file name/],
    ];
    for (const [what, alter, said] of cases) {
      const dir = join(work, `debs-${what.replace(/\W+/g, '-')}`);
      cpSync(join(exportDir, 'debs'), dir, { recursive: true });
      alter(dir);
      const debs = new LocalDebs(dir);
      const problems = await debs.enable(ctx);
      const offered = existsSync(join(t.root, LOCAL_REPO)) ? readdirSync(join(t.root, LOCAL_REPO)).filter((f) => f.endsWith('.deb')) : [];
      // Only files byte-identical to the ones apt downloaded on the exporting machine.
      for (const f of offered) expect(readFileSync(join(t.root, LOCAL_REPO, f)).equals(readFileSync(join(exportDir, 'debs/pool', f))), `${what}: ${f}`).toBe(true);
      if (said) {
        expect(problems.join('\n'), what).toMatch(said);
        expect(offered, what).toEqual([]);
      } else if (offered.length < readdirSync(join(exportDir, 'debs/pool')).length) expect(problems.length, what).toBeGreaterThan(0);
      await debs.close(ctx);
      expect(existsSync(join(t.root, LOCAL_REPO)), what).toBe(false);
    }
  }, 300_000);

  it('a wrong passphrase opens nothing and writes nothing', async () => {
    const root = plainRoot('wrong-pass');
    const r = await restoreFrom(exportDir, root, { passphrase: 'not the passphrase' });
    expect(r.code).toBe(1);
    expect(r.stdout + r.stderr).toMatch(/wrong passphrase/);
    expect(readdirSync(join(root, 'home/ana'))).toEqual([]);
  }, 60_000);

  it('a folder without an export is a usage error', async () => {
    const r = await restoreFrom(join(work, 'home-src'), plainRoot('no-export'));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/holds no Koder Snapshots export/);
  });
});

/** Flips one bit of the byte in the middle of a file. */
function flip(file: string, at = 0.5): void {
  const b = readFileSync(file);
  const i = Math.floor(b.length * at);
  b[i] = b[i]! ^ 0x01;
  writeFileSync(file, b);
}

describe('a byte flipped in an exported file', () => {
  const kinds: [string, (dir: string) => string, RegExp][] = [
    ['the index', () => 'koder-export.json', /./],
    ['the key list', () => 'keys.json', /./],
    ['the vault', () => 'vault.json', /./],
    ['the leaf manifest', (d) => `manifests/${JSON.parse(readFileSync(join(d, 'koder-export.json'), 'utf8')).snapshots[0].id}.kvg`, /./],
    ['the root manifest', (d) => `manifests/${JSON.parse(readFileSync(join(d, 'koder-export.json'), 'utf8')).snapshots[0].chain[0]}.kvg`, /./],
    ['the tree root', () => `blobs/${blobHex((full.files!.entry![0] as { tree: `sha256:${string}` }).tree)}`, /./],
  ];
  for (const [kind, file] of kinds) {
    it(`${kind}: refused, or only authentic data written`, async () => {
      const dir = join(work, `export-flip-${kind.replace(/\W+/g, '-')}`);
      cpSync(exportDir, dir, { recursive: true });
      flip(join(dir, file(dir)));
      const root = plainRoot(`flip-${kind.replace(/\W+/g, '-')}`);
      const r = await restoreFrom(dir, root);
      const wrote = readdirSync(join(root, 'home/ana'));
      if (r.code !== 0) {
        // A flip that keeps the file parseable fails its signature or hash (exit 1); one that breaks a
        // manifest's TOML is refused as unparseable (manifest_parse, exit 2) — before anything is written.
        expect([1, 2], r.stderr).toContain(r.code);
        expect(wrote).toEqual([]);
      } else {
        // The flipped byte was one the restore does not read: what it wrote is the captured data.
        expect(byteTree(join(root, 'home/ana/Documentos'))).toEqual(byteTree(docs));
      }
      // The files that carry trust must always refuse.
      if (!/pack/.test(kind)) expect([1, 2], `${kind}: ${r.stdout.slice(-400)}`).toContain(r.code);
    }, 60_000);
  }

  it('every blob (the packs, the tree roots, the bundle\'s tree): refused, or only authentic data written', async () => {
    const treeRoots = new Set([...(full.files?.entry ?? []).map((e) => e.tree), ...(full.repos?.entry ?? []).map((e) => e.bundle_tree)].filter(Boolean).map((t) => blobHex(t!)));
    const blobs = readdirSync(join(exportDir, 'blobs')).sort();
    expect(blobs.length).toBeGreaterThan(5);
    let refused = 0;
    for (const hex of blobs) {
      const dir = join(work, `export-flip-${hex.slice(0, 12)}`);
      cpSync(exportDir, dir, { recursive: true });
      flip(join(dir, 'blobs', hex));
      const root = plainRoot(`flip-${hex.slice(0, 12)}`);
      const r = await restoreFrom(dir, root);
      const home = join(root, 'home/ana');
      if (r.code !== 0) {
        expect(r.code, `${hex}: ${r.stderr}`).toBe(1);
        // A step before the altered blob's may have finished: only authentic data, never a part of the altered step's.
        if (existsSync(join(home, 'Documentos'))) expect(byteTree(join(home, 'Documentos')), hex).toEqual(byteTree(docs));
        if (existsSync(join(home, 'dev/notas'))) expect(repoState(join(home, 'dev/notas')), hex).toBe(repoState(repo));
        refused++;
      } else {
        // The flipped byte was one the restore does not read (a pack's table of contents): what it wrote is the captured data.
        expect(byteTree(join(home, 'Documentos')), hex).toEqual(byteTree(docs));
        expect(repoState(join(home, 'dev/notas')), hex).toBe(repoState(repo));
      }
      if (treeRoots.has(hex)) expect(r.code, `tree root ${hex}`).toBe(1);
      rmSync(dir, { recursive: true, force: true });
    }
    expect(refused).toBeGreaterThan(blobs.length / 2);
  }, 240_000);
});

describe('an export made to look like mine', () => {
  it("a snapshot signed by someone else's key, their key added to keys.json: refused once the vault opens, nothing written", async () => {
    const dir = join(work, 'export-forged');
    cpSync(exportDir, dir, { recursive: true });
    const index = JSON.parse(readFileSync(join(dir, 'koder-export.json'), 'utf8'));
    const mine = index.snapshots[0];
    // The attacker's snapshot: mine, plus an apt source of theirs, signed with their own key.
    const attacker = await generateIdentity();
    const forged: Manifest = structuredClone(full);
    forged.snapshot.created_at = '2030-01-01T00:00:00Z';
    forged.apps = { ...forged.apps, apt_sources: [{ name: 'evil', deb822: 'Types: deb\nURIs: http://evil.invalid/debian\nSuites: stable\nComponents: main\nTrusted: yes\n' }] };
    const signed = sign(forged, attacker.signing.seed);
    const id = snapshotId(signed);
    writeFileSync(join(dir, 'manifests', `${id}.kvg`), serialize(signed));
    index.snapshots.unshift({ ...mine, id, created_at: forged.snapshot.created_at, chain: [id] });
    writeFileSync(join(dir, 'koder-export.json'), JSON.stringify(index));
    const keys = JSON.parse(readFileSync(join(dir, 'keys.json'), 'utf8'));
    keys.keys.push(publicIdentity(attacker));
    writeFileSync(join(dir, 'keys.json'), JSON.stringify(keys));
    const root = plainRoot('forged');
    const r = await restoreFrom(dir, root, { only: 'apps,files,repos,secrets' });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/REFUSED: keys\.json is not signed by the identity this vault opens/);
    expect(readdirSync(join(root, 'home/ana'))).toEqual([]);
    expect(existsSync(join(root, 'etc/apt'))).toBe(false);
  }, 60_000);
});

describe('export again after a new capture', () => {
  it('writes only the packs the folder does not have', async () => {
    const before = new Set(readdirSync(join(exportDir, 'blobs')));
    writeFileSync(join(docs, 'novo.bin'), Buffer.alloc(3 * 1024 * 1024, 7).map((_, i) => (i * 31) % 251));
    const { leaf, full: next } = await captureV2(client, account, work, home, { apt: ['jq', 'tree'], packMib: 1, secrets: { ssh_id: ['~/.ssh/id_ed25519', SSH_KEY] } });
    const r = await exportSnapshot({ client, snapshotId: leaf, dir: exportDir, identity: account.identity });
    const now = readdirSync(join(exportDir, 'blobs'));
    const added = now.filter((h) => !before.has(h));
    expect(added.length).toBeGreaterThan(0);
    expect(r.newBlobs).toBe(added.length);
    expect(r.written).toBe(added.reduce((n, h) => n + statSync(join(exportDir, 'blobs', h)).size, 0));
    const all = blobRefs(next).map(blobHex);
    expect(r.written).toBeLessThan(all.reduce((n, h) => n + statSync(join(exportDir, 'blobs', h)).size, 0) / 2);
    const index = JSON.parse(readFileSync(join(exportDir, 'koder-export.json'), 'utf8'));
    expect(index.snapshots.map((s: { id: string }) => s.id)[0]).toBe(leaf);
    expect(index.snapshots).toHaveLength(2);
  }, 120_000);
});
