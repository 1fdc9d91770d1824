/**
 * bench/chain.ts — verify + fold a chain of 100 deltas over a root of 3,000
 * apt packages (the foundation issue's goal: < 50 ms on this machine).
 * Run: node --import tsx bench/chain.ts
 */
import { performance } from 'node:perf_hooks';
import { parse as smolToml } from 'smol-toml';
import { resolveChain, parse, snapshotId, type Manifest } from '../src/manifest/index.ts';
import { checkTomlSyntax } from '../src/manifest/toml-syntax.ts';
import { chainFrom, testKey } from '../test/helpers/manifests.ts';

const PACKAGES = 3000, DELTAS = 100, RUNS = 30;
const key = testKey('bench');

const root: Manifest = {
  snapshot: { version: 1, hostname: 'bench', created_at: '2026-01-01T00:00:00Z', koder_user_id: 'bench' },
  system: { timezone: 'UTC', locale: 'en_US.UTF-8', keyboard: 'us' },
  apps: { apt: Array.from({ length: PACKAGES }, (_, i) => `pkg-${i.toString(36)}-lib`) },
  files: { entry: Array.from({ length: 20 }, (_, i) => ({ local_path: `~/f${i}`, blob: `sha256:${i.toString(16).padStart(64, '0')}` as const, sha256: 'a'.repeat(64), size: i })) },
};
const fulls: Manifest[] = [root];
for (let d = 1; d <= DELTAS; d++) {
  const m = structuredClone(fulls[d - 1]!);
  m.snapshot.created_at = new Date(Date.UTC(2026, 0, 1) + d * 86400_000).toISOString();
  m.apps!.apt = [...m.apps!.apt!.filter((_, i) => i % 997 !== d), `new-${d}`];
  m.system!.timezone = d % 2 ? 'America/Sao_Paulo' : 'UTC';
  m.files!.entry![d % 20] = { ...m.files!.entry![d % 20]!, sha256: d.toString(16).padStart(64, 'b') };
  fulls.push(m);
}
const built = chainFrom(fulls, key.seed);
const leaf = built.ids[DELTAS]!;
const bytes = [...built.texts.values()].reduce((n, t) => n + t.length, 0);
const rootBytes = built.texts.get(built.ids[0]!)!.length;

function median(xs: number[]) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

const times: number[] = [];
let folded: Manifest | undefined;
for (let r = 0; r < RUNS + 3; r++) {
  const t0 = performance.now();
  folded = (await resolveChain(leaf, built.fetch, [key.publicKey])).folded;
  if (r >= 3) times.push(performance.now() - t0);
}
// Breakdown: parse alone, for the same texts.
const tParse = performance.now();
for (const t of built.texts.values()) snapshotId(parse(t, 'x'));
const parseMs = performance.now() - tParse;
// Of parse: the TOML 1.0 pre-pass, against smol-toml alone on the same texts (median of 30 rounds).
const round = (f: (t: string) => unknown) => {
  const xs: number[] = [];
  for (let r = 0; r < 30; r++) {
    const t0 = performance.now();
    for (const t of built.texts.values()) f(t);
    xs.push(performance.now() - t0);
  }
  return median(xs);
};
const checkMs = round((t) => checkTomlSyntax(t, { maxDepth: 32, maxEntries: 50_000, maxTables: 10_000 }));
const smolMs = round((t) => smolToml(t, { integersAsBigInt: 'asNeeded' }));

console.log(`chain: ${DELTAS + 1} manifests (${(bytes / 1024).toFixed(0)} KiB of TOML), root of ${PACKAGES} apt packages (${(rootBytes / 1024).toFixed(0)} KiB)`);
console.log(`verify + fold: median ${median(times).toFixed(1)} ms, min ${Math.min(...times).toFixed(1)} ms over ${RUNS} runs (goal < 50 ms)`);
console.log(`  of which parse + id of all links: ${parseMs.toFixed(1)} ms`);
console.log(`  the TOML 1.0 check (toml-syntax.ts) of all links: ${checkMs.toFixed(2)} ms, smol-toml alone ${smolMs.toFixed(2)} ms (check / smol-toml = ${(checkMs / smolMs).toFixed(2)})`);
console.log(`folded: ${folded!.apps!.apt!.length} apt packages`);
