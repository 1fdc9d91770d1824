/**
 * bench/server.ts — the reference server under 50 concurrent clients on
 * loopback, on each storage backend, side by side in one run:
 *   sqlite   one process on SQLite + files (the embedded default)
 *   pg       one process on PostgreSQL 15 + Ceph 16 radosgw
 *   pg2      two processes on the same PostgreSQL + bucket, behind the small
 *            round-robin TCP balancer of bench/balancer.ts
 * Two mixes, one after the other, each in `--rounds` rounds of `--seconds`
 * per setup (all setups up together, visited in turn) after a warm-up:
 *   list   GET /v1/me/snapshots (20 snapshots a user, with sizes)
 *   blob   GET of a 1 MiB blob, streamed and sha256-checked by the client
 * Printed per backend and mix: requests/s, MiB/s, p50/p99 latency, errors,
 * and the CPU each part used (cores = CPU seconds / wall seconds): the serve
 * processes, the balancer, PostgreSQL, Ceph (mon + osd + radosgw) and the
 * client (this process) — which shows what the bottleneck was. Then the
 * ratios of the goals: pg / sqlite (≥ 0.7) and pg2 / pg (≥ 1.6).
 *
 * Servers (server-child.ts) and the balancer (balancer.ts) are child
 * processes, their own event loops as in production (server-setups.ts); the
 * clients share this one. The engines come from scripts/postgres.sh and
 * scripts/ceph-rgw.sh (test/helpers), started once.
 * Run: node --import tsx bench/server.ts [--backends sqlite,pg,pg2] [--mixes list,blob]
 *        [--rounds 5] [--seconds 6] [--clients 50] [--blob-kib 1024] [--users 5] [--prof DIR]
 * (--prof: CPU profiles of the server processes into DIR.)
 */
import { createHash, randomFillSync } from 'node:crypto';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { startDeviceLogin } from '../src/auth/index.ts';
import { DriveClient } from '../src/drive/index.ts';
import { generateIdentity, publicIdentity } from '../src/keys/identity.ts';
import { serialize, sign, type Manifest } from '../src/manifest/index.ts';
import { approveDevice } from '../test/server/browser.ts';
import { groupCpu, setup, stopEngines, type Group, type Setup } from './server-setups.ts';

const { values } = parseArgs({
  options: {
    clients: { type: 'string', default: '50' },
    seconds: { type: 'string', default: '6' },
    'blob-kib': { type: 'string', default: '1024' },
    users: { type: 'string', default: '5' },
    backends: { type: 'string', default: 'sqlite,pg,pg2' },
    rounds: { type: 'string', default: '5' },
    mixes: { type: 'string', default: 'list,blob' },
    prof: { type: 'string' },
  },
});
const CLIENTS = Number(values.clients), SECONDS = Number(values.seconds), BLOB = Number(values['blob-kib']) * 1024, USERS = Number(values.users);
const BLOBS = 16;


// ── users and their data ─────────────────────────────────────────────────

interface UserCtx {
  token: string;
  blobs: string[];
}

async function seed(url: string): Promise<UserCtx[]> {
  const users: UserCtx[] = [];
  for (let u = 0; u < USERS; u++) {
    const name = `bench${u}`, password = `bench-password-${u}`;
    const dl = await startDeviceLogin({ server: url });
    const [outcome] = await Promise.all([dl.wait(), approveDevice(dl.verification_uri_complete, name, password)]);
    if (outcome.status !== 'approved') throw new Error(`login ${name}: ${outcome.status}`);
    const token = outcome.tokens.access_token;
    const client = new DriveClient({ server: url, tokens: token });
    const id = await generateIdentity();
    await client.putKeys([publicIdentity(id)]);
    const blobs: string[] = [];
    for (let i = 0; i < BLOBS; i++) {
      const bytes = randomFillSync(Buffer.alloc(BLOB));
      const hex = createHash('sha256').update(bytes).digest('hex');
      const r = await fetch(`${url}/v1/me/blobs/${hex}`, { method: 'PUT', headers: { authorization: `Bearer ${token}` }, body: bytes });
      if (r.status !== 201) throw new Error(`upload: ${r.status}`);
      blobs.push(hex);
    }
    let parent: string | undefined;
    for (let s = 0; s < 20; s++) {
      const m: Manifest = {
        snapshot: { version: 1, hostname: `bench-${u}`, created_at: new Date(Date.UTC(2026, 0, 1, 0, s)).toISOString(), koder_user_id: name, ...(parent ? { parent } : {}) },
        files: { entry: blobs.slice(0, 1 + (s % BLOBS)).map((h, i) => ({ local_path: `~/d${i}`, blob: `sha256:${h}` as const, sha256: h, size: BLOB })) },
      };
      parent = (await client.postManifest(serialize(sign(m, id.signing.seed)))).id;
    }
    users.push({ token, blobs });
  }
  return users;
}

