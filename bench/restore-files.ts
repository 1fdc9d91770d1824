/**
 * Files-restore data path: our streaming extractor vs the native pipeline.
 *
 *   node --import tsx bench/restore-files.ts
 *
 * Env:
 *   KODER_BENCH_SIZE   tree size, e.g. 256M, 1G (default 1G)
 *   KODER_BENCH_RUNS   timed runs of each side (default 2, alternating)
 *   KODER_BENCH_DIR    work dir (default: a mkdtemp dir in the OS tmpdir; removed at the end)
 *   KODER_BENCH_LEVEL  zstd level for the blob (default 3)
 *   KODER_BENCH_ZSTD_WORKER=0  decompress on the extracting thread instead of in a worker
 *   KODER_BENCH_PATH=stream  from the server: the drive client's stream read on
 *                       the extracting thread, instead of the worker's own
 *                       download (what the files applier uses)
 *   KODER_BENCH_PROF    a dir: our child runs with --cpu-prof into it (main thread + worker)
 *   KODER_BENCH_FORMAT  v1 (default: ours restores the tar.zst blob, as above) or v2: the
 *                       same tree captured as data v2 (chunks, packs, trees: src/store)
 *                       into the server, and ours restores it as the files applier does
 *                       (tree root → trees → pack-ordered ranged GETs by worker threads →
 *                       staging → commit), in bench/peer-restic-child.ts bundled as the
 *                       product ships (KODER_BENCH_TSX=1: through tsx); native is still
 *                       `curl | zstd -d | tar -x` of the tree as one v1 blob
 *   KODER_BENCH_SOURCE  server (default: the blob is uploaded to the reference
 *                       server on 127.0.0.1 and both sides download it:
 *                       ours as the files applier does (the extractor's
 *                       worker GETs it, resuming by the drive client's
 *                       rules); native with curl) or file (both read the file)
 *                       or export: ours restores the tree as data v2 from a local
 *                       repository on the same disk (bench/restore-files-export.ts),
 *                       as `restore --from` does, in the bundled child of the v2 mode;
 *                       native reads the tar.zst file from the same disk
 *
 * Builds a tree of mixed file sizes (many small, some medium, a few large;
 * about two thirds compressible text, one third random), tars it and
 * compresses it with the system tar + zstd, then per run, in a fresh target:
 *   (a) ours:   restoreTarZst(blob stream) — zstd-napi and the sha256 of the
 *               blob (its address, verified) in the worker, tar reader,
 *               staging dir, commit into /home/u, all chowned — in a child
 *               node process whose VmHWM is its peak RSS;
 *   (b) native: zstd -d -c blob | tar -x -C target/home/u (GNU time for peak RSS).
 * Page cache is dropped (sync; echo 3 > drop_caches) before every run when
 * permitted. The first run's trees are compared with diff -r.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createReadStream, mkdirSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { TarZstInput } from '../src/chroot-appliers/tar-source.ts';
import { makeExport } from './restore-files-export.ts';
import { dropCaches, makeTree, parseSize } from './tree-fixture.ts';
import { NODE_ENV } from '../src/util/process-tuning.ts';
import { benchNodeFlags } from './child-bundle.ts';
import { runAsServerRuns } from './server-flags.ts';

const MiB = 1024 * 1024;

function sh(script: string, ...args: string[]): string {
  const r = spawnSync('bash', ['-c', `set -eo pipefail\n${script}`, 'bash', ...args], { encoding: 'utf8', maxBuffer: 64 * MiB });
  if (r.status !== 0) throw new Error(`${script}\n${r.stderr}`);
  return r.stdout;
}

interface OursResult {
  ms: number;
  /** user+system CPU of the whole process (all threads) during the extraction. */
  cpuMs: number;
  tarBytes: number;
  entries: number;
  vmHWMKiB: number;
}

/** Child mode: one extraction, JSON on stdout. */
async function child(blob: string, targetRoot: string, blobSha: string, server?: string, token?: string): Promise<void> {
  const { restoreTarZst } = await import('../src/chroot-appliers/commit-staging.ts');
  let source: TarZstInput = createReadStream(blob, { highWaterMark: 256 * 1024 });
  if (server && token) {
    // As the files applier gets it from the restore's BlobSource.
    const { DriveClient } = await import('../src/drive/index.ts');
    const { driveBlobSource } = await import('../src/daemon/drive-blobs.ts');
    const blobs = driveBlobSource(new DriveClient({ server, tokens: token }));
    const ref = `sha256:${blobSha}` as const;
    source = process.env.KODER_BENCH_PATH === 'stream' ? await blobs.open(ref, { callerVerifies: true }) : { remote: blobs.remote!(ref) };
  }
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const r = await restoreTarZst(source, {
    targetRoot,
    dest: '/home/u',
    key: 'bench',
    uid: 1000,
    gid: 1000,
    expectedSha256OfBlob: blobSha,
    zstdInWorker: process.env.KODER_BENCH_ZSTD_WORKER !== '0',
  });
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(c0);
  const hwm = /VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
  const out: OursResult = {
    ms,
    cpuMs: (cpu.user + cpu.system) / 1000,
    tarBytes: r.tarBytes,
    entries: r.entries,
    vmHWMKiB: Number(hwm),
  };
  process.stdout.write(JSON.stringify(out) + '\n');
}

