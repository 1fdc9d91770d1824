/**
 * Which zstd decompressor for the files blobs? Same input for every candidate,
 * each in its own child process (clean peak RSS = VmHWM), output discarded.
 *
 *   node --import tsx bench/zstd-choice.ts
 *
 * Env:
 *   KODER_ZSTD_INPUT   a .zst file to use (default: a generated tree of
 *                      KODER_BENCH_SIZE, default 256M, tarred + zstd -3)
 *   KODER_BENCH_RUNS   runs per candidate (default 3; the best is reported)
 *
 * Candidates (missing ones are skipped):
 *   zstd-napi DecompressStream   the package's Transform stream
 *   zstd-napi DCtx generator     our zstdDecompress() (pull, real backpressure)
 *   zstd-napi DCtx in a worker   our zstdWorkerSource() (also sha256 of the output, as the data path does)
 *   zstd CLI piped               `zstd -d -c` child, stdin/stdout piped through node
 *   fzstd                        pure JS, if installed
 *   node:zlib zstd               Node >= 22.15 only
 * plus two references: `zstd -d -c > /dev/null` alone, and sha256 of the
 * decompressed bytes alone (the data path hashes the tar).
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as zlib from 'node:zlib';

const MiB = 1024 * 1024;

interface Measure {
  outBytes: number;
  wallMs: number;
  cpuMs: number;
  vmHWMKiB: number;
}

const CANDIDATES = [
  'zstd-napi DecompressStream',
  'zstd-napi DCtx generator',
  'zstd-napi DCtx in a worker (+sha256)',
  'zstd CLI piped through node',
  'fzstd',
  'node:zlib zstd',
] as const;
type Candidate = (typeof CANDIDATES)[number];

function hwm(): number {
  return Number(/VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 0);
}

/** Returns the number of output bytes, or undefined if the candidate is not available. */
async function runCandidate(name: Candidate, input: string): Promise<number | undefined> {
  let n = 0;
  const sink = () =>
    new Writable({
      write(chunk: Buffer, _enc, cb) {
        n += chunk.length;
        cb();
      },
    });
  switch (name) {
    case 'zstd-napi DecompressStream': {
      const { DecompressStream } = await import('zstd-napi');
      await pipeline(createReadStream(input), new DecompressStream(), sink());
      return n;
    }
    case 'zstd-napi DCtx generator': {
      const { zstdDecompress } = await import('../src/chroot-appliers/tar-source.ts');
      for await (const c of zstdDecompress(createReadStream(input, { highWaterMark: 256 * 1024 }))) n += c.length;
      return n;
    }
    case 'zstd-napi DCtx in a worker (+sha256)': {
      const { zstdWorkerSource } = await import('../src/chroot-appliers/zstd-worker-source.ts');
      const src = zstdWorkerSource(createReadStream(input, { highWaterMark: 256 * 1024 }));
      for await (const c of src.chunks) n += c.length;
      src.tarSha256();
      await src.close();
      return n;
    }
    case 'zstd CLI piped through node': {
      const child = spawn('zstd', ['-q', '-d', '-c'], { stdio: ['pipe', 'pipe', 'inherit'] });
      const feed = pipeline(createReadStream(input), child.stdin);
      for await (const c of child.stdout) n += (c as Buffer).length;
      await feed;
      return n;
    }
    case 'fzstd': {
      let fzstd: { Decompress: new (cb: (chunk: Uint8Array, final: boolean) => void) => { push(c: Uint8Array, final?: boolean): void } };
      try {
        const req = createRequire(import.meta.url);
        fzstd = req('fzstd') as typeof fzstd;
      } catch {
        return undefined;
      }
      const d = new fzstd.Decompress((chunk) => (n += chunk.length));
      for await (const c of createReadStream(input)) d.push(c as Buffer);
      d.push(new Uint8Array(0), true);
      return n;
    }
    case 'node:zlib zstd': {
      const make = (zlib as unknown as { createZstdDecompress?: () => NodeJS.ReadWriteStream }).createZstdDecompress;
      if (!make) return undefined;
      await pipeline(createReadStream(input), make(), sink());
      return n;
    }
  }
}

