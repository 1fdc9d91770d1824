/**
 * bench/peer-restic.ts's child: one capture or one restore of ours, timed
 * inside the process, JSON on stdout. Run bundled (esbuild, as the .deb
 * ships the CLI) or through tsx.
 *
 *   node peer-restic-child.mjs capture|restore JSON
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { capture, defaultConfig } from '../src/capture/index.ts';
import { DriveClient } from '../src/drive/index.ts';
import { openBlobRemote } from '../src/drive/blob-remote.ts';
import { identityFromParts } from '../src/keys/identity.ts';
import { deriveDataKeys, treeKey } from '../src/store/keys.ts';
import { TreeReader } from '../src/store/tree-reader.ts';
import { restoreFolder } from '../src/store/folder-restore.ts';
import { driveBytes } from '../src/store/store-writer.ts';
import { zstdContext } from '../src/store/zstd.ts';
import { commitStaging } from '../src/chroot-appliers/commit-staging.ts';
import { LocalBlobs } from '../src/chroot-appliers/local-blobs.ts';

export interface ChildCapture {
  server: string;
  token: string;
  identity: { seed: string; pub: string; xpriv: string; xpub: string };
  home: string;
  cache: string;
}
export interface ChildRestore {
  server: string;
  token: string;
  /** A folder of blob files named by address (a drive's export: `restore --from`): read instead of the server. */
  local?: string;
  seed: string;
  tree: string;
  nonce: string;
  target: string;
}
export interface ChildOut {
  ms: number;
  cpuMs: number;
  vmHWMKiB: number;
  uploaded?: number;
  packed?: number;
  tree?: string;
  nonce?: string;
  files?: number;
  bytes?: number;
}

const b64 = (s: string) => new Uint8Array(Buffer.from(s, 'base64'));
const hwmKiB = () => Number(/VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 0);

async function childCapture(a: ChildCapture): Promise<ChildOut> {
  const identity = await identityFromParts({ ed25519Seed: b64(a.identity.seed), ed25519Public: b64(a.identity.pub), x25519Private: b64(a.identity.xpriv), x25519Public: b64(a.identity.xpub) });
  if (typeof identity === 'string') throw new Error(identity);
  const config = defaultConfig({ ...process.env, XDG_CACHE_HOME: a.cache });
  config.cache.dir = a.cache;
  config.files.folders = ['~/Documents'];
  config.snapshot.hostname = 'bench';
  if (process.env.KODER_BENCH_WORKERS) config.files.zstd_workers = Number(process.env.KODER_BENCH_WORKERS);
  if (process.env.KODER_BENCH_LEVEL) config.files.zstd_level = Number(process.env.KODER_BENCH_LEVEL);
  const client = new DriveClient({ server: a.server, tokens: a.token });
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const r = await capture({ config, home: a.home, only: ['files'], client, identity });
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(c0);
  const entry = r.full.files?.entry?.[0] as { tree?: string; tree_nonce?: string } | undefined;
  if (r.warnings.length) process.stderr.write(`capture warnings: ${r.warnings.slice(0, 5).join('; ')}\n`);
  return { ms, cpuMs: (cpu.user + cpu.system) / 1000, vmHWMKiB: hwmKiB(), uploaded: r.uploadedBytes, packed: r.packedBytes, ...(entry?.tree ? { tree: entry.tree, nonce: entry.tree_nonce! } : {}) };
}

async function childRestore(a: ChildRestore): Promise<ChildOut> {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const client = a.local ? undefined : new DriveClient({ server: a.server, tokens: a.token });
  // As the files applier (chroot-appliers/files-v2.ts): tree root, trees, pack-ordered jobs, staging, commit;
  // from a local folder as restore --from reads an export (local-blobs.ts: the workers read the pack files).
  const local = a.local ? new LocalBlobs(a.local, 'the bench export').source() : undefined;
  const bytes = local ? { read: (h: string, s?: number, e?: number) => local.read!(`sha256:${h}`, s, e) } : driveBytes(client!);
  const reader = new TreeReader(bytes, zstdContext());
  const root = await reader.root(a.tree.slice('sha256:'.length), treeKey(deriveDataKeys(b64(a.seed)).treeKeyRoot, Buffer.from(a.nonce, 'base64')));
  const staging = join(a.target, '.koder-staging');
  const packs = local ? { file: (p: string) => local.local!(`sha256:${p}`) } : { remote: (p: string) => openBlobRemote(client!, p) };
  const r = await restoreFolder({ reader, root, packs, staging, uid: 1000, gid: 1000, ...(process.env.KODER_BENCH_RWORKERS ? { workers: Number(process.env.KODER_BENCH_RWORKERS) } : {}) });
  await commitStaging({ targetRoot: a.target, dest: '/home/u/Documents', stagingDir: staging, uid: 1000, gid: 1000 });
  rmSync(`${staging}.journal`, { force: true });
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(c0);
  return { ms, cpuMs: (cpu.user + cpu.system) / 1000, vmHWMKiB: hwmKiB(), files: r.files, bytes: r.bytes };
}

if (process.env.KODER_BENCH_MEM) {
  // Where the main thread's memory is, at its peak (workers' memory is only in the RSS).
  const peak: Record<string, number> = {};
  const m0 = process.memoryUsage();
  process.stderr.write(`memory at start (MiB): rss ${(m0.rss / 1048576).toFixed(0)}, heapUsed ${(m0.heapUsed / 1048576).toFixed(0)}\n`);
  setInterval(() => {
    for (const [k, v] of Object.entries(process.memoryUsage())) peak[k] = Math.max(peak[k] ?? 0, v);
  }, 50).unref();
  process.on('exit', () => process.stderr.write(`memory peaks (MiB): ${Object.entries(peak).map(([k, v]) => `${k} ${(v / 1048576).toFixed(0)}`).join(', ')}\n`));
}
if (process.env.KODER_BENCH_LOOP) {
  // How busy the main thread's event loop was, and its longest turns: work the workers may wait for.
  const elu0 = performance.eventLoopUtilization();
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  process.on('exit', () => {
    delay.disable();
    const ms = (ns: number) => (ns / 1e6).toFixed(0);
    process.stderr.write(`event loop: busy ${(performance.eventLoopUtilization(elu0).utilization * 100).toFixed(0)} %, delay p50 ${ms(delay.percentile(50))} ms, p99 ${ms(delay.percentile(99))} ms, max ${ms(delay.max)} ms\n`);
  });
}
const [mode, json] = process.argv.slice(2);
const arg = JSON.parse(json!) as ChildCapture & ChildRestore;
const out = mode === 'capture' ? await childCapture(arg) : await childRestore(arg);
process.stdout.write(JSON.stringify(out) + '\n');
process.exit(0);