function runOurs(blob: string, targetRoot: string, blobSha: string, remote?: Remote): Promise<OursResult> {
  return new Promise((resolve, reject) => {
    const prof = process.env.KODER_BENCH_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.KODER_BENCH_PROF] : [];
    // As the product runs (bin/koder-snapshot.mjs, the .deb's bundle); KODER_BENCH_SEMI=16 for V8's default semi-space.
    const v8 = benchNodeFlags();
    const p = spawn(process.execPath, [...v8, ...prof, '--import', 'tsx', fileURLToPath(import.meta.url), '--child', blob, targetRoot, blobSha, ...(remote ? [remote.server, remote.token] : [])], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, ...NODE_ENV },
    });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.on('close', (code) => (code === 0 ? resolve(JSON.parse(out) as OursResult) : reject(new Error(`child exited ${code}`))));
  });
}

interface V2Tree {
  tree: string;
  nonce: string;
  seed: string;
  /** The export's folder of blob files (KODER_BENCH_SOURCE=export): ours reads it instead of the server. */
  local?: string;
}

/** Ours for a data v2 tree: the restore of bench/peer-restic-child.ts (as the files applier, or restore --from), bundled. */
async function runOursV2(v2: V2Tree, remote: Remote | undefined, targetRoot: string): Promise<OursResult> {
  const { runChild } = await import('./peer-restic.ts');
  const r = await runChild('restore', { server: remote?.server ?? '', token: remote?.token ?? '', seed: v2.seed, tree: v2.tree, nonce: v2.nonce, target: targetRoot, ...(v2.local ? { local: v2.local } : {}) });
  return { ms: r.ms, cpuMs: r.cpuMs, tarBytes: 0, entries: r.files ?? 0, vmHWMKiB: r.vmHWMKiB };
}

interface Remote {
  server: string;
  token: string;
  url: string;
}

