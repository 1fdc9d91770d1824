/**
 * A whole restore into a fresh Debian root: `koder-snapshot restore` against
 * a hand-written shell script doing the same work in the obvious order.
 *
 *   node --import tsx bench/install-restore.ts
 *
 * Env:
 *   KODER_BENCH_SIZE   bytes of the two folders together (default 1G: 60 % / 40 %)
 *   KODER_BENCH_RUNS   runs of each side (default 2; pairs alternate who goes first)
 *   KODER_BENCH_APT    warm (default: both sides start with the same .debs in the
 *                      target's apt cache, downloaded once before) or cold (both
 *                      download them from the host's Debian mirror)
 *   KODER_BENCH_PACKAGES  only the first N of the 40 packages (a quick try of the bench itself)
 *   KODER_BENCH_SEQ=1  another side: ours without the fetch-ahead (KODER_FETCH_AHEAD=0)
 *   KODER_BENCH_FSYNC=1  another side: ours with dpkg's own fsyncs (KODER_APT_SAFE_IO=1)
 *   KODER_BENCH_PROF   a folder for CPU profiles of ours (node --cpu-prof)
 *   KODER_BENCH_TSX=1  ours from the source tree through tsx (bin/koder-snapshot.mjs)
 *                      instead of bundled as the .deb ships it (bench/child-bundle.ts)
 *   KODER_BENCH_DIR    work dir (default: a mkdtemp dir in the OS tmpdir, removed at the end)
 *
 * Set-up (not timed): the reference server on 127.0.0.1 (in this process);
 * an account with its identity, vault (the product's default Argon2id) and
 * public key; a home with two folders (bench/restore-files.ts `makeTree`:
 * many small files, some medium, a few large; two thirds text) and two git
 * repositories, captured for real as data v2 (`capture()`), plus a signed
 * delta naming 40 apt packages from the Debian archive (with golang,
 * OpenJDK, pandoc and gcc among them: ≈ 280 packages with dependencies).
 * The same data as version 1 blobs on the same server for the script: each
 * folder as `tar | zstd -3`, each repository as `git bundle create --all`.
 *
 * Per run, into a fresh minbase root on disk (the cached tarball extracted,
 * user ana added), page cache dropped:
 *   (a) ours:   koder-snapshot restore (the CLI bundled as in the .deb) --target R --user ana --only apps,files,repos
 *               --json --passphrase-stdin (log in saved; chain verified, vault
 *               opened, apt, files, repositories; the fetch-ahead beside apt);
 *   (b) script: in a private mount + PID namespace, R's own /dev (tmpfs, nodes,
 *               new devpts), proc, read-only sysfs, /run, resolv.conf bound
 *               read-only, policy-rc.d (the product's chroot rules): chroot
 *               apt-get update; apt-get install -y PKGS; then per folder
 *               curl | zstd -d | tar -x into R/home/ana/F; per repository
 *               curl > bundle; git clone bundle; chown -R ana.
 * The first pair's trees are compared (diff -r of the folders, git log and
 * status of the repositories, the installed package set). Printed: wall
 * times, apt's part of each, the ratio ours / script per pair and of the
 * medians.
 */
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { saveTokens } from '../src/auth/index.ts';
import { runInChroot } from '../src/chroot-appliers/chroot-runner.ts';
import { DriveClient } from '../src/drive/index.ts';
import { extractMinbase, minbaseTarball } from '../src/util/minbase.ts';
import { g } from '../test/helpers/git.ts';
import { V2_PASSPHRASE, captureV2, v2Account } from '../test/helpers/v2-snapshot.ts';
import { loginAs, testServer } from '../test/server/fixture.ts';
import { dropCaches, makeTree, parseSize } from './tree-fixture.ts';
import { NODE_ENV } from '../src/util/process-tuning.ts';
import { benchBundle, benchNodeFlags } from './child-bundle.ts';
import { runAsServerRuns } from './server-flags.ts';

