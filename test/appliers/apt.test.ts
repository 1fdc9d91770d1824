/**
 * apt appliers against a real bookworm minbase root and the host's Debian
 * mirror (the only network here), plus a local flat repository (file:) built
 * in the root with dpkg-deb for what the mirror cannot show (a package that
 * exists but cannot be installed). One root for the file; tests run in order.
 */
import { createHash } from 'node:crypto';
import { lstat, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApplyContext, Progress } from '../../src/chroot-appliers/applier.ts';
import { aptInstall, aptOutcome, aptUpdate, applyAptInstall, parseAptCachePolicy } from '../../src/chroot-appliers/apt.ts';
import { applyAptSources, targetRelease } from '../../src/chroot-appliers/apt-sources.ts';
import { fsyncShim, UNSAFE_IO_RECORD, UNSAFE_IO_STATUS, unsafeIoBegin, unsafeIoRun } from '../../src/chroot-appliers/apt-unsafe-io.ts';
import { runInChroot } from '../../src/chroot-appliers/chroot-runner.ts';
import { resolveTarget } from '../../src/chroot-appliers/target.ts';
import type { AptSource, Manifest } from '../../src/manifest/types.ts';
import type { StepProgress } from '../../src/restore-machine/types.ts';
import { planRestore, type PlanStep, type RestoreChoice } from '../../src/restore-machine/plan.ts';
import { BlobDir, BlobHashMismatchError } from '../helpers/blob-dir.ts';
import { makeDebianRoot, type TestRoot } from '../helpers/debian-root.ts';
import { applyContext } from '../helpers/apply-context.ts';
import { etcState } from '../helpers/tree-state.ts';

const choice: RestoreChoice = { snapshotId: 'b'.repeat(64), hostname: 'novo', targetUser: 'root', categories: ['apps'] };
const KEYRING_PATH = '/etc/apt/keyrings/koder-test-debian.gpg';

let t: TestRoot;
let blobDir: string;
let blobs: BlobDir;
let manifest: Manifest;
let sources: AptSource[];
const logs: string[] = [];

async function context(m: Manifest = manifest): Promise<ApplyContext> {
  return applyContext({ target: await resolveTarget(t.root, 'root'), manifest: m, choice, blobs, logs });
}

const step = (kind: PlanStep['kind']): PlanStep => ({ id: kind, kind, category: 'apps', label: kind, bytes: 0, items: 1 });
const sink = () => {
  const seen: StepProgress[] = [];
  const progress: Progress = (p) => seen.push(p);
  return { seen, progress };
};
const chroot = (argv: string[]) => runInChroot(t.root, argv, { check: false });

/** A flat apt repository at /srv/koder-repo in the root: koder-ok (installable) and koder-broken (depends on a package that does not exist). */
async function buildLocalRepo(root: string): Promise<void> {
  const script = String.raw`
set -eu
mk() {
  d=/srv/koder-build/$1
  mkdir -p "$d/DEBIAN" "$d/usr/share/doc/$1"
  printf 'Package: %s\nVersion: 1.0\nArchitecture: all\nMaintainer: Koder Tests <tests@koder.invalid>\n%sDescription: test package %s\n' "$1" "$2" "$1" >"$d/DEBIAN/control"
  echo "$1" >"$d/usr/share/doc/$1/README"
  dpkg-deb --build --root-owner-group "$d" "/srv/koder-repo/$1_1.0_all.deb" >/dev/null
}
mkdir -p /srv/koder-repo
mk koder-ok ''
mk koder-broken 'Depends: no-such-dependency-xyz
'
`;
  const r = await runInChroot(root, ['/bin/sh', '-c', script]);
  expect(r.code).toBe(0);
  let packages = '';
  for (const name of ['koder-ok', 'koder-broken']) {
    const deb = `${name}_1.0_all.deb`;
    const bytes = await readFile(join(root, 'srv/koder-repo', deb));
    const control = (await runInChroot(root, ['dpkg-deb', '-f', `/srv/koder-repo/${deb}`])).stdout.trimEnd();
    packages += `${control}\nFilename: ./${deb}\nSize: ${bytes.length}\nSHA256: ${createHash('sha256').update(bytes).digest('hex')}\n\n`;
  }
  await writeFile(join(root, 'srv/koder-repo/Packages'), packages);
  const sha = createHash('sha256').update(packages).digest('hex');
  await writeFile(
    join(root, 'srv/koder-repo/Release'),
    `Origin: koder-tests\nLabel: koder-tests\nDate: ${new Date().toUTCString()}\nSHA256:\n ${sha} ${Buffer.byteLength(packages)} Packages\n`,
  );
}

