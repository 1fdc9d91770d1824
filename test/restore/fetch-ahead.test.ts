/**
 * Fetch-ahead (issue 13): while apt installs, the data of the later steps
 * comes to the target's disk. The CLI restores, as the installer job runs
 * it, a real data v2 snapshot (a folder of 40 MiB in 4 MiB packs, a bundled
 * repository, apt packages from the Debian archive) from the real server
 * into real bookworm minbase roots whose dpkg is slowed by a hook that
 * sleeps. Checked with the server's audit rows (one per GET):
 * - when apt ends, every blob of the folder and the repository was read
 *   (once, whole) and nothing is read after it; the folder was staged and
 *   the repository built beside apt; the trees are byte-identical
 *   to a restore without fetch-ahead (and to what was captured);
 * - SIGKILLed while fetching ahead (through a slow line), the restore run
 *   again reads none of the blobs it had verified, and ends with the same
 *   trees.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { saveTokens } from '../../src/auth/index.ts';
import { runInChroot } from '../../src/chroot-appliers/chroot-runner.ts';
import { DriveClient } from '../../src/drive/index.ts';
import { blobHex, type Manifest } from '../../src/manifest/index.ts';
import { isV2Files } from '../../src/manifest/types.ts';
import { byteTree } from '../helpers/byte-tree.ts';
import { spawnCli } from '../helpers/cli.ts';
import { makeDebianRoot, type TestRoot } from '../helpers/debian-root.ts';
import { g, setGitHome } from '../helpers/git.ts';
import { slowProxy, type SlowProxy } from '../helpers/slow-proxy.ts';
import { V2_PASSPHRASE, captureV2, v2Account, writeDocuments, writeRepo } from '../helpers/v2-snapshot.ts';
import { loginAs, testServer, type TestServer } from '../server/fixture.ts';

let srv: TestServer;
let proxy: SlowProxy;
let work: string;
let env: NodeJS.ProcessEnv;
let leaf: string;
let full: Manifest;
let docs: string;
let repo: string;
const roots: TestRoot[] = [];

/** Every blob the folder and the repository read, by hex. */
const dataBlobs = () => {
  const f = full.files!.entry![0]!;
  const r = full.repos!.entry![0]!;
  if (!isV2Files(f) || !r.bundle_tree) throw new Error('not data v2');
  return [...new Set([f.tree, ...f.packs, r.bundle_tree, ...(r.bundle_packs ?? [])].map(blobHex))];
};
const reads = (since = 0) => srv.db.all<{ object: string; at: number }>("SELECT object, at FROM audit WHERE action = 'blob.read' AND at >= ?", [since]);

/** A minbase root with ana (1000) whose dpkg sleeps `seconds` before each run. */
async function slowRoot(seconds: number): Promise<TestRoot> {
  const t = await makeDebianRoot();
  roots.push(t);
  await runInChroot(t.root, ['useradd', '-m', '-u', '1000', '-s', '/bin/bash', 'ana']);
  writeFileSync(join(t.root, 'etc/apt/apt.conf.d/99koder-test-slow'), `DPkg::Pre-Invoke { "sleep ${seconds}"; };\n`);
  return t;
}

interface Line {
  at: number;
  type: string;
  current?: string;
  ahead?: { bytes: number; total: number; ready: string[]; staged: string[] };
  report?: { status: string; results: { stepId: string; status: string; message?: string }[] };
}

function restore(root: string, stateDir: string, o: { only: string; extraEnv?: NodeJS.ProcessEnv; server?: string; killWhen?: (l: Line) => boolean } = { only: 'apps,files,repos' }) {
  const lines: Line[] = [];
  let kill = false;
  const run = spawnCli(['restore', '--target', root, '--user', 'ana', '--only', o.only, '--json', '--passphrase-stdin', '--state-dir', stateDir, ...(o.server ? ['--server', o.server] : [])], {
    env: { ...env, ...o.extraEnv },
    stdin: `${V2_PASSPHRASE}\n`,
    onLine: (text) => {
      if (!text.startsWith('{')) return;
      const l = { at: Date.now(), ...(JSON.parse(text) as Omit<Line, 'at'>) };
      lines.push(l);
      if (o.killWhen?.(l)) kill = true;
    },
    killWhen: () => kill,
  });
  return run.then((r) => ({ ...r, lines, report: lines.find((l) => l.type === 'report')?.report }));
}

