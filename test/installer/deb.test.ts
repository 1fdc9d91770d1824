/**
 * The Debian package for real: `scripts/deb.ts` (what `npm run deb` runs)
 * builds the .deb, which is installed into a fresh bookworm minbase root with
 * `apt-get install ./koder-snapshot_*.deb` (apt resolves the Depends from
 * the Debian archive: bookworm's own nodejs, 18.x). Inside that root, the
 * packaged CLI must run: --version, verify of test/vectors, --help of every
 * command, the daemon serving the packaged wizard; and the files must be
 * where the Calamares and systemd integration expect them.
 *
 * Downloaded .debs are kept in .cache/deb-test-archives so a rerun does not
 * download nodejs & co again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, copyFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { makeDebianRoot, cacheDir, type TestRoot } from '../helpers/debian-root.ts';
import { runInChroot } from '../../src/chroot-appliers/chroot-runner.ts';
import { extractMinbase } from '../../src/util/minbase.ts';
import { installerWorld, type InstallerWorld } from './daemon-fixture.ts';
import { PASSPHRASE } from '../helpers/seed-chain.ts';
import { randomBytes } from 'node:crypto';
import { getSodium } from '../../src/keys/sodium.ts';
import { shebang } from '../../src/util/process-tuning.ts';
import { capture } from '../../src/capture/index.ts';
import { testConfig } from '../capture/fixture.ts';

const repo = new URL('../../', import.meta.url).pathname;
const version = (JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { version: string }).version;
const archives = join(cacheDir, 'deb-test-archives');
let out: string, deb: string, target: TestRoot, world: InstallerWorld | undefined;

const inRoot = (argv: string[], env?: Record<string, string>, stdin?: string) => runInChroot(target.root, argv, { check: false, env, stdin });

beforeAll(async () => {
  out = mkdtempSync(join(tmpdir(), 'ks-deb-'));
  const built = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/deb.ts', '--out', out], { cwd: repo, encoding: 'utf8' });
  if (built.status !== 0) throw new Error(`scripts/deb.ts failed:\n${built.stderr}\n${built.stdout}`);
  deb = join(out, readdirSync(out).find((f) => f.endsWith('.deb'))!);
  target = await makeDebianRoot();
  copyFileSync(deb, join(target.root, 'tmp', 'koder-snapshot.deb'));
  const cached = join(target.root, 'var/cache/apt/archives');
  if (existsSync(archives)) for (const f of readdirSync(archives)) copyFileSync(join(archives, f), join(cached, f));
  const update = await inRoot(['apt-get', 'update', '-q']);
  if (update.code !== 0) throw new Error(`apt-get update: ${update.stderr}`);
  const install = await inRoot(['apt-get', 'install', '-y', '-q', '--no-install-recommends', '/tmp/koder-snapshot.deb']);
  mkdirSync(archives, { recursive: true });
  for (const f of readdirSync(cached).filter((f) => f.endsWith('.deb'))) copyFileSync(join(cached, f), join(archives, f));
  if (install.code !== 0) throw new Error(`apt-get install ./koder-snapshot.deb: ${install.stdout}\n${install.stderr}`);
}, 300_000);

afterAll(async () => {
  await world?.cleanup();
  await target?.dispose();
  if (out) rmSync(out, { recursive: true, force: true });
});

describe('npm run deb → koder-snapshot_<version>_<arch>.deb, installed with apt into bookworm minbase', () => {
  it('is named, versioned and depends as documented', () => {
    expect(deb).toMatch(new RegExp(`/koder-snapshot_${version.replace(/\./g, '\\.')}_(amd64|arm64)\\.deb$`));
    const info = spawnSync('dpkg-deb', ['--field', deb, 'Depends', 'Architecture'], { encoding: 'utf8' }).stdout;
    expect(info).toMatch(/nodejs \(>= 18\.19\)/);
    expect(info).toMatch(/util-linux/);
    // No node_modules tree: the bundle, plus the one native addon's few files.
    const files = spawnSync('dpkg-deb', ['--contents', deb], { encoding: 'utf8' }).stdout;
    const nodeModules = files.split('\n').filter((l) => l.includes('/node_modules/') && !l.endsWith('/'));
    expect(nodeModules.every((l) => l.includes('/node_modules/zstd-napi/')), nodeModules.join('\n')).toBe(true);
    expect(nodeModules.length).toBeLessThan(15);
  });

  it('runs on Debian bookworm’s own Node.js: --version, and verify of test/vectors', async () => {
    const node = await inRoot(['node', '--version']);
    expect(node.stdout.trim()).toMatch(/^v18\./);
    // Started as the product starts (src/util/process-tuning.ts): env -S with malloc's fixed threshold, node's flags.
    expect(readFileSync(join(target.root, 'usr/lib/koder-snapshot/lib/cli/koder-snapshot.mjs'), 'utf8').split('\n')[0]).toBe(shebang());
    const v = await inRoot(['koder-snapshot', '--version']);
    expect(v.stderr).toBe('');
    expect(v.stdout.trim()).toBe(`koder-snapshot ${version}`);
    cpSync(join(repo, 'test/vectors'), join(target.root, 'tmp/vectors'), { recursive: true });
    const pub = (JSON.parse(readFileSync(join(repo, 'test/vectors/key.json'), 'utf8')) as { public_key_base64: string }).public_key_base64;
    const ok = await inRoot(['koder-snapshot', 'verify', '--pubkey', pub, '/tmp/vectors/root.kvg', '/tmp/vectors/delta1.kvg', '/tmp/vectors/delta2.kvg']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/[0-9a-f]{64}/);
    // and refuses a tampered one
    const bad = readFileSync(join(repo, 'test/vectors/delta2.kvg'), 'utf8').replace(/hostname = "([^"]*)"/, 'hostname = "x$1"');
    spawnSync('sh', ['-c', 'cat > "$1"', 'sh', join(target.root, 'tmp/vectors/bad.kvg')], { input: bad });
    const refused = await inRoot(['koder-snapshot', 'verify', '--pubkey', pub, '/tmp/vectors/root.kvg', '/tmp/vectors/delta1.kvg', '/tmp/vectors/bad.kvg']);
    expect(refused.code).not.toBe(0);
    // The packaged Argon2id thread (a vault's default KDF runs there) on Node 18: the key libsodium gives here.
    const job = { bytes: 32, password: [...Buffer.from('correct horse')], salt: Array(16).fill(7), opslimit: 1, memlimit: 32 * 1024 * 1024 };
    const script = `const { Worker } = require('node:worker_threads'); const j = ${JSON.stringify(job)};
new Worker('/usr/lib/koder-snapshot/lib/cli/argon2-worker.mjs', { workerData: { ...j, password: new Uint8Array(j.password), salt: new Uint8Array(j.salt) } })
  .on('message', (m) => console.log(m.result ? Buffer.from(m.result).toString('hex') : 'error ' + m.error));`;
    const kdf = await inRoot(['node', '-e', script]);
    const s = await getSodium();
    expect(kdf.stdout.trim(), kdf.stderr).toBe(Buffer.from(s.crypto_pwhash(32, Buffer.from('correct horse'), new Uint8Array(16).fill(7), 1, job.memlimit, s.crypto_pwhash_ALG_ARGON2ID13)).toString('hex'));
  }, 60_000);

  it('the packaged repository thread on Node 18: a pack indexed and checked out (CRC-32 without zlib.crc32), git finds the tree clean', async () => {
    const src = join(target.root, 'tmp/repo-src');
    const dir = join(target.root, 'tmp/repo');
    mkdirSync(src, { recursive: true });
    const git = (cwd: string, args: string[], input?: Buffer) => {
      const r = spawnSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { cwd, input, maxBuffer: 1 << 26 });
      if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
      return r.stdout;
    };
    git(src, ['init', '-q', '-b', 'main']);
    for (let f = 0; f < 30; f++) writeFileSync(join(src, `f${f}.txt`), `file ${f}\n`.repeat(50 + f));
    writeFileSync(join(src, 'run.sh'), '#!/bin/sh\necho run\n', { mode: 0o755 });
    git(src, ['add', '.']);
    git(src, ['commit', '-q', '-m', 'one']);
    const oid = git(src, ['rev-parse', 'main']).toString().trim();
    mkdirSync(dir);
    git(dir, ['init', '-q', '-b', 'main']);
    const pack = git(src, ['pack-objects', '--stdout'], git(src, ['rev-list', '--objects', '--all']));
    writeFileSync(join(dir, '.git/objects/pack/tmp-bundle.pack'), pack);
    const job = { dir: '/tmp/repo', entry: { slug: 'repo', path: '~/repo', branch: 'main' }, header: { prerequisites: [], refs: [{ name: 'refs/heads/main', oid }] }, packChecksum: pack.subarray(-20).toString('hex') };
    const script = `const { Worker } = require('node:worker_threads');
new Worker('/usr/lib/koder-snapshot/lib/cli/repo-worker.mjs', { workerData: ${JSON.stringify(job)} }).on('message', (m) => console.log(JSON.stringify(m)));`;
    const r = await inRoot(['node', '-e', script]);
    expect(r.stdout.trim(), r.stderr).toBe('{"result":[]}');
    expect(git(dir, ['status', '--porcelain']).toString()).toBe('');
    expect(git(dir, ['rev-parse', 'HEAD']).toString().trim()).toBe(oid);
    expect(readFileSync(join(dir, 'f7.txt'), 'utf8')).toBe('file 7\n'.repeat(57));
    git(dir, ['fsck', '--full']);
  }, 60_000);

  it('every command answers --help; the server-only ones say they are not packaged', async () => {
    const usage = (await inRoot(['koder-snapshot', '--help'])).stdout;
    const names = usage.split('\n').map((l) => /^ {2}([a-z]+) {2,}/.exec(l)?.[1]).filter(Boolean) as string[];
    expect(names).toEqual(expect.arrayContaining(['restore', 'daemon', 'verify', 'capture']));
    // One chroot for all of them: `NAME<TAB>exit<TAB>first line`.
    const r = await inRoot(['sh', '-c', 'for n in "$@"; do out=$(koder-snapshot "$n" --help 2>&1); printf "%s\\t%s\\t%s\\n" "$n" "$?" "$(printf "%s" "$out" | head -n1)"; done', 'sh', ...names]);
    const rows = r.stdout.trim().split('\n').map((l) => l.split('\t'));
    expect(rows.map((x) => x[0])).toEqual(names);
    for (const [n, code, first] of rows) {
      expect(code, n).toBe('0');
      expect(first, n).toMatch(/^Usage: koder-snapshot/);
    }
    const serve = await inRoot(['koder-snapshot', 'serve']);
    expect(serve.code).toBe(2);
    expect(serve.stderr).toMatch(/Not part of the Debian package/);
  }, 60_000);

  it('the daemon serves the packaged wizard and writes its URL file', async () => {
    // The daemon as the unit starts it (minus systemd): URL file, wizard from /usr/share.
    const script = [
      'set -e',
      'mkdir -p /run/koder-snapshot',
      'koder-snapshot daemon --mode installer --server http://127.0.0.1:9 --state-dir /tmp/daemon --url-file /run/koder-snapshot/wizard-url --token t0ken >/tmp/daemon.log 2>&1 &',
      'pid=$!',
      'for i in $(seq 50); do [ -s /run/koder-snapshot/wizard-url ] && break; sleep 0.2; done',
      'url=$(cat /run/koder-snapshot/wizard-url)',
      `node -e 'const u=new URL(process.argv[1]); (async()=>{const h={Authorization:"Bearer t0ken"}; const s=await (await fetch(u.origin+"/api/status",{headers:h})).json(); const i=await fetch(u.origin+"/",{headers:h}); console.log(JSON.stringify(s), i.status, (await i.text()).includes("<div id=\\"app\\">"))})()' "$url"`,
      'stat -c %a /run/koder-snapshot/wizard-url',
      'kill $pid; wait $pid || true',
    ].join('\n');
    const r = await inRoot(['sh', '-c', script]);
    expect(r.code, r.stderr + readFileSync(join(target.root, 'tmp/daemon.log'), 'utf8')).toBe(0);
    expect(r.stdout).toContain('{"phase":"welcome","confirmed":false,"mode":"installer"} 200 true');
    expect(r.stdout.trim().split('\n').pop()).toBe('600');
  }, 60_000);

  it('the Backup app: its desktop entry, and `koder-snapshot app` as a user serves the packaged page (never as root)', async () => {
    const desktop = readFileSync(join(target.root, 'usr/share/applications/koder-snapshot-backup.desktop'), 'utf8');
    expect(desktop).toMatch(/^\[Desktop Entry\]$/m);
    expect(desktop).toMatch(/^Name=Backup$/m);
    expect(desktop).toMatch(/^Exec=koder-snapshot app$/m);
    expect(desktop).toMatch(/^Type=Application$/m);
    // The freedesktop validator, where it is installed (desktop-file-utils).
    if (existsSync('/usr/bin/desktop-file-validate')) {
      const v = spawnSync('desktop-file-validate', [join(target.root, 'usr/share/applications/koder-snapshot-backup.desktop')], { encoding: 'utf8' });
      expect(v.status, v.stdout + v.stderr).toBe(0);
    }
    const script = [
      'set -e',
      'id appuser >/dev/null 2>&1 || useradd -m appuser',
      'runuser -u appuser -- env HOME=/home/appuser koder-snapshot app --no-open --server http://127.0.0.1:9 >/tmp/app.log 2>&1 &',
      'pid=$!',
      'for i in $(seq 50); do grep -q "^http" /tmp/app.log && break; sleep 0.2; done',
      'url=$(grep "^http" /tmp/app.log)',
      `node -e 'const u=new URL(process.argv[1]); const h={Authorization:"Bearer "+u.searchParams.get("token")}; (async()=>{const i=await fetch(u.origin+"/",{headers:h}); const o=await fetch(u.origin+"/api/app/overview",{headers:h}); console.log(i.status, (await i.text()).includes("<div id=\\"app\\">"), o.status, (await o.json()).error.code)})()' "$url"`,
      'stat -c %a /home/appuser/.local/state/koder-snapshot/app/app.json',
      'kill $pid; wait $pid || true',
      'koder-snapshot app --no-open --server http://127.0.0.1:9 && echo "root: ran" || echo "root: refused $?"',
    ].join('\n');
    const r = await inRoot(['sh', '-c', script]);
    expect(r.code, r.stderr + readFileSync(join(target.root, 'tmp/app.log'), 'utf8')).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toContain('200 true 401 app_not_signed_in');
    expect(lines).toContain('600');
    expect(lines.pop()).toBe('root: refused 2');
  }, 60_000);

  it('restores for real with the packaged CLI on Node 18 (login, verify, files, secrets into a nested minbase)', async () => {
    world = await installerWorld();
    // The target: a second minbase root inside the installed one, with its user.
    const nested = join(target.root, 'target');
    mkdirSync(nested);
    await extractMinbase(nested);
    await runInChroot(nested, ['useradd', '-m', '-u', '1000', '-s', '/bin/bash', 'ana']);
    // ana's saved login, where the packaged CLI (HOME=/root in the chroot) looks.
    cpSync(join(world.work, 'config'), join(target.root, 'root/.config'), { recursive: true });
    const r = await inRoot(['koder-snapshot', 'restore', '--target', '/target', '--user', 'ana', '--server', world.srv.url, '--snapshot', world.seeded.leaf, '--only', 'files,secrets', '--passphrase-stdin', '--json', '--state-dir', '/tmp/restore-state'], undefined, PASSPHRASE + '\n');
    const report = r.stdout.trim().split('\n').map((l) => JSON.parse(l)).find((l) => l.type === 'report')?.report;
    expect(report?.status, r.stdout + r.stderr).toBe('done');
    expect(r.code).toBe(0);
    expect(readFileSync(join(nested, 'home/ana/Documentos/leia-me.txt'), 'utf8')).toBe('Olá, mundo restaurado!\n');
    expect(readFileSync(join(nested, 'home/ana/.ssh/id_ed25519')).equals(world.seeded.sshKey)).toBe(true);
  }, 120_000);

  it('data v2 on Node 18: the packaged capture chunks, seals and packs a folder (dry run); the packaged restore restores a v2 snapshot', async () => {
    // Capture's worker thread in the bundle: a dry run of a small home (no login needed).
    mkdirSync(join(target.root, 'tmp/h/Documentos/sub'), { recursive: true });
    writeFileSync(join(target.root, 'tmp/h/Documentos/sub/carta.txt'), 'Querida mãe,\n'.repeat(2000));
    writeFileSync(join(target.root, 'tmp/h/Documentos/foto.raw'), randomBytes(3 * 1024 * 1024));
    const dry = await inRoot(['env', 'XDG_CACHE_HOME=/tmp/h-cache', 'XDG_CONFIG_HOME=/tmp/h-config', 'koder-snapshot', 'capture', '--dry-run', '--home', '/tmp/h', '--only', 'files']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/^# folder .* 2 files  ~\/Documentos$/m);
    expect(dry.stdout).toMatch(/^version = 2$/m);

    // A v2 snapshot of the same user, captured on the host; restored by the packaged CLI (restore worker).
    world ??= await installerWorld();
    const home = join(world.work, 'v2-home');
    mkdirSync(join(home, 'Documentos'), { recursive: true });
    writeFileSync(join(home, 'Documentos', 'v2.txt'), 'data v2 on Node 18\n');
    writeFileSync(join(home, 'Documentos', 'big.raw'), randomBytes(2 * 1024 * 1024));
    const client = world.client;
    const cap = await capture({ config: testConfig(join(world.work, 'v2'), (c) => ((c.files.folders = ['~/Documentos']), (c.snapshot.hostname = 'v2-host'))), home, only: ['files'], client, identity: world.seeded.identity });
    expect(cap.manifest.snapshot.version).toBe(2);
    const nested = join(target.root, 'target-v2');
    mkdirSync(nested);
    await extractMinbase(nested);
    await runInChroot(nested, ['useradd', '-m', '-u', '1000', '-s', '/bin/bash', 'ana']);
    cpSync(join(world.work, 'config'), join(target.root, 'root/.config'), { recursive: true });
    const r = await inRoot(['koder-snapshot', 'restore', '--target', '/target-v2', '--user', 'ana', '--server', world.srv.url, '--snapshot', cap.id, '--only', 'files', '--passphrase-stdin', '--json', '--state-dir', '/tmp/restore-state-v2'], undefined, PASSPHRASE + '\n');
    const report = r.stdout.trim().split('\n').map((l) => JSON.parse(l)).find((l) => l.type === 'report')?.report;
    expect(report?.status, r.stdout + r.stderr).toBe('done');
    expect(readFileSync(join(nested, 'home/ana/Documentos/v2.txt'), 'utf8')).toBe('data v2 on Node 18\n');
    expect(readFileSync(join(nested, 'home/ana/Documentos/big.raw')).equals(readFileSync(join(home, 'Documentos', 'big.raw')))).toBe(true);
  }, 180_000);

  it('puts the Calamares modules, the unit, the man page where they are used', async () => {
    const at = (p: string) => join(target.root, p);
    for (const p of [
      'usr/lib/calamares/modules/koderrestore/module.desc',
      'usr/lib/calamares/modules/koderrestore/main.py',
      'usr/share/calamares/modules/koderrestore.conf',
      'usr/share/calamares/modules/koderrestoreview.conf',
      'usr/share/koder-snapshot/calamares/koderrestoreview.qml',
      'usr/share/koder-snapshot/calamares/KoderWebView.qml',
      'usr/share/koder-snapshot/wizard/index.html',
      'usr/share/koder-snapshot/app/index.html',
      'usr/lib/koder-snapshot/dist/app/index.html',
      'usr/share/applications/koder-snapshot-backup.desktop',
      'usr/lib/koder-snapshot/lib/cli/zstd-worker.mjs', // the files restore above ran it
      'usr/lib/koder-snapshot/lib/cli/capture-worker.mjs', // the v2 dry run above ran it
      'usr/lib/koder-snapshot/lib/cli/restore-worker.mjs', // the v2 restore above ran it
      'lib/systemd/system/koder-snapshot-daemon.service',
      'etc/default/koder-snapshot',
      'usr/share/doc/koder-snapshot/copyright',
    ]) expect(existsSync(at(p)), p).toBe(true);
    // the QML the notesqml instance names is the one installed
    expect(readFileSync(at('usr/share/calamares/modules/koderrestoreview.conf'), 'utf8')).toMatch(/^qmlFilename: \/usr\/share\/koder-snapshot\/calamares\/koderrestoreview\.qml$/m);
    const unit = readFileSync(at('lib/systemd/system/koder-snapshot-daemon.service'), 'utf8');
    expect(unit).toMatch(/^ExecStart=\/usr\/bin\/koder-snapshot daemon --mode installer .*--url-file \/run\/koder-snapshot\/wizard-url$/m);
    const man = gunzipSync(readFileSync(at('usr/share/man/man1/koder-snapshot.1.gz'))).toString('utf8');
    expect(man).toMatch(/^\.TH KODER\\-SNAPSHOT 1/m);
    expect(man).toMatch(/^\.SS restore$/m);
    // removable again
    const rm = await inRoot(['apt-get', 'purge', '-y', '-q', 'koder-snapshot']);
    expect(rm.code, rm.stderr).toBe(0);
    expect(existsSync(at('usr/bin/koder-snapshot'))).toBe(false);
  }, 60_000);
});
