/**
 * bench/peer-restic.ts — data v2 against restic 0.14 (Debian's), the same
 * data in the same run.
 *
 *   node --import tsx bench/peer-restic.ts
 *
 * Env:
 *   KODER_BENCH_SIZE      generated documents (default 1G; mixed like bench/capture.ts)
 *   KODER_BENCH_DATA      datasets, comma-separated: gen (generated), usr (real files copied
 *                         from /usr: share/doc, lib/chromium, lib/python3, share/icons) — default gen,usr
 *   KODER_BENCH_FIRSTS    first-capture pairs, each on a fresh account / repository (default 3)
 *   KODER_BENCH_ROUNDS    churn rounds after the "one 1 MiB file" round (default 10)
 *   KODER_BENCH_RESTORES  restore pairs (default 3)
 *   KODER_BENCH_DIR       work dir (default a mkdtemp dir in the OS tmpdir, removed at the end)
 *   KODER_BENCH_PROF      a dir: our children run with --cpu-prof into it (main thread and workers)
 *   KODER_BENCH_SEMI      our children's --max-semi-space-size (default 4, the product's)
 *   KODER_BENCH_NODE_FLAGS  our children's node flags instead of the product's (space-separated; a trial)
 *   KODER_BENCH_RWORKERS  our restore's worker threads (default the product's, 2)
 *   KODER_BENCH_MALLOC    0: our children without the product's malloc setting (src/util/process-tuning.ts)
 *   KODER_BENCH_LOOP      1: our children print their main thread's event-loop use and longest turn
 *
 * Per dataset (a home whose ~/Documents holds it):
 *   first      FIRSTS pairs, page cache dropped before each, order alternating: ours
 *              (`capture({ only: ['files'] })` into a fresh account of the reference server
 *              on 127.0.0.1) and restic (`restic backup` into a fresh local repository on
 *              the same disk) — wall time, peak RSS, bytes stored
 *   +1 MiB     one new 1 MiB file, then an incremental capture by each: bytes uploaded / added
 *   churn      ROUNDS × (one new 1 MiB file + 1 % of the files modified: a small edit —
 *              64 bytes inserted in a file ≤ 4 MiB, 4 KiB overwritten in a larger one),
 *              an incremental capture by each; then bytes on the server / in the repository
 *              against the first capture's
 *   restore    RESTORES pairs of the last snapshot into an empty target (page cache dropped):
 *              ours as the files applier (tree root → trees → pack-ordered ranged GETs by
 *              worker threads → staging → commit), restic `restore latest`; trees compared
 *              once (diff -r, contents and names)
 *
 * Ours runs in a child node process per capture or restore, started with the product's
 * V8 flag (--max-semi-space-size=4), calling the same `capture()` the CLI calls (the CLI adds
 * argument parsing and its login files; a child avoids them and gets a clean heap, as a
 * CLI run does). Its time is that of `capture()` / the restore itself: the product ships a
 * bundle, not tsx, so tsx's start-up (≈ 1 s of transpiling here) is not counted; restic's
 * is its whole process (a Go binary: start-up ≈ 10 ms; its scrypt key opening is counted).
 * Peak RSS: our child's VmHWM (node + tsx + modules ≈ 100 MiB of it), restic's by GNU time.
 * Debian has no rest-server, so restic writes a local repository on the same disk: it pays
 * no HTTP and no server hashing/fsync, we do — an advantage to restic.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, cpSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { generateDocuments, xorshift } from './home-fixture.ts';
import { dropCaches } from './tree-fixture.ts';
import { benchBundle, benchNodeFlags } from './child-bundle.ts';
import { NODE_ENV } from '../src/util/process-tuning.ts';

const MiB = 1024 * 1024;
const SELF = fileURLToPath(import.meta.url);

import type { ChildCapture, ChildOut, ChildRestore } from './peer-restic-child.ts';
import { runAsServerRuns } from './server-flags.ts';

// ── helpers ──────────────────────────────────────────────────────────────────

/**
 * Our child: by default the product's form, an esbuild bundle of the child entry and of the
 * worker threads' modules (as the .deb ships the CLI: no tsx, whose ESM hooks add a loader
 * thread per isolate and ≈ 30 MiB per worker); KODER_BENCH_TSX=1 runs the sources through tsx.
 */
