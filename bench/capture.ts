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
import { appendFileSync, closeSync, createReadStream, createWriteStream, mkdirSync, mkdtempSync, openSync, readSync, rmSync, statSync, writeFileSync } from 'node:fs';
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
/** xorshift32: deterministic, fast. */
let seed = 0x9e3779b9;
const rnd = () => {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) / 0x100000000;
};
const WORDS = 'o a de que e do da em um para é com não uma os no se na por mais as dos como mas foi ao ele das tem à seu sua ou ser quando muito há nos já está eu também só pelo pela até isso ela entre era depois sem mesmo aos ter seus quem nas me esse eles estão você tinha foram essa num nem suas meu às minha têm numa pelos elas havia seja qual será nós tenho lhe deles essas esses pelas este fosse dele the of and to in is that it was for on are with as his they be at one have this from by hot word but what some we can out other were all there when up use your how said an each she which do their time if will way about many then them write would like so these her long make thing see him two has look more day could go come did number sound no most people my over know water than call first who may down side been now find'.split(' ');

function textBlock(bytes: number): Buffer {
  const parts: string[] = [];
  let n = 0;
  while (n < bytes) {
    let line = '';
    const words = 6 + Math.floor(rnd() * 14);
    for (let i = 0; i < words; i++) line += (i ? ' ' : '') + WORDS[Math.floor(rnd() * WORDS.length)];
    line += rnd() < 0.1 ? ` ${Math.floor(rnd() * 1e6)}.\n\n` : '.\n';
    parts.push(line);
    n += line.length;
  }
  return Buffer.from(parts.join('')).subarray(0, bytes);
}

function randomBlock(bytes: number): Buffer {
  const b = Buffer.allocUnsafe(bytes);
  for (let i = 0; i + 4 <= bytes; i += 4) b.writeUInt32LE(Math.floor(rnd() * 0x100000000), i);
  return b;
}

function generate(): { files: number } {
  let left = SIZE;
  let files = 0;
  const kinds = [
    { share: 0.3, dir: 'Fotos', ext: 'jpg', min: 1 * MiB, max: 8 * MiB, text: false },
    { share: 0.15, dir: 'Videos', ext: 'mp4', min: 16 * MiB, max: 48 * MiB, text: false },
    { share: 0.4, dir: 'Textos', ext: 'txt', min: 4096, max: 2 * MiB, text: true },
    { share: 0.15, dir: 'src', ext: 'ts', min: 1024, max: 20 * 1024, text: true },
  ];
  for (const k of kinds) {
    let budget = Math.floor(SIZE * k.share);
    let i = 0;
    while (budget > 0 && left > 0) {
      const size = Math.min(budget, left, Math.floor(k.min + rnd() * (k.max - k.min)));
      const dir = join(docs, k.dir, String(Math.floor(i / 200)).padStart(3, '0'));
      if (i % 200 === 0) mkdirSync(dir, { recursive: true });
      const file = join(dir, `${k.dir.toLowerCase()}-${i}.${k.ext}`);
      const fd = openSync(file, 'w');
      for (let done = 0; done < size; ) {
        const n = Math.min(4 * MiB, size - done);
        writeFileSync(fd, k.text ? textBlock(n) : randomBlock(n));
        done += n;
      }
      closeSync(fd);
      budget -= size;
      left -= size;
      files++;
      i++;
    }
  }
  return { files };
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