beforeAll(async () => {
  t = await makeDebianRoot();
  blobDir = await mkdtemp(join(tmpdir(), 'koder-blobs-'));
  blobs = await BlobDir.create(blobDir);
  await buildLocalRepo(t.root);
  const keyring = await blobs.put(await readFile(join(t.root, 'usr/share/keyrings/debian-archive-keyring.gpg')));
  sources = [
    {
      name: 'debian-backports',
      keyring,
      keyring_path: KEYRING_PATH,
      deb822: `Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bullseye-backports\nComponents: main\nSigned-By: ${KEYRING_PATH}\n`,
    },
    { name: 'unreachable', deb822: 'Types: deb\nURIs: http://127.0.0.1:9/debian\nSuites: stable\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' },
    { name: 'koder-local', deb822: 'Types: deb\nURIs: file:/srv/koder-repo\nSuites: ./\nTrusted: yes\n' },
  ];
  manifest = {
    snapshot: { version: 1, hostname: 'rodrigo-laptop', created_at: '2026-05-21T10:00:00Z', koder_user_id: 'rodrigo' },
    apps: { apt: ['jq', 'tree', 'no-such-package-xyz'], apt_sources: sources },
  };
}, 240_000);

afterAll(async () => {
  await t?.dispose();
  if (blobDir) await rm(blobDir, { recursive: true, force: true });
});

describe('pure helpers', () => {
  it('parses apt-cache policy blocks', () => {
    const text = 'jq:\n  Installed: (none)\n  Candidate: 1.6-2.1\n  Version table:\n     1.6-2.1 500\nmail-transport-agent:\n  Installed: (none)\n  Candidate: (none)\n  Version table:\n';
    const m = parseAptCachePolicy(text);
    expect(m.get('jq')).toBe('1.6-2.1');
    expect(m.get('mail-transport-agent')).toBeNull();
    expect(m.has('no-such')).toBe(false);
  });

  it("dpkg's fsync shim: the host's libeatmydata, unless safe I/O is asked for or it is turned off", () => {
    expect(fsyncShim({})).toMatch(/^\/usr\/lib\/[^/]+\/libeatmydata\.so\.1$/);
    expect(fsyncShim({ KODER_APT_SAFE_IO: '1' })).toBeUndefined();
    expect(fsyncShim({ KODER_APT_EATMYDATA: '0' })).toBeUndefined();
  });

  it('reads the target release from the root', async () => {
    expect(await targetRelease(t.root)).toEqual({ debian: 'bookworm' });
  });
});