const MiB = 1024 * 1024;
/** The CLI as the .deb ships it (one bundle, workers beside it); KODER_BENCH_TSX=1: the sources through tsx (≈ 1 s more to start). */
const ourCli = (): Promise<string> =>
  process.env.KODER_BENCH_TSX === '1' ? Promise.resolve(fileURLToPath(new URL('../bin/koder-snapshot.mjs', import.meta.url))) : benchBundle('koder-snapshot', 'bench/cli-entry.ts');
/** The hand-written script (b). */
const SCRIPT = fileURLToPath(new URL('./install-restore.sh', import.meta.url));

/** 40 packages: everyday tools and a few large ones (golang, OpenJDK, pandoc, gcc/g++). */
export const PACKAGES = [
  'jq', 'tree', 'htop', 'curl', 'wget', 'git', 'vim-nox', 'tmux', 'zsh', 'ripgrep',
  'fd-find', 'bat', 'python3', 'python3-venv', 'sqlite3', 'rsync', 'unzip', 'zip', 'p7zip-full', 'ncdu',
  'less', 'bash-completion', 'gnupg', 'openssh-client', 'make', 'shellcheck', 'strace', 'lsof', 'netcat-openbsd', 'file',
  'mtr-tiny', 'dnsutils', 'whois', 'golang-1.19-go', 'openjdk-17-jre-headless', 'gcc', 'g++', 'gdb', 'cmake', 'pandoc',
];

function sh(script: string, ...args: string[]): string {
  const r = spawnSync('bash', ['-c', `set -eo pipefail\n${script}`, 'bash', ...args], { encoding: 'utf8', maxBuffer: 256 * MiB });
  if (r.status !== 0) throw new Error(`${script}\n${r.stderr}`);
  return r.stdout;
}

/** A repository of `files` source-like files over `commits` commits. */
function makeRepo(dir: string, files: number, commits: number): void {
  mkdirSync(dir, { recursive: true });
  g(dir, ['init', '-q', '-b', 'main']);
  const line = (i: number) => `export function f${i}(x: number): number { return x * ${i} + ${(i * 7919) % 1000}; }\n`;
  for (let c = 0; c < commits; c++) {
    for (let f = c; f < files; f += commits) {
      const d = join(dir, 'src', `m${f % 40}`);
      mkdirSync(d, { recursive: true });
      writeFileSync(join(d, `file${f}.ts`), Array.from({ length: 40 + (f % 200) }, (_, i) => line(i + f + c)).join(''));
    }
    g(dir, ['add', '.']);
    g(dir, ['commit', '-q', '-m', `commit ${c}`]);
  }
}

/** A fresh minbase root on disk with ana (1000), and the .debs in its apt cache when warm. */
async function freshRoot(dir: string, debs: string | undefined): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  await extractMinbase(dir);
  await runInChroot(dir, ['useradd', '-m', '-u', '1000', '-s', '/bin/bash', 'ana']);
  if (debs) for (const f of readdirSync(debs)) copyFileSync(join(debs, f), join(dir, 'var/cache/apt/archives', f));
}

interface Timed {
  ms: number;
  /** ours: CPU seconds of its own process (main thread, workers, libuv's pool; not apt's), read from /proc while it runs. */
  ownCpuS?: number;
  /** ours: the same by thread name (user+system; `node` is the main thread and the worker threads). */
  threads?: string;
  /** apt's share: ours from the JSON progress (apt.install's first to last line), the script's from its own stamps. */
  aptMs: number;
  detail: string;
}