const homeOf = (root: string) => join(root, 'home/ana');
const repoState = (dir: string) => g(dir, ['log', '--format=%H %s', 'main']) + g(dir, ['status', '--porcelain']);

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'ks-ahead-'));
  setGitHome(work);
  srv = await testServer();
  proxy = await slowProxy(srv.url, 6 * 1024 * 1024);
  const tokens = await loginAs(srv, 'ana');
  env = { PATH: process.env.PATH, HOME: work, XDG_CONFIG_HOME: join(work, 'config'), XDG_STATE_HOME: join(work, 'state'), KODER_SNAPSHOT_SERVER: srv.url, KODER_CACHE_DIR: process.env.KODER_CACHE_DIR };
  await saveTokens(tokens, env);
  await saveTokens({ ...tokens, server: proxy.url }, env);
  const client = new DriveClient({ server: srv.url, tokens: tokens.access_token });
  const account = await v2Account(client);
  const home = join(work, 'home-src');
  docs = writeDocuments(home, { files: 40, size: 1024 * 1024 });
  repo = writeRepo(home);
  ({ leaf, full } = await captureV2(client, account, work, home, { apt: ['jq', 'tree'] }));
  expect(leaf).toMatch(/^[0-9a-f]{64}$/);
}, 300_000);

afterAll(async () => {
  for (const t of roots) await t.dispose();
  await proxy?.close();
  await srv?.cleanup();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('fetch-ahead while apt installs', () => {
  let sequential: string;

  it('without fetch-ahead (the sequential order): the reference trees', async () => {
    sequential = join(work, 'seq-root');
    mkdirSync(join(sequential, 'etc'), { recursive: true });
    mkdirSync(homeOf(sequential), { recursive: true });
    writeFileSync(join(sequential, 'etc/passwd'), 'ana:x:1000:1000::/home/ana:/bin/bash\n');
    const r = await restore(sequential, join(work, 'state-seq'), { only: 'files,repos', extraEnv: { KODER_FETCH_AHEAD: '0' } });
    expect(r.report?.status, r.stderr).toBe('done');
    expect(r.lines.some((l) => l.ahead)).toBe(false);
    expect(byteTree(join(homeOf(sequential), 'Documentos'))).toEqual(byteTree(docs));
  }, 120_000);

  it("has the folder's and the repository's blobs on the target's disk when apt ends, reads nothing after, and restores the same trees", async () => {
    const t = await slowRoot(12);
    const since = Date.now();
    // What the fetch-ahead's folder holds once both steps are staged, apt still running.
    let heldWhenStaged: string[] | undefined;
    const r = await restore(t.root, join(work, 'state-ahead'), {
      only: 'apps,files,repos',
      killWhen: (l) => {
        if (!heldWhenStaged && l.current === 'apt.install' && l.ahead?.staged.length === 2) heldWhenStaged = readdirSync(join(t.root, '.koder-restore-staging/ahead'));
        return false;
      },
    });
    expect(r.report?.status, r.stderr).toBe('done');
    expect(r.report!.results.map((x) => x.stepId)).toEqual(['apt.install', 'files.restore:~/Documentos', 'repo.restore:~/dev/notas']);
    expect((await runInChroot(t.root, ['jq', '--version'])).stdout).toMatch(/^jq-1\./);
    // apt's lists were read while the vault opened (before the apt step's first command), once.
    const inChroot = r.stderr.split('\n').filter((l) => l.startsWith('[chroot] '));
    expect(inChroot[0]).toMatch(/^\[chroot\] apt-get .* update$/);
    expect(inChroot.filter((l) => / update$/.test(l))).toHaveLength(1);

    // apt ends when the progress first names a later step.
    const aptLines = r.lines.filter((l) => l.current === 'apt.install');
    const aptEnd = r.lines.find((l) => l.type === 'progress' && l.at > aptLines.at(-1)!.at && l.current !== 'apt.install')!.at;
    const last = aptLines.at(-1)!.ahead!;
    expect(last.bytes).toBe(last.total);
    expect(last.staged).toContain('files.restore:~/Documentos');
    // The repository too was built beside apt: its step only moved it into place.
    expect(last.staged).toContain('repo.restore:~/dev/notas');
    expect(r.stderr).toMatch(/repo notas → ~\/dev\/notas: from its bundle \(\d+ refs\), on main \(built while the steps before it ran\)/);
    // Staged, the steps read no pack any more: the copies went at once, before apt ended (and before
    // the kernel wrote them to the disk dpkg uses); the folder's tree root stays, its step reads it.
    const f = full.files!.entry![0]!;
    expect(heldWhenStaged).toBeDefined();
    expect(heldWhenStaged).toEqual(isV2Files(f) ? [blobHex(f.tree)] : []);
    // Every blob read once, whole, before apt ended; nothing after.
    const rows = (await reads(since)).filter((x) => dataBlobs().includes(x.object.slice('blob:'.length)));
    expect(rows.map((x) => x.object.slice(5)).sort()).toEqual(dataBlobs().sort());
    for (const row of rows) expect(row.at).toBeLessThan(aptEnd);
    expect(await reads(aptEnd)).toEqual([]);

    expect(byteTree(join(homeOf(t.root), 'Documentos'))).toEqual(byteTree(join(homeOf(sequential), 'Documentos')));
    expect(repoState(join(homeOf(t.root), 'dev/notas'))).toBe(repoState(join(homeOf(sequential), 'dev/notas')));
    expect(repoState(join(homeOf(t.root), 'dev/notas'))).toBe(repoState(repo));
    expect(existsSync(join(t.root, '.koder-restore-staging'))).toBe(false);
    expect(existsSync(join(homeOf(t.root), '.koder-restore-staging'))).toBe(false);
  }, 300_000);

  it('SIGKILLed while fetching ahead, run again: reads none of the blobs it had verified, same trees', async () => {
    const t = await slowRoot(20);
    const stateDir = join(work, 'state-killed');
    const ahead = join(t.root, '.koder-restore-staging/ahead');
    const killed = await restore(t.root, stateDir, { only: 'apps,files,repos', server: proxy.url, killWhen: (l) => !!l.ahead && l.ahead.bytes > l.ahead.total / 4 });
    const killedAt = Date.now();
    expect(killed.signal).toBe('SIGKILL');
    const names = readdirSync(ahead);
    const verified = names.filter((n) => /^[0-9a-f]{64}$/.test(n));
    expect(verified.length).toBeGreaterThan(0);
    expect(verified.length).toBeLessThan(dataBlobs().length);

    // The copies are not fsync'ed: a crash of the machine could leave other bytes under a
    // name. One such copy is hashed again at the next run and fetched again, not used.
    const damaged = verified[0]!;
    const bytes = readFileSync(join(ahead, damaged));
    bytes[bytes.length >> 1]! ^= 0xff;
    writeFileSync(join(ahead, damaged), bytes);

    rmSync(join(t.root, 'etc/apt/apt.conf.d/99koder-test-slow'));
    const again = await restore(t.root, stateDir, { only: 'apps,files,repos' });
    expect(again.report?.status, again.stderr).toBe('done');
    const reread = (await reads(killedAt)).map((x) => x.object.slice(5)).filter((h) => verified.includes(h));
    expect(new Set(reread)).toEqual(new Set([damaged]));
    expect(byteTree(join(homeOf(t.root), 'Documentos'))).toEqual(byteTree(join(homeOf(sequential), 'Documentos')));
    expect(repoState(join(homeOf(t.root), 'dev/notas'))).toBe(repoState(repo));
    expect(existsSync(ahead)).toBe(false);
  }, 300_000);
});
