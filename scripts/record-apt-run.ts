/**
 * Records an apt-get install in a target as the restore sees it: every line
 * of its stdout and of its Status-Fd, with the milliseconds since the start
 * — the fixtures of test/fixtures/apt/ (apt-status and ETA tests).
 *
 *   node --import tsx scripts/record-apt-run.ts ROOT OUT.jsonl.gz PKG...
 *
 * ROOT: a Debian root whose apt lists are up to date (and, for a run
 * without network, whose archives are in /var/cache/apt/archives). The
 * install runs as the restore runs it (dpkg's fast I/O, the fsync shim).
 */
import { writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { runInChroot, STATUS_FD } from '../src/chroot-appliers/chroot-runner.ts';
import { lineSplitter } from '../src/chroot-appliers/chroot-commands.ts';
import { fsyncShim, unsafeIoOptions } from '../src/chroot-appliers/apt-unsafe-io.ts';

const [root, out, ...packages] = process.argv.slice(2);
if (!root || !out || packages.length === 0) {
  console.error('usage: record-apt-run.ts ROOT OUT.jsonl.gz PKG...');
  process.exit(2);
}
const t0 = performance.now();
const rec: string[] = [];
const note = (fd: 'stdout' | 'status') => (line: string) => rec.push(JSON.stringify({ t: Math.round(performance.now() - t0), fd, line }));
const stdout = lineSplitter(note('stdout'));
const status = lineSplitter(note('status'));
const preload = fsyncShim();
const r = await runInChroot(root, ['apt-get', '-o', `APT::Status-Fd=${STATUS_FD}`, ...unsafeIoOptions(), 'install', '-y', ...packages], {
  check: false,
  ...(preload ? { preload } : {}),
  onOutput: (b, stream) => (stream === 'stdout' ? stdout.push(b) : undefined),
  onStatus: (b) => status.push(b),
});
stdout.end();
status.end();
writeFileSync(out, gzipSync(rec.join('\n') + '\n'));
console.log(`apt-get exited ${r.code} after ${((performance.now() - t0) / 1000).toFixed(1)} s; ${rec.length} lines in ${out}`);
process.exit(r.code);