// ── the mixes ────────────────────────────────────────────────────────────

type Mix = 'list' | 'blob';
interface MixResult {
  n: number;
  errors: number;
  /** Error messages and how often each came. */
  why: Map<string, number>;
  bytes: number;
  elapsed: number;
  lat: number[];
  cpu: Record<string, number>;
}

async function runMix(mix: Mix, url: string, users: UserCtx[], seconds: number, groups: Group[]): Promise<MixResult> {
  const lat: number[] = [];
  let bytes = 0, errors = 0;
  const why = new Map<string, number>();
  const cpu0 = await groupCpu(groups);
  const t0 = performance.now();
  const deadline = t0 + seconds * 1000;
  const client = async (n: number) => {
    const u = users[n % users.length]!;
    let i = 0;
    while (performance.now() < deadline) {
      i++;
      const t = performance.now();
      try {
        if (mix === 'list') {
          const r = await fetch(`${url}/v1/me/snapshots`, { headers: { authorization: `Bearer ${u.token}` } });
          const list = (await r.json()) as { snapshots: unknown[] };
          if (r.status !== 200 || list.snapshots.length !== 20) throw new Error('list');
        } else {
          const hex = u.blobs[(n + i) % u.blobs.length]!;
          const res = await fetch(`${url}/v1/me/blobs/${hex}`, { headers: { authorization: `Bearer ${u.token}` } });
          const h = createHash('sha256');
          for await (const c of res.body as unknown as AsyncIterable<Uint8Array>) {
            h.update(c);
            bytes += c.length;
          }
          if (h.digest('hex') !== hex) throw new Error('hash');
        }
        lat.push(performance.now() - t);
      } catch (e) {
        errors++;
        const m = `${(e as Error).message}${(e as { cause?: Error }).cause ? `: ${(e as { cause: Error }).cause.message}` : ''}`;
        why.set(m, (why.get(m) ?? 0) + 1);
      }
    }
  };
  await Promise.all(Array.from({ length: CLIENTS }, (_, n) => client(n)));
  const elapsed = (performance.now() - t0) / 1000;
  const cpu1 = await groupCpu(groups);
  const cpu: Record<string, number> = {};
  for (const k of Object.keys(cpu1)) cpu[k] = (cpu1[k]! - (cpu0[k] ?? 0)) / elapsed;
  return { n: lat.length, errors, why, bytes, elapsed, lat, cpu };
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]! : NaN;
};

// ── the run ──────────────────────────────────────────────────────────────
// All setups stay up together; each mix runs in rounds that visit the setups
// in turn (the order rotates), so a machine whose load drifts weighs on all
// of them alike. Per setup: the median round's rate; per goal: the median of
// the rounds' ratios (each ratio between runs seconds apart).

