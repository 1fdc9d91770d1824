/**
 * Real Debian roots for tests that need one.
 *
 * - `minbaseTarball()` builds `.cache/bookworm-minbase.tar.zst` once with
 *   `mmdebstrap --variant=minbase bookworm OUT <host's bookworm apt sources>`.
 *   Concurrency-safe across vitest workers: the build runs under `flock(1)` on
 *   `.cache/bookworm-minbase.lock` (released by the kernel if the builder dies),
 *   writes to a temporary name and renames it into place.
 * - `makeDebianRoot()` extracts that tarball (`zstd -d | tar -x`, owners, modes
 *   and device nodes preserved) onto a fresh **tmpfs** mounted on a mkdtemp dir
 *   (unmounted and removed by `dispose`). If mounting a tmpfs is not permitted
 *   it falls back to a plain mkdtemp dir on disk; `onTmpfs` says which
 *   (KODER_TEST_ROOT_ON_DISK=1 forces disk). The tmpfs is mounted in the
 *   host's namespace (a private namespace cannot span async node code), so a
 *   test process killed before dispose leaves it mounted: `umount` it by hand.
 * - `makeEmptyRoot()` is an empty mkdtemp dir (on disk) with the same shape.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestRoot {
  /** Absolute path of the root directory. */
  root: string;
  /** True when `root` is a tmpfs mount (unmounted by dispose). */
  onTmpfs: boolean;
  /** Unmounts (if tmpfs) and removes everything. Idempotent. */
  dispose(): Promise<void>;
}

import { extractMinbase, minbaseTarball, run } from '../../src/util/minbase.ts';
export { cacheDir, minbaseTarballPath, minbaseTarball } from '../../src/util/minbase.ts';

async function tryMountTmpfs(dir: string): Promise<boolean> {
  if (process.env.KODER_TEST_ROOT_ON_DISK) return false;
  try {
    await run('mount', ['-t', 'tmpfs', '-o', 'mode=0755,size=2g', 'koder-test-root', dir]);
    return true;
  } catch {
    return false;
  }
}

async function disposer(root: string, onTmpfs: boolean): Promise<() => Promise<void>> {
  let done = false;
  return async () => {
    if (done) return;
    done = true;
    if (onTmpfs) {
      try {
        await run('umount', [root]);
      } catch {
        // Something still holds it (a test left a process behind): detach.
        await run('umount', ['--lazy', root]);
      }
    }
    await rm(root, { recursive: true, force: true });
  };
}

/** A fresh bookworm minbase root (from the cached tarball). */
export async function makeDebianRoot(): Promise<TestRoot> {
  await minbaseTarball();
  const root = await mkdtemp(join(tmpdir(), 'koder-debroot-'));
  const onTmpfs = await tryMountTmpfs(root);
  const dispose = await disposer(root, onTmpfs);
  try {
    await extractMinbase(root);
  } catch (e) {
    await dispose();
    throw e;
  }
  return { root, onTmpfs, dispose };
}

/** An empty directory to use as a target root (on disk, not tmpfs). */
export async function makeEmptyRoot(): Promise<TestRoot> {
  const root = await mkdtemp(join(tmpdir(), 'koder-emptyroot-'));
  return { root, onTmpfs: false, dispose: await disposer(root, false) };
}