export async function childEntry(): Promise<string[]> {
  if (process.env.KODER_BENCH_TSX === '1') return ['--import', 'tsx', join(dirname(SELF), 'peer-restic-child.ts')];
  return [await benchBundle('peer-restic-child', 'bench/peer-restic-child.ts')];
}

export async function runChild(mode: 'capture' | 'restore', arg: object): Promise<ChildOut & { wallMs: number; serverCpuMs: number }> {
  const prof = process.env.KODER_BENCH_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.KODER_BENCH_PROF] : [];
  const v8 = benchNodeFlags();
  const entry = await childEntry();
  const t0 = performance.now();
  // The reference server runs in this process: its CPU while our child runs is what restic, writing a local repository, does not pay.
  const c0 = process.cpuUsage();
  const serverCpu = () => { const c = process.cpuUsage(c0); return (c.user + c.system) / 1000; };
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [...v8, ...prof, ...entry, mode, JSON.stringify(arg)], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...(process.env.KODER_BENCH_MALLOC === '0' ? {} : NODE_ENV) } });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.on('close', (code) => (code === 0 ? resolve({ ...(JSON.parse(out.trim().split('\n').pop()!) as ChildOut), wallMs: performance.now() - t0, serverCpuMs: serverCpu() }) : reject(new Error(`our ${mode} child exited ${code}`))));
  });
}

interface ResticOut {
  ms: number;
  cpuMs: number;
  maxRssKiB: number;
  added?: number;
}

const RESTIC_PASSWORD = 'bench-restic-password';

function runRestic(repo: string, cache: string, args: string[]): Promise<ResticOut & { stdout: string }> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const p = spawn('/usr/bin/time', ['-f', '%M %U %S', 'restic', '-r', repo, '--cache-dir', cache, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, RESTIC_PASSWORD },
    });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('close', (code) => {
      const ms = performance.now() - t0;
      if (code !== 0) return reject(new Error(`restic ${args.join(' ')} exited ${code}: ${stderr.slice(-2000)}`));
      const [rss, u, s] = stderr.trim().split('\n').pop()!.split(' ').map(Number);
      let added: number | undefined;
      for (const l of stdout.split('\n')) {
        if (!l.startsWith('{')) continue;
        try {
          const j = JSON.parse(l) as { message_type?: string; data_added?: number };
          if (j.message_type === 'summary') added = j.data_added;
        } catch {
          // a status line cut short
        }
      }
      resolve({ ms, cpuMs: (u! + s!) * 1000, maxRssKiB: rss!, ...(added !== undefined ? { added } : {}), stdout });
    });
  });
}

function duBytes(dir: string): number {
  const r = spawnSync('du', ['-sb', dir], { encoding: 'utf8' });
  return Number(r.stdout.split('\t')[0]);
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const f1 = (n: number) => n.toFixed(1);
const f2 = (n: number) => n.toFixed(2);
const mib = (n: number) => `${f1(n / MiB)} MiB`;
const secs = (ms: number) => `${f2(ms / 1000)} s`;
const load = () => loadavg()[0]!.toFixed(1);

/** Every regular file under `dir` (sorted, for a deterministic choice). */
function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) out.push(p);
    }
  };
  walk(dir);
  return out;
}

/** A small edit: 64 bytes inserted in a file ≤ 4 MiB (its tail shifts), 4 KiB overwritten in place in a larger one. */
function editFile(path: string, rnd: () => number): void {
  const size = statSync(path).size;
  if (size <= 4 * MiB) {
    const b = readFileSync(path);
    const at = Math.floor(rnd() * (b.length + 1));
    writeFileSync(path, Buffer.concat([b.subarray(0, at), randomBytes(64), b.subarray(at)]));
  } else {
    const fd = openSync(path, 'r+');
    writeSync(fd, randomBytes(4096), 0, 4096, Math.floor(rnd() * (size - 4096)));
    closeSync(fd);
  }
}

