/**
 * bench/server.ts — 50 concurrent clients against the reference server on
 * loopback, each repeating: list my snapshots, download one blob (1 MiB,
 * streamed and sha256-checked in memory; every 10th through the drive
 * client's resumable download to a temp file). Prints throughput and
 * p50/p99 latency per kind of request.
 * The server runs in a child process (its own event loop, as in production);
 * the clients share this one.
 * Run: node --import tsx bench/server.ts [--clients 50] [--seconds 10] [--blob-kib 1024] [--users 5]
 */
import { createHash, randomFillSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { startServer } from '../src/server/index.ts';
import { startDeviceLogin } from '../src/auth/index.ts';
import { DriveClient } from '../src/drive/index.ts';
import { generateIdentity, publicIdentity } from '../src/keys/identity.ts';
import { serialize, sign, type Manifest } from '../src/manifest/index.ts';
import { approveDevice } from '../test/server/browser.ts';

const { values } = parseArgs({ options: { clients: { type: 'string', default: '50' }, seconds: { type: 'string', default: '10' }, 'blob-kib': { type: 'string', default: '1024' }, users: { type: 'string', default: '5' }, child: { type: 'boolean' } } });
const CLIENTS = Number(values.clients), SECONDS = Number(values.seconds), BLOB = Number(values['blob-kib']) * 1024, USERS = Number(values.users);
const BLOBS = 16;

if (values.child) {
  // the server side: start, create the users, say where, run until stdin closes
  const dataDir = mkdtempSync(join(tmpdir(), 'koder-bench-'));
  const srv = await startServer({ dataDir, port: 0, maintenanceIntervalMs: 0, deviceInterval: 0.05, log: () => {} });
  for (let u = 0; u < USERS; u++) await srv.addUser(`bench${u}`, `bench-password-${u}`);
  process.stdout.write(JSON.stringify({ url: srv.url }) + '\n');
  process.stdin.resume();
  process.stdin.on('end', async () => {
    await srv.close();
    rmSync(dataDir, { recursive: true, force: true });
    process.exit(0);
  });
  await new Promise(() => {});
}

const child = spawn(process.execPath, ['--import', 'tsx', new URL(import.meta.url).pathname, '--child', '--users', String(USERS)], { stdio: ['pipe', 'pipe', 'ignore'] });
const first = await new Promise<string>((resolve) => createInterface({ input: child.stdout! }).once('line', resolve));
const srv = { url: (JSON.parse(first) as { url: string }).url };

interface UserCtx { token: string; client: DriveClient; blobs: string[] }
const users: UserCtx[] = [];
for (let u = 0; u < USERS; u++) {
  const name = `bench${u}`, password = `bench-password-${u}`;
  const dl = await startDeviceLogin({ server: srv.url });
  const [outcome] = await Promise.all([dl.wait(), approveDevice(dl.verification_uri_complete, name, password)]);
  if (outcome.status !== 'approved') throw new Error(`login ${name}: ${outcome.status}`);
  const token = outcome.tokens.access_token;
  const client = new DriveClient({ server: srv.url, tokens: token });
  const id = await generateIdentity();
  await client.putKeys([publicIdentity(id)]);
  const blobs: string[] = [];
  for (let i = 0; i < BLOBS; i++) {
    const bytes = randomFillSync(Buffer.alloc(BLOB));
    const hex = createHash('sha256').update(bytes).digest('hex');
    const r = await fetch(`${srv.url}/v1/me/blobs/${hex}`, { method: 'PUT', headers: { authorization: `Bearer ${token}` }, body: bytes });
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
  users.push({ token, client, blobs });
}

const lat: Record<'list' | 'blob' | 'download', number[]> = { list: [], blob: [], download: [] };
let bytes = 0, errors = 0;
const scratch = mkdtempSync(join(tmpdir(), 'koder-bench-dl-'));
const deadline = performance.now() + SECONDS * 1000;
const t0 = performance.now();

async function client(n: number) {
  const u = users[n % users.length]!;
  let i = 0;
  while (performance.now() < deadline) {
    i++;
    try {
      let t = performance.now();
      const r = await fetch(`${srv.url}/v1/me/snapshots`, { headers: { authorization: `Bearer ${u.token}` } });
      const list = (await r.json()) as { snapshots: unknown[] };
      if (r.status !== 200 || list.snapshots.length !== 20) throw new Error('list');
      lat.list.push(performance.now() - t);
      const hex = u.blobs[(n + i) % u.blobs.length]!;
      t = performance.now();
      if (i % 10 === 0) {
        const dest = join(scratch, `${n}-${i}`);
        const d = await u.client.downloadBlob(hex, dest);
        bytes += d.size;
        lat.download.push(performance.now() - t);
        rmSync(dest, { force: true });
      } else {
        const res = await fetch(`${srv.url}/v1/me/blobs/${hex}`, { headers: { authorization: `Bearer ${u.token}` } });
        const h = createHash('sha256');
        for await (const c of res.body as unknown as AsyncIterable<Uint8Array>) {
          h.update(c);
          bytes += c.length;
        }
        if (h.digest('hex') !== hex) throw new Error('hash');
        lat.blob.push(performance.now() - t);
      }
    } catch {
      errors++;
    }
  }
}

await Promise.all(Array.from({ length: CLIENTS }, (_, n) => client(n)));
const elapsed = (performance.now() - t0) / 1000;

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]! : NaN;
};
const row = (name: string, xs: number[]) =>
  `${name.padEnd(22)} ${String(xs.length).padStart(7)} req  ${(xs.length / elapsed).toFixed(0).padStart(6)} req/s  p50 ${pct(xs, 50).toFixed(1).padStart(7)} ms  p99 ${pct(xs, 99).toFixed(1).padStart(7)} ms`;
console.log(`bench/server.ts: ${CLIENTS} clients, ${USERS} users, ${SECONDS}s, blobs of ${BLOB / 1024} KiB, loopback, node ${process.version}`);
console.log(row('GET /v1/me/snapshots', lat.list));
console.log(row('GET blob (fetch+sha)', lat.blob));
console.log(row('downloadBlob (to disk)', lat.download));
console.log(`throughput: ${(bytes / elapsed / 1024 / 1024).toFixed(1)} MiB/s of blob data, ${((lat.list.length + lat.blob.length + lat.download.length) / elapsed).toFixed(0)} req/s total, ${errors} errors`);

child.stdin!.end();
await new Promise((r) => child.once('exit', r));
rmSync(scratch, { recursive: true, force: true });
