/**
 * bench/restore-files.ts's local-source mode (KODER_BENCH_SOURCE=export): the
 * tree as data v2 in a local repository — packs and tree root as files named
 * by address, as `koder-snapshot export` leaves them on a drive — restored
 * the way `restore --from` restores it (chroot-appliers/files-v2.ts over
 * local-blobs.ts: tree root and tree objects read from the files, the
 * pack-ordered jobs read by the worker threads from the pack files, every
 * chunk authenticated, staging, commit), against `zstd -d | tar -x` of the
 * tree's tar.zst read from the same disk.
 *
 *   makeExport(src, dir)  captures `src` (not timed) with the store's writer, no server:
 *                         its packs and tree root stay in DIR/v2/packs/
 *   child                 node --import tsx bench/restore-files-export.ts DIR JSON → JSON timings
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { commitStaging, removeStaging, stagingDirFor } from '../src/chroot-appliers/commit-staging.ts';
import { LocalBlobs } from '../src/chroot-appliers/local-blobs.ts';
import { captureFolder } from '../src/store/folder-capture.ts';
import { restoreFolder } from '../src/store/folder-restore.ts';
import { deriveDataKeys, treeKey } from '../src/store/keys.ts';
import { LocalIndex } from '../src/store/local-index.ts';
import { StoreWriter } from '../src/store/store-writer.ts';
import { TreeReader } from '../src/store/tree-reader.ts';
import { zstdContext } from '../src/store/zstd.ts';

export interface LocalExport {
  /** The folder of `HEX` files (packs, tree root). */
  blobs: string;
  tree: string;
  nonce: string;
  seed: string;
  packs: number;
  storedBytes: number;
}

/** The tree `src` as data v2 in `dir` (dry-run writer: nothing uploaded, everything kept). */
export async function makeExport(src: string, dir: string): Promise<LocalExport> {
  const seed = randomBytes(32);
  const index = LocalIndex.open(dir, 'bench');
  const w = await StoreWriter.open({ keys: deriveDataKeys(seed), index, cacheDir: dir });
  const box = await captureFolder(w, src, 'bench');
  await w.finish();
  const stored = await box.later;
  await w.close();
  index.close();
  return { blobs: w.packDir, tree: stored.tree, nonce: stored.nonce, seed: seed.toString('base64'), packs: stored.packs.length, storedBytes: w.newBytes };
}

export interface ExportChildResult {
  ms: number;
  cpuMs: number;
  files: number;
  vmHWMKiB: number;
}

/** Ours, in a child process: the export restored into TARGET/home/u as `restore --from` does. */
export function exportChildArgs(e: LocalExport, target: string): string[] {
  return ['--import', 'tsx', fileURLToPath(import.meta.url), JSON.stringify({ ...e, target })];
}

async function child(a: LocalExport & { target: string }): Promise<void> {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const local = new LocalBlobs(a.blobs, 'the bench export').source();
  const reader = new TreeReader({ read: (h, s, e) => local.read!(`sha256:${h}`, s, e) }, zstdContext());
  const root = await reader.root(a.tree, treeKey(deriveDataKeys(Buffer.from(a.seed, 'base64')).treeKeyRoot, Buffer.from(a.nonce, 'base64')));
  const staging = await stagingDirFor(a.target, '/home/u', 'bench', { keep: true });
  const r = await restoreFolder({ reader, root, packs: { file: (p) => local.local!(`sha256:${p}`) }, staging, uid: 1000, gid: 1000 });
  await commitStaging({ targetRoot: a.target, dest: '/home/u', stagingDir: staging, uid: 1000, gid: 1000 });
  rmSync(`${staging}.journal`, { force: true });
  await removeStaging(staging);
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(c0);
  const out: ExportChildResult = { ms, cpuMs: (cpu.user + cpu.system) / 1000, files: r.files, vmHWMKiB: Number(/VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1]) };
  process.stdout.write(JSON.stringify(out) + '\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await child(JSON.parse(process.argv[2]!) as LocalExport & { target: string });
  process.exit(0);
}