async function child(name: string, input: string): Promise<void> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  let outBytes: number | undefined;
  if (name === 'sha256 alone') {
    // sha256 of the decompressed bytes, decompressed beforehand (not timed).
    const data = spawnSync('zstd', ['-q', '-d', '-c', input], { maxBuffer: 4096 * MiB }).stdout;
    const t1 = performance.now();
    const c1 = process.cpuUsage();
    createHash('sha256').update(data).digest('hex');
    const c = process.cpuUsage(c1);
    process.stdout.write(JSON.stringify({ outBytes: data.length, wallMs: performance.now() - t1, cpuMs: (c.user + c.system) / 1000, vmHWMKiB: 0 }) + '\n');
    return;
  }
  outBytes = await runCandidate(name as Candidate, input);
  if (outBytes === undefined) {
    process.stdout.write('null\n');
    return;
  }
  const c = process.cpuUsage(c0);
  const m: Measure = { outBytes, wallMs: performance.now() - t0, cpuMs: (c.user + c.system) / 1000, vmHWMKiB: hwm() };
  process.stdout.write(JSON.stringify(m) + '\n');
}

function inChild(name: string, input: string): Promise<Measure | null> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--child', name, input], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.on('close', (code) => (code === 0 ? resolve(JSON.parse(out) as Measure | null) : reject(new Error(`${name}: exit ${code}`))));
  });
}

function cliAlone(input: string): Measure {
  const r = spawnSync('/usr/bin/time', ['-f', '%e %U %S %M', 'sh', '-c', 'zstd -q -d -c -- "$1" > /dev/null', 'sh', input], { encoding: 'utf8' });
  const [e, u, s, m] = r.stderr.trim().split('\n').pop()!.split(' ').map(Number);
  const outBytes = Number(spawnSync('sh', ['-c', 'zstd -q -d -c -- "$1" | wc -c', 'sh', input], { encoding: 'utf8' }).stdout.trim());
  return { outBytes, wallMs: e! * 1000, cpuMs: (u! + s!) * 1000, vmHWMKiB: m! };
}

async function main(): Promise<void> {
  const runs = Number(process.env.KODER_BENCH_RUNS ?? 3);
  let input = process.env.KODER_ZSTD_INPUT;
  let work: string | undefined;
  if (!input) {
    const { makeTree, parseSize } = await import('./tree-fixture.ts');
    work = await mkdtemp(join(tmpdir(), 'koder-bench-zstd-'));
    makeTree(join(work, 'src'), parseSize(process.env.KODER_BENCH_SIZE ?? '256M'));
    input = join(work, 'input.tar.zst');
    const r = spawnSync('bash', ['-c', 'set -eo pipefail; tar -C "$1" -cf - . | zstd -q -3 -T0 -c > "$2"', 'bash', join(work, 'src'), input]);
    if (r.status !== 0) throw new Error(r.stderr.toString());
    await rm(join(work, 'src'), { recursive: true, force: true });
  }
  try {
    console.log(`machine: ${cpus().length} x ${cpus()[0]?.model ?? '?'}, node ${process.version}, load ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
    console.log(`input: ${(statSync(input).size / MiB).toFixed(1)} MiB compressed`);
    const rows: Array<[string, Measure | null]> = [];
    const best = (ms: Array<Measure | null>) => ms.reduce<Measure | null>((a, b) => (b && (!a || b.wallMs < a.wallMs) ? b : a), null);
    {
      const ms: Measure[] = [];
      for (let i = 0; i < runs; i++) ms.push(cliAlone(input));
      rows.push(['(reference) zstd CLI to /dev/null', best(ms)]);
    }
    for (const name of CANDIDATES) {
      const ms: Array<Measure | null> = [];
      for (let i = 0; i < runs; i++) {
        const m = await inChild(name, input);
        ms.push(m);
        if (m === null) break;
      }
      rows.push([name, best(ms)]);
    }
    {
      const ms: Array<Measure | null> = [];
      for (let i = 0; i < runs; i++) ms.push(await inChild('sha256 alone', input));
      rows.push(['(reference) sha256 of the output', best(ms)]);
    }
    console.log('');
    console.log('| candidate | MiB/s out (best of ' + runs + ') | CPU s | peak RSS MiB |');
    console.log('|---|---:|---:|---:|');
    for (const [name, m] of rows) {
      if (!m) {
        console.log(`| ${name} | not installed | | |`);
        continue;
      }
      console.log(
        `| ${name} | ${(m.outBytes / MiB / (m.wallMs / 1000)).toFixed(0)} | ${(m.cpuMs / 1000).toFixed(2)} | ${m.vmHWMKiB ? (m.vmHWMKiB / 1024).toFixed(0) : '-'} |`,
      );
    }
    console.log(`\nload after: ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  } finally {
    if (work) await rm(work, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  if (process.argv[2] === '--child') await child(process.argv[3]!, process.argv[4]!);
  else await main();
}