/** Ours' run; its JSON lines (each after its elapsed ms) and stderr are kept in `log` + .jsonl / .err. */
async function runOurs(root: string, env: NodeJS.ProcessEnv, state: string, log: string, extraEnv: NodeJS.ProcessEnv = {}): Promise<Timed> {
  const cli = await ourCli();
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    // As the CLI starts (its shebang's V8 flag); KODER_BENCH_PROF=DIR: CPU profiles of ours' main thread and workers.
    const prof = process.env.KODER_BENCH_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.KODER_BENCH_PROF}`] : [];
    const p = spawn(process.execPath, [...benchNodeFlags(), ...prof, cli, 'restore', '--target', root, '--user', 'ana', '--only', 'apps,files,repos', '--json', '--passphrase-stdin', '--state-dir', state], { env: { ...env, ...NODE_ENV, ...extraEnv }, stdio: ['pipe', 'pipe', 'pipe'] });
    p.stdin.end(`${V2_PASSPHRASE}\n`);
    let buf = '';
    let err = '';
    const timeline: string[] = [];
    const steps = new Map<string, [number, number]>();
    let ownCpuS = 0;
    const perThread = new Map<string, [string, number, number]>();
    const cpuPoll = setInterval(() => {
      const c = processCpuSeconds(p.pid);
      if (c !== undefined) ownCpuS = c;
      threadCpu(p.pid, perThread);
    }, 100);
    let report: { status: string; results: { stepId: string; status: string; message?: string }[] } | undefined;
    p.stdout.on('data', (d: Buffer) => {
      const lines = (buf + d.toString()).split('\n');
      buf = lines.pop()!;
      const now = performance.now() - t0;
      for (const l of lines) {
        timeline.push(`${now.toFixed(0)} ${l}`);
        if (!l.startsWith('{')) continue;
        const x = JSON.parse(l) as { type: string; current?: string; report?: typeof report };
        if (x.type === 'progress' && x.current) {
          const s = steps.get(x.current);
          steps.set(x.current, [s?.[0] ?? now, now]);
        }
        if (x.type === 'report') report = x.report;
      }
    });
    let errAll = '';
    p.stderr.on('data', (d: Buffer) => {
      errAll += `${(performance.now() - t0).toFixed(0)} ${d.toString()}`;
      err = (err + d.toString()).slice(-8000);
    });
    p.on('close', (code) => {
      const ms = performance.now() - t0;
      clearInterval(cpuPoll);
      writeFileSync(`${log}.jsonl`, timeline.join('\n') + '\n');
      writeFileSync(`${log}.err`, errAll);
      if (!report) return reject(new Error(`ours exited ${code} without a report:\n${err}`));
      const bad = report.results.filter((r) => r.status !== 'done');
      if (bad.length) console.log(`    not done: ${bad.map((r) => `${r.stepId} ${r.status} ${r.message ?? ''}`).join('; ')}`);
      const apt = steps.get('apt.install');
      const span = (id: string) => {
        const s = [...steps].find(([k]) => k.startsWith(id))?.[1];
        return s ? `${((s[1] - s[0]) / 1000).toFixed(1)} s` : '-';
      };
      const byName = new Map<string, [number, number]>();
      for (const [name, u, sy] of perThread.values()) {
        const b = byName.get(name) ?? [0, 0];
        byName.set(name, [b[0] + u, b[1] + sy]);
      }
      const threads = [...byName].sort((a, b) => b[1][0] + b[1][1] - a[1][0] - a[1][1]).map(([n, [u, sy]]) => `${n} ${u.toFixed(1)}+${sy.toFixed(1)}`).join(', ');
      resolve({ ms, ownCpuS, threads, aptMs: apt ? apt[1] - apt[0] : 0, detail: `apt ${apt ? ((apt[1] - apt[0]) / 1000).toFixed(1) : '-'} s, files ${span('files.restore')} (first folder), repos ${span('repo.restore')} (first)` });
    });
  });
}

function runScript(root: string, server: string, token: string, env: { PACKAGES: string; FOLDERS: string; REPOS: string }): Promise<Timed> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const p = spawn('bash', [SCRIPT, root, server, token], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('close', (code) => {
      const ms = Date.now() - t0;
      if (code !== 0) return reject(new Error(`script exited ${code}:\n${err.slice(-4000)}`));
      const at = new Map([...err.matchAll(/^@ (\S+) (\d+\.\d+)$/gm)].map((m) => [m[1]!, Number(m[2]) * 1000 - t0]));
      const d = (a: string, b: string) => `${((at.get(b)! - at.get(a)!) / 1000).toFixed(1)} s`;
      resolve({ ms, aptMs: at.get('apt-done')! - at.get('apt')!, detail: `apt ${d('apt', 'apt-done')}, files ${d('files', 'repos')}, repos ${d('repos', 'done')}` });
    });
  });
}

/** utime + stime of a live process, in seconds (USER_HZ 100); undefined once it is gone. */
function processCpuSeconds(pid: number | undefined): number | undefined {
  const t = statTimes(`/proc/${pid}/stat`);
  return t && t[1] + t[2];
}

/** Each thread of a live process: tid → [name, user s, system s] (the last reading stays once a thread is gone). */
function threadCpu(pid: number | undefined, into: Map<string, [string, number, number]>): void {
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return; // the process is gone
  }
  for (const tid of tids) {
    const t = statTimes(`/proc/${pid}/task/${tid}/stat`);
    if (t) into.set(tid, t); // else the thread ended between the listing and the read
  }
}

/** A /proc …/stat file: [name, user s, system s] (USER_HZ 100); undefined once the process or thread is gone. */
function statTimes(path: string): [string, number, number] | undefined {
  let raw: string;
  try {
    raw = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  const f = raw.slice(raw.lastIndexOf(')') + 2).split(' ');
  return [raw.slice(raw.indexOf('(') + 1, raw.lastIndexOf(')')), Number(f[11]) / 100, Number(f[12]) / 100];
}

/** CPU seconds the whole machine has been busy since boot (every state of /proc/stat's first line but idle and iowait). */
function machineBusySeconds(): number {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1, 9).map(Number);
  return (f.reduce((a, b) => a + b, 0) - f[3]! - f[4]!) / 100;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/** What the two restores left that must be the same. */
function compare(a: string, b: string, folders: string[], repos: string[]): string[] {
  const out: string[] = [];
  for (const f of folders) {
    const d = spawnSync('diff', ['-r', '--no-dereference', join(a, 'home/ana', f), join(b, 'home/ana', f)], { encoding: 'utf8' });
    if (d.status !== 0) out.push(`folder ${f} differs: ${d.stdout.slice(0, 500)}`);
  }
  for (const r of repos) {
    const state = (root: string) => g(join(root, 'home/ana/dev', r), ['log', '--format=%H', 'main']) + g(join(root, 'home/ana/dev', r), ['status', '--porcelain']);
    if (state(a) !== state(b)) out.push(`repository ${r} differs`);
  }
  const pkgs = (root: string) => sh(`chroot "$1" dpkg-query -W -f '\${Package} \${Version} \${db:Status-Abbrev}\\n' | sort`, root);
  if (pkgs(a) !== pkgs(b)) out.push('the installed packages differ');
  return out;
}

async function main(): Promise<void> {
  await runAsServerRuns();
  const size = parseSize(process.env.KODER_BENCH_SIZE ?? '1G');
  const runs = Number(process.env.KODER_BENCH_RUNS ?? 2);
  const warm = (process.env.KODER_BENCH_APT ?? 'warm') === 'warm';
  const seq = process.env.KODER_BENCH_SEQ === '1';
  const fsync = process.env.KODER_BENCH_FSYNC === '1';
  const packages = PACKAGES.slice(0, Number(process.env.KODER_BENCH_PACKAGES ?? PACKAGES.length));
  const work = process.env.KODER_BENCH_DIR ?? (await mkdtemp(join(tmpdir(), 'koder-bench-install-')));
  const ownWork = !process.env.KODER_BENCH_DIR;
  console.log(`machine: ${cpus().length} x ${cpus()[0]?.model ?? '?'}, ${(totalmem() / 1024 ** 3).toFixed(1)} GiB RAM, node ${process.version}, load ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  const srv = await testServer();
  try {
    // ── the account, the home, the captures ──
    const home = join(work, 'home');
    const folders = ['Documentos', 'Fotos'];
    let t = performance.now();
    const a = makeTree(join(home, folders[0]!), Math.round(size * 0.6));
    const b = makeTree(join(home, folders[1]!), Math.round(size * 0.4));
    const repos = ['site', 'notas'];
    makeRepo(join(home, 'dev', repos[0]!), 3000, 30);
    makeRepo(join(home, 'dev', repos[1]!), 200, 5);
    console.log(`home: ${folders[0]} ${a.files} files ${(a.bytes / MiB).toFixed(0)} MiB, ${folders[1]} ${b.files} files ${(b.bytes / MiB).toFixed(0)} MiB; repositories ${repos.join(', ')} (${((performance.now() - t) / 1000).toFixed(0)} s to write)`);
    const tokens = await loginAs(srv, 'ana');
    const client = new DriveClient({ server: srv.url, tokens: tokens.access_token });
    const account = await v2Account(client, { kdf: 'moderate' });
    t = performance.now();
    await captureV2(client, account, work, home, { apt: packages, folders: folders.map((f) => `~/${f}`), packMib: 32 });
    console.log(`captured as data v2 in ${((performance.now() - t) / 1000).toFixed(0)} s`);
    const v1 = (file: string) => {
      const hex = sh('sha256sum < "$1"', file).split(' ')[0]!;
      return hex;
    };
    const folderBlobs: string[] = [];
    for (const f of folders) {
      const file = join(work, `${f}.tar.zst`);
      sh('tar --format=posix -C "$1" -cf - . | zstd -q -3 -T0 -c > "$2"', join(home, f), file);
      const hex = v1(file);
      await client.uploadBlob(hex, file);
      folderBlobs.push(`${f}=${hex}`);
    }
    const repoBlobs: string[] = [];
    for (const r of repos) {
      const file = join(work, `${r}.bundle`);
      g(join(home, 'dev', r), ['bundle', 'create', file, '--all']);
      const hex = v1(file);
      await client.uploadBlob(hex, file);
      repoBlobs.push(`${r}=${hex}`);
    }
    console.log(`the same data as version 1 blobs for the script: ${folderBlobs.length} tar.zst, ${repoBlobs.length} bundles`);

    // ── the CLI's login, the apt cache ──
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: join(work, 'cli'), XDG_CONFIG_HOME: join(work, 'cli/config'), XDG_STATE_HOME: join(work, 'cli/state'), KODER_SNAPSHOT_SERVER: srv.url, KODER_CACHE_DIR: process.env.KODER_CACHE_DIR };
    await saveTokens(tokens, env);
    await minbaseTarball();
    let debs: string | undefined;
    if (warm) {
      t = performance.now();
      const scratch = join(work, 'scratch-root');
      await freshRoot(scratch, undefined);
      await runInChroot(scratch, ['apt-get', 'update']);
      await runInChroot(scratch, ['apt-get', 'install', '-y', '--download-only', ...packages]);
      debs = join(work, 'debs');
      mkdirSync(debs, { recursive: true });
      for (const f of readdirSync(join(scratch, 'var/cache/apt/archives')).filter((f) => f.endsWith('.deb'))) copyFileSync(join(scratch, 'var/cache/apt/archives', f), join(debs, f));
      await rm(scratch, { recursive: true, force: true });
      console.log(`apt cache: warm for both (${readdirSync(debs).length} .debs in the target's /var/cache/apt/archives before each run; ${((performance.now() - t) / 1000).toFixed(0)} s to fetch once)`);
    } else console.log("apt cache: cold for both (the .debs come from the host's Debian mirror in each run)");
    console.log(`page cache dropped before each run: ${dropCaches() ? 'yes' : 'no (not permitted)'}`);

    // ── the runs ──
    const sides = ['script', 'ours', ...(seq ? ['ours-seq'] : []), ...(fsync ? ['ours-fsync'] : [])];
    const sideEnv: Record<string, NodeJS.ProcessEnv> = { 'ours-seq': { KODER_FETCH_AHEAD: '0' }, 'ours-fsync': { KODER_APT_SAFE_IO: '1' } };
    const results = new Map<string, Timed[]>(sides.map((s) => [s, []]));
    for (let i = 0; i < runs; i++) {
      const order = i % 2 === 0 ? sides : [...sides].reverse();
      for (const side of order) {
        const root = join(work, `root-${side}`);
        await freshRoot(root, debs);
        dropCaches();
        await new Promise((r) => setTimeout(r, 1500));
        const load = loadavg()[0]!.toFixed(1);
        const busy0 = machineBusySeconds();
        const server0 = process.cpuUsage();
        let r: Timed;
        if (side === 'script') {
          const token = (await loginAs(srv, 'ana')).access_token;
          r = await runScript(root, srv.url, token, { PACKAGES: packages.join(' '), FOLDERS: folderBlobs.join(' '), REPOS: repoBlobs.join(' ') });
        } else {
          r = await runOurs(root, env, join(work, `state-${side}-${i}`), join(work, `log-${side}-${i + 1}`), sideEnv[side] ?? {});
        }
        const busy = machineBusySeconds() - busy0;
        const server = process.cpuUsage(server0);
        results.get(side)!.push(r);
        console.log(`  run ${i + 1} ${side.padEnd(8)} ${(r.ms / 1000).toFixed(1)} s (${r.detail}), load before ${load}`);
        // Where the two cores went: the whole machine, the bench's process (the reference server, both sides read from it), ours' own process.
        console.log(`      CPU: machine ${busy.toFixed(1)} s, server ${((server.user + server.system) / 1e6).toFixed(1)} s${r.ownCpuS !== undefined ? `, ours' process ${r.ownCpuS.toFixed(1)} s (user+system by thread: ${r.threads})` : ''}`);
      }
      if (i === 0) {
        const diffs = compare(join(work, 'root-script'), join(work, 'root-ours'), folders, repos);
        console.log(`  first pair identical (folders diff -r, repositories, installed packages): ${diffs.length ? `NO: ${diffs.join('; ')}` : 'yes'}`);
        if (diffs.length) process.exitCode = 1;
      }
    }
    for (const side of sides) await rm(join(work, `root-${side}`), { recursive: true, force: true });

    const ours = results.get('ours')!;
    const script = results.get('script')!;
    const pairs = ours.map((o, k) => o.ms / script[k]!.ms);
    console.log('');
    for (const side of sides) {
      const r = results.get(side)!;
      console.log(`${side.padEnd(8)} median ${(median(r.map((x) => x.ms)) / 1000).toFixed(1)} s, apt ${(median(r.map((x) => x.aptMs)) / 1000).toFixed(1)} s`);
    }
    console.log(`ours / script: ${(median(ours.map((x) => x.ms)) / median(script.map((x) => x.ms))).toFixed(3)} of the medians; per pair ${pairs.map((x) => x.toFixed(3)).join(' ')} (goal <= 0.90)`);
    for (const [side, what] of [['ours-seq', 'without fetch-ahead'], ['ours-fsync', "with dpkg's fsyncs"]] as const) {
      const s = results.get(side);
      if (s) console.log(`ours ${what} / script: ${(median(s.map((x) => x.ms)) / median(script.map((x) => x.ms))).toFixed(3)} of the medians; per pair ${s.map((o, k) => (o.ms / script[k]!.ms).toFixed(3)).join(' ')}`);
    }
    console.log(`load average at the end: ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  } finally {
    await srv.cleanup();
    if (ownWork) await rm(work, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