/** Native side; with a remote it runs async (spawn), since the server answering curl lives in this process. */
function runNative(blob: string, dest: string, remote?: Remote): Promise<{ ms: number; cpuMs: number; maxRssKiB: number }> {
  mkdirSync(dest, { recursive: true });
  const t0 = performance.now();
  const script = remote
    ? 'set -eo pipefail; curl -sSf -H "Authorization: Bearer $3" "$4" | zstd -q -d -c | tar -x -C "$2"'
    : 'set -eo pipefail; zstd -q -d -c -- "$1" | tar -x -C "$2"';
  return new Promise((resolve, reject) => {
    const p = spawn('/usr/bin/time', ['-f', '%M %U %S', 'bash', '-c', script, 'bash', blob, dest, remote?.token ?? '', remote?.url ?? ''], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('close', (status) => {
      const ms = performance.now() - t0;
      if (status !== 0) return reject(new Error(`native failed: ${stderr}`));
      const [rss, u, sys] = stderr.trim().split('\n').pop()!.split(' ').map(Number);
      resolve({ ms, cpuMs: (u! + sys!) * 1000, maxRssKiB: rss! });
    });
  });
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

async function main(): Promise<void> {
  await runAsServerRuns();
  const size = parseSize(process.env.KODER_BENCH_SIZE ?? '1G');
  const runs = Number(process.env.KODER_BENCH_RUNS ?? 2);
  const level = Number(process.env.KODER_BENCH_LEVEL ?? 3);
  const work = process.env.KODER_BENCH_DIR ?? (await mkdtemp(join(tmpdir(), 'koder-bench-files-')));
  const ownWork = !process.env.KODER_BENCH_DIR;
  const fromExport = process.env.KODER_BENCH_SOURCE === 'export';
  const v2: V2Tree | undefined = process.env.KODER_BENCH_FORMAT === 'v2' || fromExport ? { tree: '', nonce: '', seed: '' } : undefined;
  console.log(`machine: ${cpus().length} x ${cpus()[0]?.model ?? '?'}, ${(totalmem() / 1024 ** 3).toFixed(1)} GiB RAM, node ${process.version}, load ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  console.log(v2 ? `ours: data v2 (trees and packs)${fromExport ? ' from a local repository, as restore --from' : ''}` : `zstd: ${process.env.KODER_BENCH_ZSTD_WORKER === '0' ? 'on the extracting thread' : 'in a worker thread'}`);
  try {
    const src = join(work, 'src');
    let t = performance.now();
    const tree = makeTree(src, size);
    console.log(`tree: ${tree.files} files, ${(tree.bytes / MiB).toFixed(0)} MiB (${((performance.now() - t) / 1000).toFixed(1)} s to write)`);
    const blob = join(work, 'files.tar.zst');
    t = performance.now();
    sh('tar -C "$1" -cf - . | zstd -q -"$3" -T0 -c > "$2"', src, blob, String(level));
    const blobSha = sh('sha256sum < "$1"', blob).split(' ')[0]!;
    const tarBytes = Number(sh('zstd -q -d -c -- "$1" | wc -c', blob).trim());
    const blobBytes = statSync(blob).size;
    console.log(
      `blob: ${(blobBytes / MiB).toFixed(0)} MiB zstd -${level} of a ${(tarBytes / MiB).toFixed(0)} MiB tar (ratio ${(tarBytes / blobBytes).toFixed(2)}), ${((performance.now() - t) / 1000).toFixed(1)} s`,
    );
    let remote: Remote | undefined;
    let stopServer = async () => {};
    if (fromExport) {
      t = performance.now();
      const e = await makeExport(src, join(work, 'export'));
      Object.assign(v2!, { tree: e.tree, nonce: e.nonce, seed: e.seed, local: e.blobs });
      console.log(`source: a local repository (data v2: ${e.packs} packs, ${(e.storedBytes / MiB).toFixed(0)} MiB stored, ${((performance.now() - t) / 1000).toFixed(1)} s to capture) and the tar.zst file, same disk`);
    } else if ((process.env.KODER_BENCH_SOURCE ?? 'server') === 'server') {
      const { testServer, loginAs } = await import('../test/server/fixture.ts');
      const { DriveClient } = await import('../src/drive/index.ts');
      const srv = await testServer();
      stopServer = () => srv.cleanup();
      const tokens = await loginAs(srv, 'bench');
      await new DriveClient({ server: srv.url, tokens: tokens.access_token }).uploadBlob(blobSha, blob);
      remote = { server: srv.url, token: tokens.access_token, url: `${srv.url}/v1/me/blobs/${blobSha}` };
      console.log(`source: the reference server on ${srv.url} (ours: drive client stream; native: curl)`);
      if (v2 && !fromExport) {
        // The same tree as data v2, captured in this process (not timed).
        const { deriveDataKeys } = await import('../src/store/keys.ts');
        const { LocalIndex } = await import('../src/store/local-index.ts');
        const { StoreWriter } = await import('../src/store/store-writer.ts');
        const { captureFolder } = await import('../src/store/folder-capture.ts');
        const seed = randomBytes(32);
        const cache = join(work, 'v2-cache');
        const index = LocalIndex.open(cache, 'bench');
        const w = await StoreWriter.open({ keys: deriveDataKeys(seed), index, cacheDir: cache, client: new DriveClient({ server: srv.url, tokens: tokens.access_token }) });
        const t2 = performance.now();
        const box = await captureFolder(w, src, 'bench');
        await w.finish();
        const stored = await box.later;
        await w.close();
        v2.tree = `sha256:${stored.tree}`;
        v2.nonce = stored.nonce;
        v2.seed = seed.toString('base64');
        console.log(`data v2: ${stored.packs.length} packs, ${(w.newBytes / MiB).toFixed(0)} MiB stored, ${((performance.now() - t2) / 1000).toFixed(1)} s to capture`);
      }
    } else console.log('source: the blob file');
    if (v2 && !remote && !fromExport) throw new Error('KODER_BENCH_FORMAT=v2 needs KODER_BENCH_SOURCE=server or export');
    const dropped = dropCaches();
    console.log(`page cache dropped before each run: ${dropped ? 'yes' : 'no (not permitted)'}`);

    const ours: OursResult[] = [];
    const native: Array<{ ms: number; cpuMs: number; maxRssKiB: number }> = [];
    for (let i = 0; i < runs; i++) {
      for (const side of i % 2 === 0 ? ['native', 'ours'] : ['ours', 'native']) {
        const target = join(work, `target-${side}-${i}`);
        mkdirSync(join(target, 'home'), { recursive: true });
        dropCaches();
        await new Promise((r) => setTimeout(r, 1500));
        if (side === 'ours') {
          const r = v2 ? await runOursV2(v2, remote, target) : await runOurs(blob, target, blobSha, remote);
          ours.push(r);
          console.log(
            `  run ${i + 1} ours:   ${(r.ms / 1000).toFixed(2)} s  ${(tarBytes / MiB / (r.ms / 1000)).toFixed(0)} MiB/s  CPU ${(r.cpuMs / 1000).toFixed(2)} s  peak RSS ${(r.vmHWMKiB / 1024).toFixed(0)} MiB (VmHWM)  load ${loadavg()[0]!.toFixed(1)}`,
          );
        } else {
          const r = await runNative(blob, join(target, 'home/u'), remote);
          native.push(r);
          console.log(
            `  run ${i + 1} native: ${(r.ms / 1000).toFixed(2)} s  ${(tarBytes / MiB / (r.ms / 1000)).toFixed(0)} MiB/s  CPU ${(r.cpuMs / 1000).toFixed(2)} s  peak RSS ${(r.maxRssKiB / 1024).toFixed(0)} MiB (largest process)  load ${loadavg()[0]!.toFixed(1)}`,
          );
        }
        // Every run but the first pair's (compared below) starts after the
        // previous run's tree was removed: the same conditions for both sides.
        if (i > 0) await rm(target, { recursive: true, force: true });
      }
      if (i === 0) {
        const d = spawnSync('diff', ['-r', '--no-dereference', join(work, 'target-native-0/home/u'), join(work, v2 ? 'target-ours-0/home/u/Documents' : 'target-ours-0/home/u')], { encoding: 'utf8' });
        console.log(`  trees identical (diff -r): ${d.status === 0 ? 'yes' : `NO\n${d.stdout.slice(0, 2000)}`}`);
        if (d.status !== 0) process.exitCode = 1;
        for (const side of ['ours', 'native']) await rm(join(work, `target-${side}-0`), { recursive: true, force: true });
      }
    }
    // Runs alternate who goes first; each pair ran back to back, so the median
    // of the per-pair ratios is the steadiest figure on a shared machine.
    const pairRatios = ours.map((o, k) => native[k]!.ms / o.ms);
    const pairMedian = median(pairRatios);
    const oMs = median(ours.map((r) => r.ms));
    const nMs = median(native.map((r) => r.ms));
    const oThr = tarBytes / MiB / (oMs / 1000);
    const nThr = tarBytes / MiB / (nMs / 1000);
    const peak = Math.max(...ours.map((r) => r.vmHWMKiB)) / 1024;
    console.log('');
    console.log(`ours   (median of ${runs}): ${oThr.toFixed(0)} MiB/s of tar`);
    console.log(`native (median of ${runs}): ${nThr.toFixed(0)} MiB/s of tar`);
    console.log(`ratio ours/native: ${(oThr / nThr).toFixed(2)} of the medians; per pair ${pairRatios.map((x) => x.toFixed(2)).join(' ')}, median ${pairMedian.toFixed(2)} (goal >= 0.90)`);
    const oBest = tarBytes / MiB / (Math.min(...ours.map((r) => r.ms)) / 1000);
    const nBest = tarBytes / MiB / (Math.min(...native.map((r) => r.ms)) / 1000);
    console.log(`best runs: ours ${oBest.toFixed(0)} MiB/s, native ${nBest.toFixed(0)} MiB/s, ratio ${(oBest / nBest).toFixed(2)}`);
    console.log(`our peak RSS: ${peak.toFixed(0)} MiB (goal < 200 MiB, flat)`);
    const oCpu = median(ours.map((r) => r.cpuMs));
    const nCpu = median(native.map((r) => r.cpuMs));
    console.log(`CPU (median): ours ${(oCpu / 1000).toFixed(2)} s, native ${(nCpu / 1000).toFixed(2)} s (x${(oCpu / nCpu).toFixed(2)})`);
    console.log(`load average at the end: ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
    console.log(
      JSON.stringify({
        date: new Date().toISOString(),
        treeFiles: tree.files,
        tarMiB: +(tarBytes / MiB).toFixed(1),
        blobMiB: +(blobBytes / MiB).toFixed(1),
        oursMiBs: +oThr.toFixed(1),
        nativeMiBs: +nThr.toFixed(1),
        ratio: +(oThr / nThr).toFixed(3),
        pairRatioMedian: +pairMedian.toFixed(3),
        bestRatio: +(oBest / nBest).toFixed(3),
        oursPeakRssMiB: +peak.toFixed(1),
        nativePeakRssMiB: +(Math.max(...native.map((r) => r.maxRssKiB)) / 1024).toFixed(1),
        oursCpuS: +(oCpu / 1000).toFixed(2),
        nativeCpuS: +(nCpu / 1000).toFixed(2),
        load1: +loadavg()[0]!.toFixed(1),
      }),
    );
    await stopServer();
  } finally {
    if (ownWork) await rm(work, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  if (process.argv[2] === '--child') {
    await child(process.argv[3]!, process.argv[4]!, process.argv[5]!, process.argv[6], process.argv[7]);
  } else {
    await main();
  }
}

