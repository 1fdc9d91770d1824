/**
 * How the product's node process starts, in one place: the .deb bundle's
 * shebang (scripts/deb.ts), and the benches' children "as the product
 * starts". bin/koder-snapshot.mjs (the development entry) spells the same
 * in its shebang; the server runs with the same (docs/deploy.md, npm start);
 * test/util/process-tuning.test.ts checks those three against this file.
 *
 * - `--max-semi-space-size=4`: V8 otherwise grows the young generation to
 *   16 MiB semi-spaces during a files restore (≈ +30 MiB RSS, same speed).
 * - `MALLOC_MMAP_THRESHOLD_=131072`: glibc raises its mmap threshold each
 *   time a large block is freed, after which blocks of up to that size come
 *   from the threads' arenas and stay there, fragmented: the restore
 *   workers' transient 64 KiB–8 MiB buffers (socket reads, decrypted chunks)
 *   made a 2 GiB restore's peak RSS grow with the tree (209–225 MiB). A fixed
 *   threshold gives large blocks back to the kernel when freed: 189–193 MiB
 *   at the same speed (bench/README.md). Commands in the target never see
 *   it (the chroot runner gives them an environment of their own).
 * - `--initial-old-space-size=64`: socket reads and file streams are 64 KiB
 *   buffers outside the JS heap, and V8 counts them against the old
 *   generation's limit, which for a small heap (≈ 21 MiB) sits ≈ 10 MiB
 *   above it: a full mark-compact every ≈ 10 MiB moved. The server received
 *   384 MiB of packs with 31 of them (5.7–7.3 CPU-s per GiB, most of it on
 *   V8's GC threads), a download of them to disk took 53 (2.4 CPU-s). With
 *   the limit's floor at 64 MiB: 4 and 0, 3.8 CPU-s per GiB received and
 *   1.6 CPU-s for the download (bench/README.md, "The GC's floor").
 */
export const NODE_FLAGS = ['--max-semi-space-size=4', '--initial-old-space-size=64'] as const;
export const NODE_ENV: Readonly<Record<string, string>> = { MALLOC_MMAP_THRESHOLD_: '131072' };

/** The shebang line of a bundled entry point. */
export function shebang(node = '/usr/bin/node'): string {
  return `#!/usr/bin/env -S ${Object.entries(NODE_ENV).map(([k, v]) => `${k}=${v}`).join(' ')} ${node} ${NODE_FLAGS.join(' ')}`;
}
