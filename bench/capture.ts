/**
 * bench/capture.ts — what a capture of a big documents folder costs.
 *
 *   node --import tsx bench/capture.ts [--size 64M] [--level N] [--levels 3,9,19] [--sample 64M] [--keep]
 *
 * 1. Generates a fixture home whose ~/Documents holds SIZE bytes, mixed like
 *    a real one (deterministic, seeded): ~45 % incompressible "photos" and
 *    "videos" (1–48 MiB), ~40 % text documents (pseudo-prose, 4 KiB–2 MiB),
 *    ~15 % small source-like files (1–20 KiB).
 * 2. Compression in the same run, same input, same level and threads:
 *    the deterministic tar of the folder (tar-writer.ts) written once to a
 *    file, then zstd-napi's streaming compressor (what capture uses) vs the
 *    `zstd` CLI (`-T<cores>`): MiB/s of input and ratio. With --levels, the
 *    same for each level on a --sample of that tar made of 1 MiB slices
 *    spread evenly over it (to choose the default).
 * 3. Against a real server (child process, loopback): first capture
 *    (`--only files`), a second with nothing changed, a third after one
 *    document changed — wall time, blob bytes uploaded, peak RSS above the
 *    baseline (sampled every 50 ms; it must not grow with SIZE).
 *
 * Figures go to stdout as a table, then one JSON line.
 */
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, closeSync, createReadStream, createWriteStream, mkdtempSync, openSync, readSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable, Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import { createInterface } from 'node:readline';
import { CompressStream } from 'zstd-napi';
import { startServer } from '../src/server/index.ts';
import { isV2Files } from '../src/manifest/types.ts';
import { startDeviceLogin, AuthSession } from '../src/auth/index.ts';
import { DriveClient } from '../src/drive/index.ts';
import { capture, defaultConfig, DEFAULT_ZSTD_LEVEL, type CaptureResult } from '../src/capture/index.ts';
import { tarStream } from '../src/capture/tar-writer.ts';
import { walkTree } from '../src/capture/walk.ts';
import { generateIdentity } from '../src/keys/identity.ts';
import { approveDevice } from '../test/server/browser.ts';
import { generateDocuments } from './home-fixture.ts';

const MiB = 1024 * 1024;
const { values } = parseArgs({
  options: {
    size: { type: 'string', default: '64M' },
    level: { type: 'string' },
    levels: { type: 'string' },
    sample: { type: 'string', default: '64M' },
    keep: { type: 'boolean' },
    child: { type: 'boolean' },
  },
});

function bytesOf(s: string): number {
  const m = /^(\d+(?:\.\d+)?)([KMG]?)i?B?$/i.exec(s.trim());
  if (!m) throw new Error(`bad size ${s}`);
  return Math.round(Number(m[1]) * { '': 1, K: 1024, M: MiB, G: 1024 * MiB }[m[2]!.toUpperCase() as '' | 'K' | 'M' | 'G']);
}

if (values.child) {
  const dataDir = mkdtempSync(join(tmpdir(), 'koder-bench-srv-'));
  const srv = await startServer({ dataDir, port: 0, maintenanceIntervalMs: 0, deviceInterval: 0.05, log: () => {} });
  await srv.addUser('bench', 'bench-password-1');
  process.stdout.write(JSON.stringify({ url: srv.url }) + '\n');
  process.stdin.resume();
  process.stdin.on('end', async () => {
    await srv.close();
    rmSync(dataDir, { recursive: true, force: true });
    process.exit(0);
  });
  await new Promise(() => {});
}

const SIZE = bytesOf(values.size!);
const LEVEL = values.level ? Number(values.level) : DEFAULT_ZSTD_LEVEL;
const CORES = availableParallelism();
const base = mkdtempSync(join(tmpdir(), 'koder-bench-capture-'));
const home = join(base, 'home');
const docs = join(home, 'Documents');

// ── 1. fixture ───────────────────────────────────────────────────────────────
function generate(): { files: number } {
  return generateDocuments(docs, SIZE);
}

const fmt = (n: number, d = 1) => n.toFixed(d);
const mib = (n: number) => `${fmt(n / MiB)} MiB`;
const rows: string[][] = [];
const json: Record<string, unknown> = { size: SIZE, level: LEVEL, cores: CORES };

console.error(`generating ${mib(SIZE)} in ${docs}…`);
let t0 = performance.now();
const gen = generate();
console.error(`  ${gen.files} files in ${fmt((performance.now() - t0) / 1000)} s`);
json.files = gen.files;

// ── 2. compression: zstd-napi vs zstd CLI, same input, same level ──────────────
const tarFile = join(base, 'documents.tar');
t0 = performance.now();
await pipeline(Readable.from(tarStream(walkTree(docs))), createWriteStream(tarFile));
const tarSecs = (performance.now() - t0) / 1000;
const tarSize = statSync(tarFile).size;
rows.push(['deterministic tar (walk + read + write)', mib(tarSize), `${fmt(tarSize / MiB / tarSecs)} MiB/s`, '', '']);