const kinds = values.backends!.split(',').map((k) => k.trim());
const ROUNDS = Number(values.rounds);
const load0 = loadavg()[0]!;
const setups: { s: Setup; users: UserCtx[] }[] = [];
const rounds: { name: string; mix: Mix; round: number; r: MixResult }[] = [];
try {
  for (const kind of kinds) {
    const s = await setup(kind, { users: USERS, prof: values.prof });
    setups.push({ s, users: await seed(s.url) });
  }
  for (const mix of values.mixes!.split(',') as Mix[]) {
    for (const { s, users } of setups) await runMix(mix, s.url, users, 2, s.groups); // warm-up
    for (let round = 0; round < ROUNDS; round++) {
      for (let i = 0; i < setups.length; i++) {
        const { s, users } = setups[(i + round) % setups.length]!;
        const r = await runMix(mix, s.url, users, SECONDS, s.groups);
        rounds.push({ name: s.name, mix, round, r });
        process.stderr.write(`round ${round + 1}/${ROUNDS} ${s.name} ${mix}: ${(r.n / r.elapsed).toFixed(0)} req/s\n`);
      }
    }
  }
} finally {
  for (const { s } of setups) await s.stop();
  await stopEngines();
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
/** One row per setup and mix: rates per round, latencies and CPU over all rounds. */
const results = setups.flatMap(({ s }) =>
  (values.mixes!.split(',') as Mix[]).map((mix) => {
    const mine = rounds.filter((x) => x.name === s.name && x.mix === mix).map((x) => x.r);
    const elapsed = mine.reduce((a, r) => a + r.elapsed, 0);
    const cpu: Record<string, number> = {};
    for (const r of mine) for (const [k, v] of Object.entries(r.cpu)) cpu[k] = (cpu[k] ?? 0) + v * r.elapsed;
    for (const k of Object.keys(cpu)) cpu[k] = cpu[k]! / elapsed;
    const why = new Map<string, number>();
    for (const r of mine) for (const [m, k] of r.why) why.set(m, (why.get(m) ?? 0) + k);
    const r: MixResult & { rates: number[] } = {
      n: mine.reduce((a, r) => a + r.n, 0),
      errors: mine.reduce((a, r) => a + r.errors, 0),
      why,
      bytes: mine.reduce((a, r) => a + r.bytes, 0),
      elapsed,
      lat: mine.flatMap((r) => r.lat),
      cpu,
      rates: mine.map((r) => r.n / r.elapsed),
    };
    return { name: s.name, mix, r };
  }),
);

const cores = (x?: number) => (x === undefined ? '    –' : x.toFixed(2).padStart(5));
console.log(`bench/server.ts: ${CLIENTS} clients, ${USERS} users, ${ROUNDS} rounds of ${SECONDS} s a mix, blobs of ${BLOB / 1024} KiB, loopback, node ${process.version}, load ${load0.toFixed(1)} → ${loadavg()[0]!.toFixed(1)}`);
console.log(`${'backend'.padEnd(27)} ${'mix'.padEnd(5)} ${'req/s'.padStart(7)} ${'MiB/s'.padStart(7)} ${'p50 ms'.padStart(7)} ${'p99 ms'.padStart(7)} ${'err'.padStart(4)}  CPU cores: servers balancer postgres  ceph client   (req/s: median round; rounds: …)`);
for (const { name, mix, r } of results) {
  console.log(
    `${name.padEnd(27)} ${mix.padEnd(5)} ${median(r.rates).toFixed(0).padStart(7)} ${(r.bytes / r.elapsed / 1024 / 1024).toFixed(1).padStart(7)} ${pct(r.lat, 50).toFixed(1).padStart(7)} ${pct(r.lat, 99).toFixed(1).padStart(7)} ${String(r.errors).padStart(4)}  ` +
      `${cores(r.cpu.servers)}   ${cores(r.cpu.balancer)}    ${cores(r.cpu.postgres)} ${cores(r.cpu.ceph)} ${cores(r.cpu.client)}   ${r.rates.map((x) => x.toFixed(0)).join(' ')}`,
  );
}
console.log('CPU ms per request (CPU seconds / requests):');
console.log(`${'backend'.padEnd(27)} ${'mix'.padEnd(5)} servers balancer postgres   ceph client  all`);
const ms = (x: number | undefined, n: number) => (x === undefined ? '     –' : ((x * 1000) / n).toFixed(2).padStart(6));
for (const { name, mix, r } of results) {
  const rps = r.n / r.elapsed;
  const all = Object.values(r.cpu).reduce((a, b) => a + b, 0);
  console.log(`${name.padEnd(27)} ${mix.padEnd(5)}  ${ms(r.cpu.servers, rps)}   ${ms(r.cpu.balancer, rps)}   ${ms(r.cpu.postgres, rps)} ${ms(r.cpu.ceph, rps)} ${ms(r.cpu.client, rps)} ${ms(all, rps)}`);
  for (const [m, k] of r.why) console.log(`    ${k} × ${m}`);
}
const perRound = (name: string, mix: Mix) => rounds.filter((x) => x.name.startsWith(name) && x.mix === mix).sort((a, b) => a.round - b.round).map((x) => x.r.n / x.r.elapsed);
const ratios = (a: number[], b: number[]) => a.map((x, i) => x / b[i]!).filter(Number.isFinite);
for (const mix of values.mixes!.split(',') as Mix[]) {
  const [sq, p1, p2] = [perRound('sqlite', mix), perRound('postgres+s3 ×1', mix), perRound('postgres+s3 ×2', mix)];
  const parts = [];
  const show = (label: string, xs: number[], goal: string) => `${label} = ${median(xs).toFixed(2)} (rounds ${xs.map((x) => x.toFixed(2)).join(' ')}; goal ${goal})`;
  if (sq.length && p1.length) parts.push(show('pg ×1 / sqlite ×1', ratios(p1, sq), '≥ 0.7'));
  if (p1.length && p2.length) parts.push(show('pg ×2 / pg ×1', ratios(p2, p1), '≥ 1.6'));
  if (parts.length) console.log(`${mix}: ${parts.join('; ')}`);
}
