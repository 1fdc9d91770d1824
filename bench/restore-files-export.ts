/**
 * bench/restore-files.ts's local-source mode (KODER_BENCH_SOURCE=export): the
 * tree as data v2 in a local repository — packs and tree root as files named
 * by address, as `koder-snapshot export` leaves them in a drive's blobs/ —
 * captured here with the store's writer (no server, not timed). Ours then
 * restores it in bench/peer-restic-child.ts (bundled, as the product ships)
 * the way `restore --from` does: local-blobs.ts reads the tree root and tree
 * objects from the files, the worker threads read the pack files, every
 * chunk authenticated, staging, commit.
 */
import { randomBytes } from 'node:crypto';
import { captureFolder } from '../src/store/folder-capture.ts';
import { deriveDataKeys } from '../src/store/keys.ts';
import { LocalIndex } from '../src/store/local-index.ts';
import { StoreWriter } from '../src/store/store-writer.ts';

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
  return { blobs: w.packDir, tree: `sha256:${stored.tree}`, nonce: stored.nonce, seed: seed.toString('base64'), packs: stored.packs.length, storedBytes: w.newBytes };
}