describe('apt appliers in a bookworm root', () => {
  it('apt.install installs jq and tree, reports the missing package, status skipped', async () => {
    const ctx = await context();
    const { seen, progress } = sink();
    const r = await applyAptInstall(step('apt.install'), ctx, progress);
    expect(r.status, JSON.stringify(r)).toBe('skipped');
    expect(r.details).toEqual(["no-such-package-xyz: not in the target's archives"]);
    expect(r.message).toMatch(/2 packages installed/);
    expect(seen.at(-1)).toMatchObject({ items: 2, phase: 'install' });
    // apt's own progress (Status-Fd on fd 4): the lists, then dpkg at work on named packages, with its work by rate class
    const phases = seen.map((p) => p.phase).filter((p, i, a) => p !== a[i - 1]);
    expect(phases[0]).toBe('update');
    expect(phases.at(-1)).toBe('install');
    expect(seen.some((p) => p.phase === 'install' && p.detail === 'jq')).toBe(true);
    const work = seen.filter((p) => p.work).map((p) => p.work!);
    expect(work.length).toBeGreaterThan(3);
    expect(work.at(-1)!.map((w) => w.rate)).toEqual(['network', 'apt', 'configure']);
    expect(work.at(-1)![1]!.total).toBeGreaterThanOrEqual(2);
    expect(work.at(-1)![1]!.done).toBeCloseTo(work.at(-1)![1]!.total, 1);
    const installed = work.map((w) => w[1]!.done);
    for (let i = 1; i < installed.length; i++) expect(installed[i]!).toBeGreaterThanOrEqual(installed[i - 1]!);
    expect((await chroot(['jq', '-n', '{"a":41} | .a + 1'])).stdout.trim()).toBe('42');
    expect((await chroot(['tree', '--version'])).stdout).toMatch(/^tree v2/);
    const manual = (await chroot(['apt-mark', 'showmanual'])).stdout.split('\n');
    expect(manual).toEqual(expect.arrayContaining(['jq', 'tree']));
    // One update for the whole run: a second install in the same run does not update again.
    const updatesBefore = logs.filter((l) => / update$/.test(l)).length;
    const again = await aptInstall(ctx, ['jq', 'no-such-package-xyz'], undefined);
    expect(logs.filter((l) => / update$/.test(l)).length).toBe(updatesBefore);
    expect(again.present).toEqual(['jq']);
    expect(again.missing).toEqual(['no-such-package-xyz']);
    // A package the snapshot names that came as a dependency (auto) is marked manual.
    expect((await chroot(['apt-mark', 'showauto'])).stdout.split('\n')).toContain('libonig5');
    expect((await aptInstall(ctx, ['libonig5'], undefined)).present).toEqual(['libonig5']);
    expect((await chroot(['apt-mark', 'showmanual'])).stdout.split('\n')).toContain('libonig5');
    // Names that are not package names never reach apt.
    const odd = await aptInstall(ctx, ['jq.*', '-oAPT::X=1'], undefined);
    expect(odd.missing).toEqual(['jq.*', '-oAPT::X=1']);
    expect(aptOutcome(odd).status).toBe('skipped');
  });

  it("an early apt-get update that could not start does not stand for the run's: the apt step runs its own", async () => {
    const ctx = { ...(await context()), aptLists: Promise.reject(new Error('spawn apt-get ENOENT')) };
    ctx.aptLists.catch(() => undefined);
    const before = logs.filter((l) => / update$/.test(l)).length;
    const r = await aptUpdate(ctx);
    expect(r.ok, r.problems.join('\n')).toBe(true);
    expect(logs.filter((l) => / update$/.test(l)).length).toBe(before + 1);
    // An early update that ran is the run's own: nothing runs again.
    const ran = { ...(await context()), aptLists: Promise.resolve({ ok: true, problems: [] }) };
    expect(await aptUpdate(ran)).toEqual({ ok: true, problems: [] });
    expect(logs.filter((l) => / update$/.test(l)).length).toBe(before + 1);
  });

  it('apt.sources: keyring written, old suite rewritten, unreachable source disabled', async () => {
    const ctx = await context();
    const { seen, progress } = sink();
    const r = await applyAptSources(step('apt.sources'), ctx, progress);
    expect(r.status, JSON.stringify(r)).toBe('failed');
    expect(seen.at(-1)).toEqual({ bytes: 0, items: 3 });
    const dir = join(t.root, 'etc/apt/sources.list.d');
    // Rewritten to the target's release, and apt accepted it.
    expect(await readFile(join(dir, 'debian-backports.sources'), 'utf8')).toContain('Suites: bookworm-backports\n');
    expect(r.details).toContain('debian-backports: suite bullseye-backports → bookworm-backports (the target\'s release)');
    const key = await stat(join(t.root, KEYRING_PATH.slice(1)));
    expect(key.mode & 0o7777).toBe(0o644);
    expect(await readFile(join(t.root, KEYRING_PATH.slice(1)))).toEqual(await readFile(join(t.root, 'usr/share/keyrings/debian-archive-keyring.gpg')));
    const policy = (await chroot(['apt-cache', 'policy'])).stdout;
    expect(policy).toMatch(/bookworm-backports/);
    // The unreachable one is kept, disabled, and reported.
    await expect(stat(join(dir, 'unreachable.sources'))).rejects.toThrow();
    expect(await readFile(join(dir, 'unreachable.sources.disabled'), 'utf8')).toContain('127.0.0.1:9');
    expect(r.details?.find((d) => d.startsWith('unreachable: apt-get update failed'))).toMatch(/disabled as \/etc\/apt\/sources.list.d\/unreachable.sources.disabled/);
    expect(r.message).toBe('2 of 3 apt sources enabled');
    // The local one works: its packages are known.
    expect((await chroot(['apt-cache', 'policy', 'koder-ok'])).stdout).toMatch(/Candidate: 1\.0/);
    expect(await readdir(join(t.root, 'var/lib/koder-restore')).catch(() => [])).not.toContain('apt-probe');
  }, 120_000);

  it('falls back to one-by-one installs when the batch fails, and reports the package that failed', async () => {
    const ctx = await context();
    const r = await aptInstall(ctx, ['koder-broken', 'koder-ok'], undefined);
    expect(r.installed).toEqual(['koder-ok']);
    expect(r.failed).toEqual(['koder-broken']);
    expect(r.details.join('\n')).toMatch(/koder-broken: install failed: .*(no-such-dependency-xyz|unmet|Unmet|E:)/s);
    expect(aptOutcome(r).status).toBe('failed');
    expect((await chroot(['dpkg-query', '-W', '-f=${db:Status-Abbrev}', 'koder-ok'])).stdout.trim()).toBe('ii');
    expect((await chroot(['dpkg', '--audit'])).stdout.trim()).toBe('');
  }, 120_000);

  it('a keyring blob whose bytes do not match stops the restore and leaves nothing', async () => {
    const bad = await blobs.put(Buffer.from('not the keyring'));
    await blobs.tamper(bad, () => Buffer.from('tampered bytes'));
    const m: Manifest = { ...manifest, apps: { apt_sources: [{ name: 'tampered', keyring: bad, keyring_path: '/etc/apt/keyrings/tampered.gpg', deb822: 'Types: deb\nURIs: http://127.0.0.1:9/x\nSuites: stable\nComponents: main\n' }] } };
    await expect(applyAptSources(step('apt.sources'), await context(m), () => undefined)).rejects.toBeInstanceOf(BlobHashMismatchError);
    const keyrings = await readdir(join(t.root, 'etc/apt/keyrings'));
    expect(keyrings).toEqual(['koder-test-debian.gpg']);
    await expect(stat(join(t.root, 'etc/apt/sources.list.d/tampered.sources'))).rejects.toThrow();
    await expect(stat(join(t.root, 'etc/apt/sources.list.d/tampered.sources.disabled'))).rejects.toThrow();
  });

  it('a source with a path-escaping name or keyring path is refused', async () => {
    await mkdir(join(t.root, 'etc/apt/keyrings'), { recursive: true });
    const m: Manifest = {
      ...manifest,
      apps: {
        apt_sources: [
          { name: '../../evil', deb822: 'Types: deb\nURIs: http://127.0.0.1:9/x\nSuites: stable\n' },
          { name: 'escape', keyring: sources[0]!.keyring, keyring_path: '/etc/apt/../../../../tmp/x.gpg', deb822: 'Types: deb\nURIs: file:/srv/koder-repo\nSuites: ./\nTrusted: yes\n' },
        ],
      },
    };
    const r = await applyAptSources(step('apt.sources'), await context(m), () => undefined);
    expect(r.status).toBe('failed');
    expect(r.details?.join('\n')).toMatch(/"\.\.\/\.\.\/evil": not a usable source name/);
    expect(r.details?.join('\n')).toMatch(/escape: keyring_path .* is not a usable absolute path/);
    await rm(join(t.root, 'etc/apt/sources.list.d/escape.sources'));
    // Leave the apt lists as the full manifest has them for the next test.
    await runInChroot(t.root, ['apt-get', 'update', '-qq']);
  }, 120_000);

  it('running apt.sources and apt.install again changes nothing', async () => {
    const before = await etcState(t.root);
    const ctx = await context();
    const s = await applyAptSources(step('apt.sources'), ctx, () => undefined);
    expect(s.status).toBe('failed'); // the unreachable source, again
    const i = await applyAptInstall(step('apt.install'), ctx, () => undefined);
    expect(i.status).toBe('skipped');
    expect(i.message).toMatch(/0 packages installed, 2 already present, 1 not in the target's archives/);
    expect(await etcState(t.root)).toEqual(before);
  }, 120_000);

  it("dpkg runs without its per-file fsync, and the record of the run is gone once it is synced", async () => {
    const installs = logs.filter((l) => /^\[chroot\] apt-get .* install /.test(l));
    expect(installs.length).toBeGreaterThan(0);
    for (const l of installs) expect(l).toContain('Dpkg::Options::=--force-unsafe-io');
    await expect(stat(join(t.root, UNSAFE_IO_RECORD))).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(stat(join(t.root, UNSAFE_IO_STATUS))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it("a library that does not load in the target is left out (dpkg's own option alone), said in the log", async () => {
    expect(fsyncShim()).toBeDefined();
    expect(await unsafeIoRun(await context())).toEqual({ preload: fsyncShim() });
    // As the library of a newer release's libc in an older target: ld.so refuses it.
    const dir = await mkdtemp(join(tmpdir(), 'koder-fake-shim-'));
    const fake = join(dir, 'libeatmydata.so.1');
    await writeFile(fake, 'not an ELF object\n');
    process.env.KODER_APT_EATMYDATA = fake;
    try {
      const ctx = await context();
      expect(await unsafeIoRun(ctx)).toEqual({});
      expect(logs.some((l) => l.includes(`${fake} does not load in the target`))).toBe(true);
    } finally {
      delete process.env.KODER_APT_EATMYDATA;
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("dpkg and what it starts run with the host's libeatmydata preloaded (none of its fsyncs or writeback starts reach the disk)", async () => {
    // A dpkg hook in the target (run by dpkg through sh) notes whether the library is in its own process.
    const hook = join(t.root, 'etc/dpkg/dpkg.cfg.d/koder-test-preload');
    await writeFile(hook, 'pre-invoke=grep -c /run/koder-preload/libeatmydata.so.1 /proc/self/maps > /tmp/koder-preload-seen || echo 0 > /tmp/koder-preload-seen\n');
    try {
      const r = await aptInstall(await context(), ['hello']);
      expect(r.installed).toEqual(['hello']);
      expect(Number(await readFile(join(t.root, 'tmp/koder-preload-seen'), 'utf8'))).toBeGreaterThan(0);
    } finally {
      await rm(hook, { force: true });
      await rm(join(t.root, 'tmp/koder-preload-seen'), { force: true });
    }
  }, 120_000);

  it('a run with fast I/O that died (its record left): the packages it installed are reinstalled whole before apt goes on', async () => {
    const listed = (await chroot(['dpkg-query', '-W', '-f=${Package}:${Architecture}\t${db:Status-Abbrev}\n'])).stdout;
    const all = listed.split('\n').filter((l) => l.includes('\tii')).map((l) => l.split('\t')[0]!);
    expect(all).toContain('koder-ok:all');
    // As a power loss in the middle of that run leaves it: koder-ok listed as installed, its file empty.
    await mkdir(join(t.root, 'var/lib/koder-restore'), { recursive: true });
    await writeFile(join(t.root, UNSAFE_IO_RECORD), JSON.stringify({ before: all.filter((p) => p !== 'koder-ok:all') }));
    await writeFile(join(t.root, 'usr/share/doc/koder-ok/README'), '');
    const ctx = await context();
    const r = await aptInstall(ctx, ['jq'], undefined);
    expect(r.present).toEqual(['jq']);
    expect(r.details).toEqual(["reinstalled 1 package an interrupted run had installed with dpkg's fast I/O"]);
    expect(await readFile(join(t.root, 'usr/share/doc/koder-ok/README'), 'utf8')).toBe('koder-ok\n');
    await expect(stat(join(t.root, UNSAFE_IO_RECORD))).rejects.toMatchObject({ code: 'ENOENT' });
    // Nothing left to recover: the next run reinstalls nothing.
    expect((await aptInstall(ctx, ['jq'], undefined)).details).toEqual([]);
  }, 120_000);

  it("a run that died and left dpkg's database unreadable: the status of before the run is put back, and apt goes on", async () => {
    const ctx = await context();
    await unsafeIoBegin(ctx);
    const before = await readFile(join(t.root, 'var/lib/dpkg/status'));
    expect(await readFile(join(t.root, UNSAFE_IO_STATUS))).toEqual(before);
    // As a power loss leaves files written without fsync: the status and a pending update full of zeros.
    await writeFile(join(t.root, 'var/lib/dpkg/status'), Buffer.alloc(before.length));
    await writeFile(join(t.root, 'var/lib/dpkg/updates/0007'), Buffer.alloc(4096));
    // A hostile target: where the damaged status is kept, a symlink to a host file (never followed out of the root).
    const victimDir = await mkdtemp(join(tmpdir(), 'koder-host-victim-'));
    const victim = join(victimDir, 'host-file');
    await writeFile(victim, 'host\n');
    await symlink(victim, join(t.root, 'var/lib/dpkg/status-koder-damaged'));
    expect((await chroot(['dpkg-query', '-W', 'jq'])).code).not.toBe(0);
    const r = await aptInstall(ctx, ['jq']);
    expect(r.present).toEqual(['jq']);
    expect(logs.some((l) => /left dpkg's database unreadable/.test(l))).toBe(true);
    expect(await readFile(join(t.root, 'var/lib/dpkg/status'))).toEqual(before);
    expect(await readdir(join(t.root, 'var/lib/dpkg/updates'))).not.toContain('0007');
    expect((await chroot(['dpkg', '--audit'])).code).toBe(0);
    await expect(stat(join(t.root, UNSAFE_IO_RECORD))).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(stat(join(t.root, UNSAFE_IO_STATUS))).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await readFile(victim, 'utf8')).toBe('host\n');
    const kept = await lstat(join(t.root, 'var/lib/dpkg/status-koder-damaged'));
    expect(kept.isFile()).toBe(true);
    expect(kept.size).toBe(before.length);
    await rm(join(t.root, 'var/lib/dpkg/status-koder-damaged'), { force: true });
    await rm(victimDir, { recursive: true, force: true });
  }, 120_000);
});