/** Compresses `file` (or its first `limit` bytes) with zstd-napi, streamed as capture does; seconds and output bytes. */
async function napi(file: string, level: number): Promise<{ secs: number; out: number }> {
  let out = 0;
  const t = performance.now();
  await pipeline(
    createReadStream(file, { highWaterMark: 4 * MiB }),
    new CompressStream({ compressionLevel: level, nbWorkers: CORES, checksumFlag: true }),
    new Writable({ write: (c: Buffer, _e, cb) => ((out += c.length), cb()) }),
  );
  return { secs: (performance.now() - t) / 1000, out };
}

/** The same with the zstd CLI, same level and threads. */
function cli(file: string, level: number): { secs: number; out: number } | undefined {
  const args = [`-${level}`, `-T${CORES}`, '-q', '-c', ...(level > 19 ? ['--ultra'] : [])];
  const t = performance.now();
  const r = spawnSync('sh', ['-c', `zstd ${args.join(' ')} < '${file}' | wc -c`], { encoding: 'utf8' });
  if (r.status !== 0) return undefined;
  return { secs: (performance.now() - t) / 1000, out: Number(r.stdout.trim()) };
}

/** `bytes` of the tar taken as 1 MiB slices spread evenly over it (photos, videos, texts and sources alike). */
function spreadSample(bytes: number): string {
  const out = join(base, 'sample.bin');
  const slices = Math.max(1, Math.floor(bytes / MiB));
  const fd = openSync(tarFile, 'r');
  const buf = Buffer.alloc(MiB);
  const o = openSync(out, 'w');
  for (let i = 0; i < slices; i++) {
    const n = readSync(fd, buf, 0, MiB, Math.floor((i * (tarSize - MiB)) / Math.max(1, slices - 1)));
    writeFileSync(o, buf.subarray(0, n));
  }
  closeSync(fd);
  closeSync(o);
  return out;
}

const compare = async (file: string, level: number, label: string) => {
  const size = statSync(file).size;
  const a = await napi(file, level);
  const b = cli(file, level);
  const ratio = (o: number) => fmt(size / o, 2);
  rows.push([`${label} level ${level}: zstd-napi (${CORES} workers)`, mib(size), `${fmt(size / MiB / a.secs)} MiB/s`, `ratio ${ratio(a.out)}`, `${fmt(a.secs)} s`]);
  if (b) rows.push([`${label} level ${level}: zstd CLI -T${CORES}`, mib(size), `${fmt(size / MiB / b.secs)} MiB/s`, `ratio ${ratio(b.out)}`, `${fmt(b.secs)} s`]);
  (json.compression as unknown[]).push({ label, level, bytes: size, napi: { secs: a.secs, out: a.out }, cli: b ?? null });
};
json.compression = [];
await compare(tarFile, LEVEL, 'whole tar');
if (values.levels) {
  const sample = spreadSample(Math.min(tarSize, bytesOf(values.sample!)));
  for (const l of values.levels.split(',').map(Number)) await compare(sample, l, 'sample');
  rmSync(sample);
}
rmSync(tarFile);

// ── 3. captures against a real server ───────────────────────────────────────────
const child = spawn(process.execPath, ['--import', 'tsx', new URL(import.meta.url).pathname, '--child'], { stdio: ['pipe', 'pipe', 'inherit'] });
const url = (JSON.parse(await new Promise<string>((r) => createInterface({ input: child.stdout! }).once('line', r))) as { url: string }).url;
const login = await startDeviceLogin({ server: url });
const [outcome] = await Promise.all([login.wait(), approveDevice(login.verification_uri_complete, 'bench', 'bench-password-1')]);
if (outcome.status !== 'approved') throw new Error(`login: ${outcome.status}`);
const session = new AuthSession(outcome.tokens, { persist: false });
const client = new DriveClient({ server: url, tokens: session });
const identity = await generateIdentity();
const config = defaultConfig({ ...process.env, XDG_CACHE_HOME: join(base, 'cache') });
config.files.zstd_level = LEVEL;

async function measured(label: string): Promise<CaptureResult> {
  if (global.gc) global.gc();
  const baseline = process.memoryUsage().rss;
  let peak = baseline;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50);
  const t = performance.now();
  const r = await capture({ config, home, only: ['files'], client, tokens: session, identity });
  const secs = (performance.now() - t) / 1000;
  clearInterval(timer);
  peak = Math.max(peak, process.memoryUsage().rss);
  const first = r.full.files?.entry?.[0];
  const stored = first && !isV2Files(first) ? (first.stored_size ?? 0) : 0;
  rows.push([`capture: ${label}`, `sent ${mib(r.uploadedBytes)}`, `${fmt(secs)} s`, `stored ${mib(stored)}`, `RSS peak ${mib(peak)} (start ${mib(baseline)})`]);
  json[label] = { secs, uploaded: r.uploadedBytes, stored, rssPeak: peak, rssStart: baseline, kind: r.kind };
  return r;
}

await measured('first (full)');
await measured('second, nothing changed');
appendFileSync(join(docs, 'Textos', '000', 'textos-0.txt'), 'one more line\n');
await measured('third, one document changed');

child.stdin!.end();
await new Promise((r) => child.once('exit', r));
if (!values.keep) rmSync(base, { recursive: true, force: true });

const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
console.log(`capture bench: ${mib(SIZE)} fixture (${gen.files} files), level ${LEVEL}, ${CORES} cores`);
for (const r of rows) console.log(r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  '));
console.log(JSON.stringify(json));
