/**
 * bench/manifest-limits.ts — the worst manifests `parse` accepts (at the
 * limits of src/manifest/limits.ts), and the issue's 15 MiB `[t0] [t1] …`,
 * timed against Python's tomllib on the same text in the same run (a peer
 * TOML 1.0 parser in C-accelerated Python; load only, no validation).
 * Run: node --import tsx bench/manifest-limits.ts
 */
import { spawnSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { parse as smolToml } from 'smol-toml';
import { parse, ManifestParseError, MAX_MANIFEST_BYTES, MAX_MANIFEST_ENTRIES, MAX_MANIFEST_TABLES } from '../src/manifest/index.ts';
import { entriesOfShape, manyTables, SNAPSHOT_HEADER } from '../test/helpers/hostile-manifests.ts';

const RUNS = Number(process.env.KODER_BENCH_RUNS ?? 5);

/** As many `line(i)` as fit in the size limit and the entry limit. */
function fill(head: string, line: (i: number) => string, entriesPerLine: number): string {
  const parts = [head];
  let bytes = Buffer.byteLength(head);
  let entries = 6; // [snapshot], its 4 keys, and [apps] or the first header's system
  for (let i = 0; ; i++) {
    const l = line(i);
    if (bytes + l.length > MAX_MANIFEST_BYTES || entries + entriesPerLine > MAX_MANIFEST_ENTRIES) break;
    parts.push(l);
    bytes += l.length;
    entries += entriesPerLine;
  }
  return parts.join('');
}

const deep = '.a'.repeat(29);
const shapes: [string, string][] = [
  ['10k tables `[system.tN]`, 40k keys in them', entriesOfShape('tables', MAX_MANIFEST_ENTRIES, MAX_MANIFEST_TABLES)],
  ['50k keys `kN = "v"`', entriesOfShape('keys', MAX_MANIFEST_ENTRIES)],
  ['50k-element apt array', entriesOfShape('array', MAX_MANIFEST_ENTRIES)],
  ['25k inline tables in an array', entriesOfShape('inline', MAX_MANIFEST_ENTRIES)],
  ['31-part dotted keys to the limits', fill(`${SNAPSHOT_HEADER}[apps]\n`, (i) => `future${deep}.k${i} = 1\n`, 31)],
  ['31-part table headers to the limits', fill(SNAPSHOT_HEADER, (i) => `[system${deep}.t${i}]\n`, 31)],
  ['4 MiB of \\u escapes in one string', `${SNAPSHOT_HEADER}[system]\nx = "${'\\u0041'.repeat(Math.floor((MAX_MANIFEST_BYTES - 200) / 6))}"\n`],
];

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function ours(text: string): { ms: number; outcome: string } {
  const times: number[] = [];
  let outcome = 'parsed';
  for (let r = 0; r < RUNS; r++) {
    const t0 = performance.now();
    try {
      parse(text, 'm.kvg');
    } catch (e) {
      if (!(e instanceof ManifestParseError)) throw e;
      outcome = `refused: ${e.reason.slice(0, 40)}`;
    }
    times.push(performance.now() - t0);
  }
  return { ms: median(times), outcome };
}

/** tomllib.loads of the same text, timed inside Python (no start-up). */
function tomllib(text: string): number {
  const py = `import sys, time, tomllib
t = sys.stdin.read()
xs = []
for _ in range(${RUNS}):
    t0 = time.perf_counter(); tomllib.loads(t); xs.append((time.perf_counter() - t0) * 1000)
print(sorted(xs)[len(xs) // 2])`;
  const r = spawnSync('python3', ['-c', py], { input: text, encoding: 'utf8', maxBuffer: 1 << 20 });
  if (r.status !== 0) throw new Error(r.stderr);
  return Number(r.stdout.trim());
}

console.log(`limits: ${MAX_MANIFEST_BYTES / 1048576} MiB, ${MAX_MANIFEST_ENTRIES} entries, ${MAX_MANIFEST_TABLES} tables; median of ${RUNS} runs`);
console.log('| manifest | KiB | parse (ours, ms) | tomllib.loads (ms) | ours / tomllib | outcome |');
console.log('|---|---:|---:|---:|---:|---|');
for (const [name, text] of shapes) {
  const o = ours(text);
  const p = tomllib(text);
  console.log(`| ${name} | ${(Buffer.byteLength(text) / 1024).toFixed(0)} | ${o.ms.toFixed(1)} | ${p.toFixed(1)} | ${(o.ms / p).toFixed(2)} | ${o.outcome} |`);
}

// The issue's freeze: 15 MiB of `[t0]\n[t1]\n…`. Ours refuses on size before any work; smol-toml
// alone (what parse ran first before the limits) is timed on 4 MiB of it, once.
const issue = manyTables(15 * 1024 * 1024);
const t0 = performance.now();
let why = '';
try {
  parse(issue, 'm.kvg');
} catch (e) {
  why = (e as ManifestParseError).reason;
}
console.log(`\nissue 17's 15 MiB [t0]…: refused in ${(performance.now() - t0).toFixed(1)} ms (${why})`);
const four = manyTables(4 * 1024 * 1024);
const t1 = performance.now();
try {
  parse(four, 'm.kvg');
} catch (e) {
  why = (e as ManifestParseError).reason;
}
console.log(`4 MiB of it: refused in ${(performance.now() - t1).toFixed(1)} ms (${why.slice(0, 60)})`);
const t2 = performance.now();
smolToml(four, { integersAsBigInt: 'asNeeded' });
console.log(`  smol-toml alone on the same 4 MiB (the old first step): ${(performance.now() - t2).toFixed(0)} ms, tomllib ${tomllib(four).toFixed(0)} ms`);