// ── the run ──────────────────────────────────────────────────────────────────

interface Pair {
  ours: ChildOut & { wallMs: number; serverCpuMs: number };
  restic: ResticOut;
}

async function main(): Promise<void> {
  await runAsServerRuns();
  const fixture = await import('../test/server/fixture.ts');
  const { testServer } = fixture;
  // Logins through the device flow, retried: on this loaded VM a reused keep-alive socket is sometimes reset.
  const loginAs = async (...a: Parameters<typeof fixture.loginAs>) => {
    for (let i = 0; ; i++) {
      try {
        return await fixture.loginAs(...a);
      } catch (e) {
        if (i >= 3) throw e;
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  };
  const { generateIdentity } = await import('../src/keys/identity.ts');
  const { DriveClient } = await import('../src/drive/index.ts');
  const size = Math.round(Number(/^(\d+(?:\.\d+)?)/.exec(process.env.KODER_BENCH_SIZE ?? '1')?.[1]) * ({ G: 1024, M: 1 }[(/[GM]/i.exec(process.env.KODER_BENCH_SIZE ?? '1G')?.[0] ?? 'G').toUpperCase() as 'G' | 'M'] * MiB));
  const datasets = (process.env.KODER_BENCH_DATA ?? 'gen,usr').split(',');
  const FIRSTS = Number(process.env.KODER_BENCH_FIRSTS ?? 3);
  const ROUNDS = Number(process.env.KODER_BENCH_ROUNDS ?? 10);
  const RESTORES = Number(process.env.KODER_BENCH_RESTORES ?? 3);
  const work = process.env.KODER_BENCH_DIR ?? (await mkdtemp(join(tmpdir(), 'koder-bench-restic-')));
  mkdirSync(work, { recursive: true });
  const restic = spawnSync('restic', ['version'], { encoding: 'utf8' }).stdout.trim();
  console.log(`machine: ${cpus().length} x ${cpus()[0]?.model ?? '?'}, ${(totalmem() / 1024 ** 3).toFixed(1)} GiB RAM, node ${process.version}, ${restic}, load ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  const dropped = dropCaches();
  console.log(`page cache dropped before each timed run: ${dropped ? 'yes' : 'no (not permitted)'}`);
  const srv = await testServer();
  const report: Record<string, unknown> = { date: new Date().toISOString(), restic };
  let users = 0;
  try {
    for (const ds of datasets) {
      const base = join(work, ds);
      rmSync(base, { recursive: true, force: true });
      const home = join(base, 'home');
      const docs = join(home, 'Documents');
      mkdirSync(docs, { recursive: true });
      let t = performance.now();
      if (ds === 'gen') generateDocuments(docs, size);
      else if (ds === 'usr') for (const d of ['/usr/share/doc', '/usr/lib/chromium', '/usr/lib/python3', '/usr/share/icons']) cpSync(d, join(docs, d.slice(1).replace(/\//g, '-')), { recursive: true, verbatimSymlinks: true });
      else throw new Error(`unknown dataset ${ds}`);
      const files = listFiles(docs);
      const dataBytes = duBytes(docs);
      console.log(`\n== ${ds}: ${files.length} files, ${mib(dataBytes)} (du) in ${f1((performance.now() - t) / 1000)} s ==`);

      // An account (ours) and a repository (restic), fresh.
      const fresh = async (k: number) => {
        const name = `bench${++users}`;
        await loginAs(srv, name);
        const id = await generateIdentity();
        const identity = { seed: Buffer.from(id.signing.seed).toString('base64'), pub: Buffer.from(id.signing.publicKey).toString('base64'), xpriv: Buffer.from(id.sealing.privateKey).toString('base64'), xpub: Buffer.from(id.sealing.publicKey).toString('base64') };
        const repo = join(base, `restic-repo-${k}`);
        const rcache = join(base, `restic-cache-${k}`);
        rmSync(repo, { recursive: true, force: true });
        await runRestic(repo, rcache, ['init', '-q']);
        return { name, identity, cache: join(base, `ours-cache-${k}`), repo, rcache };
      };
      type Side = Awaited<ReturnType<typeof fresh>>;
      const token = async (s: Side) => (await loginAs(srv, s.name)).access_token;
      const serverBytes = async (s: Side) => {
        const c = new DriveClient({ server: srv.url, tokens: await token(s) });
        let n = 0;
        for (let after: string | undefined; ; ) {
          const page = await c.listBlobs(after ? { after } : {});
          for (const b of page.blobs) n += b.size;
          if (!page.next) break;
          after = page.next;
        }
        const snaps = await c.listSnapshots();
        for (const sn of snaps) n += (sn as { manifest_size?: number }).manifest_size ?? 0;
        return n;
      };
      const ours = async (s: Side) => runChild('capture', { server: srv.url, token: await token(s), identity: s.identity, home, cache: s.cache } satisfies ChildCapture);
      const theirs = (s: Side) => runRestic(s.repo, s.rcache, ['backup', '--host', 'bench', '--json', docs]);
      /** One capture by each, page cache dropped before each, `oursFirst` deciding the order. */
      const pair = async (s: Side, oursFirst: boolean): Promise<Pair> => {
        const out: Partial<Pair> = {};
        for (const side of oursFirst ? ['ours', 'restic'] : ['restic', 'ours']) {
          dropCaches();
          await new Promise((r) => setTimeout(r, 1000));
          if (side === 'ours') out.ours = await ours(s);
          else out.restic = await theirs(s);
        }
        return out as Pair;
      };

      // ── first captures ──
      const firsts: { pair: Pair; oursStored: number; resticStored: number }[] = [];
      let side!: Side;
      for (let k = 0; k < FIRSTS; k++) {
        side = await fresh(k);
        const p = await pair(side, k % 2 === 1);
        const oursStored = await serverBytes(side);
        const resticStored = duBytes(side.repo);
        firsts.push({ pair: p, oursStored, resticStored });
        console.log(
          `  first ${k + 1}: ours ${secs(p.ours.ms)} (process ${secs(p.ours.wallMs)}, CPU ${secs(p.ours.cpuMs)} + server ${secs(p.ours.serverCpuMs)}, RSS ${f1(p.ours.vmHWMKiB / 1024)} MiB, stored ${mib(oursStored)})` +
            `  restic ${secs(p.restic.ms)} (CPU ${secs(p.restic.cpuMs)}, RSS ${f1(p.restic.maxRssKiB / 1024)} MiB, repo ${mib(resticStored)})  ratio ${f2(p.ours.ms / p.restic.ms)}  load ${load()}`,
        );
        if (k < FIRSTS - 1) {
          rmSync(side.repo, { recursive: true, force: true });
          rmSync(side.rcache, { recursive: true, force: true });
          rmSync(side.cache, { recursive: true, force: true });
        }
      }
      const firstOurs = firsts[firsts.length - 1]!.oursStored;
      const firstRestic = firsts[firsts.length - 1]!.resticStored;

      // ── one new 1 MiB file, then churn rounds ──
      const rnd = xorshift(0x5eed + users);
      const rounds: { pair: Pair; label: string }[] = [];
      for (let r = 0; r <= ROUNDS; r++) {
        const added = join(docs, 'new', `round-${r}.bin`);
        mkdirSync(join(docs, 'new'), { recursive: true });
        writeFileSync(added, randomBytes(MiB));
        let edited = 0;
        if (r > 0) {
          const n = Math.ceil(files.length / 100);
          const chosen = new Set<number>();
          while (chosen.size < n) chosen.add(Math.floor(rnd() * files.length));
          for (const i of chosen) editFile(files[i]!, rnd);
          edited = n;
        }
        const rs0 = duBytes(side.repo);
        const p = await pair(side, r % 2 === 0);
        const repoAdded = duBytes(side.repo) - rs0;
        p.restic.added = repoAdded;
        const label = r === 0 ? '+1 MiB file' : `churn ${r} (+1 MiB, ${edited} edited)`;
        rounds.push({ pair: p, label });
        console.log(`  ${label}: ours ${secs(p.ours.ms)} sent ${mib(p.ours.uploaded!)}  restic ${secs(p.restic.ms)} repo +${mib(repoAdded)}  ratio ${f2(p.ours.ms / p.restic.ms)}  load ${load()}`);
      }
      const afterOurs = await serverBytes(side);
      const afterRestic = duBytes(side.repo);

      // ── restores of the last snapshot ──
      const last = rounds[rounds.length - 1]!.pair.ours;
      const restores: { ours: ChildOut & { wallMs: number }; restic: ResticOut }[] = [];
      for (let k = 0; k < RESTORES; k++) {
        const out: Partial<{ ours: ChildOut & { wallMs: number }; restic: ResticOut }> = {};
        for (const s of k % 2 === 0 ? ['restic', 'ours'] : ['ours', 'restic']) {
          const target = join(base, `restore-${s}-${k}`);
          rmSync(target, { recursive: true, force: true });
          mkdirSync(join(target, 'home', 'u'), { recursive: true });
          dropCaches();
          await new Promise((r) => setTimeout(r, 1000));
          if (s === 'ours') out.ours = await runChild('restore', { server: srv.url, token: await token(side), seed: side.identity.seed, tree: last.tree!, nonce: last.nonce!, target } satisfies ChildRestore);
          else out.restic = await runRestic(side.repo, side.rcache, ['restore', 'latest', '--target', target]);
        }
        restores.push(out as { ours: ChildOut & { wallMs: number }; restic: ResticOut });
        const o = out.ours!;
        const rr = out.restic!;
        console.log(`  restore ${k + 1}: ours ${secs(o.ms)} ${f1(dataBytes / MiB / (o.ms / 1000))} MiB/s (CPU ${secs(o.cpuMs)}, RSS ${f1(o.vmHWMKiB / 1024)} MiB)  restic ${secs(rr.ms)} ${f1(dataBytes / MiB / (rr.ms / 1000))} MiB/s (CPU ${secs(rr.cpuMs)}, RSS ${f1(rr.maxRssKiB / 1024)} MiB)  ratio ${f2(rr.ms / o.ms)}  load ${load()}`);
        if (k === 0) {
          const d = spawnSync('diff', ['-r', '--no-dereference', join(base, 'restore-restic-0', docs), join(base, 'restore-ours-0', 'home/u/Documents')], { encoding: 'utf8', maxBuffer: 64 * MiB });
          console.log(`  restored trees identical (diff -r): ${d.status === 0 ? 'yes' : `NO\n${d.stdout.slice(0, 2000)}`}`);
          if (d.status !== 0) process.exitCode = 1;
        }
        for (const s of ['ours', 'restic']) rmSync(join(base, `restore-${s}-${k}`), { recursive: true, force: true });
      }

      // ── table ──
      const ratio = (a: number, b: number) => f2(a / b);
      const fo = firsts.map((x) => x.pair.ours.ms);
      const fr = firsts.map((x) => x.pair.restic.ms);
      const incr = rounds.slice(1);
      const io = incr.map((x) => x.pair.ours.ms);
      const ir = incr.map((x) => x.pair.restic.ms);
      const ro = restores.map((x) => x.ours.ms);
      const rr = restores.map((x) => x.restic.ms);
      const one = rounds[0]!.pair;
      const rows: [string, string, string, string, string][] = [
        ['', 'ours', 'restic', 'ratio ours/restic (medians)', 'per-pair ratios (median) · goal'],
        [`first capture (${FIRSTS} pairs)`, secs(median(fo)), secs(median(fr)), ratio(median(fo), median(fr)), `${firsts.map((x) => ratio(x.pair.ours.ms, x.pair.restic.ms)).join(' ')} (${ratio(median(firsts.map((x) => x.pair.ours.ms / x.pair.restic.ms)), 1)}) · ≤ 1.0`],
        ['first capture peak RSS', `${f1(Math.max(...firsts.map((x) => x.pair.ours.vmHWMKiB)) / 1024)} MiB`, `${f1(Math.max(...firsts.map((x) => x.pair.restic.maxRssKiB)) / 1024)} MiB`, '', '· ours < 250 MiB'],
        ['first capture stored', mib(firstOurs), mib(firstRestic), ratio(firstOurs, firstRestic), ''],
        ['+1 MiB file: uploaded / added', mib(one.ours.uploaded!), mib(one.restic.added!), ratio(one.ours.uploaded!, one.restic.added!), '· ours ≤ 2 MiB'],
        ['+1 MiB file: wall', secs(one.ours.ms), secs(one.restic.ms), ratio(one.ours.ms, one.restic.ms), ''],
        [`incremental capture, churn (${incr.length} rounds)`, secs(median(io)), secs(median(ir)), ratio(median(io), median(ir)), `${incr.map((x) => ratio(x.pair.ours.ms, x.pair.restic.ms)).join(' ')} (${ratio(median(incr.map((x) => x.pair.ours.ms / x.pair.restic.ms)), 1)}) · ≤ 1.0`],
        ['incremental peak RSS', `${f1(Math.max(...rounds.map((x) => x.pair.ours.vmHWMKiB)) / 1024)} MiB`, `${f1(Math.max(...rounds.map((x) => x.pair.restic.maxRssKiB)) / 1024)} MiB`, '', ''],
        [`stored after ${ROUNDS} churn rounds / first`, `${mib(afterOurs)} (×${ratio(afterOurs, firstOurs)})`, `${mib(afterRestic)} (×${ratio(afterRestic, firstRestic)})`, '', '· ours ≤ ×1.25'],
        [`restore (${RESTORES} pairs), throughput`, `${f1(dataBytes / MiB / (median(ro) / 1000))} MiB/s`, `${f1(dataBytes / MiB / (median(rr) / 1000))} MiB/s`, ratio(median(rr), median(ro)), `${restores.map((x) => ratio(x.restic.ms, x.ours.ms)).join(' ')} (${ratio(median(restores.map((x) => x.restic.ms / x.ours.ms)), 1)}) · ≥ 1.0`],
        ['restore peak RSS', `${f1(Math.max(...restores.map((x) => x.ours.vmHWMKiB)) / 1024)} MiB`, `${f1(Math.max(...restores.map((x) => x.restic.maxRssKiB)) / 1024)} MiB`, '', '· ours < 200 MiB'],
        ['CPU: first / incr. / restore (medians)', `${secs(median(firsts.map((x) => x.pair.ours.cpuMs)))} / ${secs(median(incr.map((x) => x.pair.ours.cpuMs)))} / ${secs(median(restores.map((x) => x.ours.cpuMs)))}`, `${secs(median(firsts.map((x) => x.pair.restic.cpuMs)))} / ${secs(median(incr.map((x) => x.pair.restic.cpuMs)))} / ${secs(median(restores.map((x) => x.restic.cpuMs)))}`, '', ''],
      ];
      const w = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
      console.log(`\n${ds}: ${files.length} files, ${mib(dataBytes)}; load at the end ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
      for (const r of rows) console.log(`| ${r.map((c, i) => c.padEnd(w[i]!)).join(' | ')} |`);
      report[ds] = {
        files: files.length,
        bytes: dataBytes,
        first: firsts.map((x) => ({ ours: x.pair.ours, restic: x.pair.restic, oursStored: x.oursStored, resticStored: x.resticStored })),
        rounds: rounds.map((x) => ({ label: x.label, ours: x.pair.ours, restic: x.pair.restic })),
        afterOurs,
        afterRestic,
        restores,
      };
      if (!process.env.KODER_BENCH_KEEP) rmSync(base, { recursive: true, force: true });
    }
    writeFileSync(join(work, 'report.json'), JSON.stringify(report, null, 1));
    console.log(`\nfigures: ${join(work, 'report.json')}`);
  } finally {
    await srv.cleanup();
    if (!process.env.KODER_BENCH_DIR && !process.env.KODER_BENCH_KEEP) rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
