/**
 * Stateless `serve` processes on one PostgreSQL 15 + one Ceph radosgw bucket
 * (issue 15), each a real child process (`koder-snapshot serve --db … --blobs
 * …`) unless the test needs to move a clock:
 *   - a device flow started on A is approved through B's pages and polled
 *     on C; the token works on all three, a refresh on B too;
 *   - a blob PUT on A is read (ranged) on B; the same blob PUT on two
 *     processes at once is stored once (201 + 200, one object);
 *   - two processes running maintenance at once (erasures due, orphan GC)
 *     each erase a user once, and leave no row and no object behind;
 *   - two uploads through two processes cannot overshoot a quota together;
 *   - a process SIGKILLed mid-upload (one streaming PUT, or a multipart
 *     upload of a body without length) leaves no blob anyone can see: no
 *     row, no object; the multipart upload left open is listed by
 *     `serve check`.
 */
import { createHash, randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cephPerFile } from '../helpers/ceph.ts';
import { postgresPerFile } from '../helpers/postgres.ts';
import { freshBucketPrefix, freshDatabase } from '../helpers/backends.ts';
import { startServeProcess, type ServeProcess } from '../helpers/serve-process.ts';
import { approveDevice } from '../server/browser.ts';
import { loginAs, storedObjects, testServer, unfinishedWrites, type TestServer } from '../server/fixture.ts';
import { blob } from '../server/manifests.ts';
import { CLIENT_ID, ManualClock } from '../../src/server/index.ts';
import { runCli } from '../helpers/cli.ts';
import type { TestBackend } from '../helpers/backends.ts';

const postgres = postgresPerFile();
const ceph = cephPerFile();

const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
const form = (url: string, fields: Record<string, string>) =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields).toString() });
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

describe('three serve processes on one PostgreSQL and one bucket', () => {
  let db: string, blobs: string;
  let procs: ServeProcess[] = [];
  let token: string;
  const issuer = 'http://127.0.0.1:8470'; // the balancer's URL in production; every process says the same

  beforeAll(async () => {
    db = await freshDatabase(postgres());
    blobs = freshBucketPrefix(ceph());
    // the first start creates the schema and the signing keys; the others start together on top of it
    procs = [await startServeProcess({ db, blobs, issuer })];
    procs.push(...(await Promise.all([startServeProcess({ db, blobs, issuer }), startServeProcess({ db, blobs, issuer })])));
    expect((await runCli(['serve', 'user', 'add', 'ana', '--password-stdin', '--db', db], 'ana-password-1\n')).code).toBe(0);
  }, 120_000);
  afterAll(async () => {
    await Promise.all(procs.map((p) => p.stop()));
  });

  it('a device flow started on A, approved through B, polled on C: the token works on all three', async () => {
    const [a, b, c] = procs as [ServeProcess, ServeProcess, ServeProcess];
    const start = await form(`${a.url}/device/auth`, { client_id: CLIENT_ID, scope: 'openid profile offline_access snapshots' });
    expect(start.status).toBe(200);
    const dev = (await start.json()) as { device_code: string; verification_uri_complete: string };
    const poll = () => form(`${c.url}/token`, { grant_type: DEVICE_GRANT, device_code: dev.device_code, client_id: CLIENT_ID });
    // not yet approved: C knows the code A made
    expect(await (await poll()).json()).toMatchObject({ error: 'authorization_pending' });
    await approveDevice(dev.verification_uri_complete, 'ana', 'ana-password-1', { via: b.url });
    let tokens: { access_token?: string; refresh_token?: string; error?: string } = {};
    for (let i = 0; i < 50 && !tokens.access_token; i++) {
      tokens = (await (await poll()).json()) as typeof tokens;
      if (tokens.error === 'slow_down' || tokens.error === 'authorization_pending') await new Promise((r) => setTimeout(r, 200));
    }
    expect(tokens.access_token, JSON.stringify(tokens)).toBeTruthy();
    token = tokens.access_token!;
    for (const p of procs) {
      const me = await fetch(`${p.url}/v1/me`, { headers: bearer(token) });
      expect(me.status, p.url).toBe(200);
      expect(await me.json()).toMatchObject({ name: 'ana' });
    }
    // the refresh token (made on C) is good on B; the rotated one on A
    const r1 = (await (await form(`${b.url}/token`, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token!, client_id: CLIENT_ID })).json()) as typeof tokens;
    expect(r1.access_token).toBeTruthy();
    const r2 = await form(`${a.url}/token`, { grant_type: 'refresh_token', refresh_token: r1.refresh_token!, client_id: CLIENT_ID });
    expect(r2.status).toBe(200);
    // the login was audited once, whichever process took the form
    const audit = (await (await fetch(`${c.url}/v1/me/audit`, { headers: bearer(token) })).json()) as { entries: { action: string }[] };
    expect(audit.entries.filter((e) => e.action === 'login')).toHaveLength(1);
  });

  it('a blob PUT on A is read, whole and ranged, on B; one blob PUT on two processes at once is stored once', async () => {
    const [a, b, c] = procs as [ServeProcess, ServeProcess, ServeProcess];
    const x = blob(3 * 1024 * 1024 + 17);
    const put = (p: ServeProcess, bytes: Buffer) => fetch(`${p.url}/v1/me/blobs/${x.hex}`, { method: 'PUT', headers: bearer(token), body: bytes as unknown as BodyInit });
    expect((await put(a, x.bytes)).status).toBe(201);
    const whole = await fetch(`${b.url}/v1/me/blobs/${x.hex}`, { headers: bearer(token) });
    expect(Buffer.from(await whole.arrayBuffer()).equals(x.bytes)).toBe(true);
    const part = await fetch(`${b.url}/v1/me/blobs/${x.hex}`, { headers: { ...bearer(token), range: 'bytes=1048570-1048589' } });
    expect(part.status).toBe(206);
    expect(Buffer.from(await part.arrayBuffer()).equals(x.bytes.subarray(1048570, 1048590))).toBe(true);

    const y = blob(2 * 1024 * 1024);
    const both = await Promise.all([b, c].map((p) => fetch(`${p.url}/v1/me/blobs/${y.hex}`, { method: 'PUT', headers: bearer(token), body: y.bytes as unknown as BodyInit })));
    expect(both.map((r) => r.status).sort()).toEqual([200, 201]);
    const me = (await (await fetch(`${a.url}/v1/me`, { headers: bearer(token) })).json()) as { id: string };
    const server = await testServer({ backend: fixed(db, blobs) });
    try {
      const keys = (await storedObjects(server, `${me.id}/`)).map((o) => o.key);
      expect(keys.filter((k) => k.endsWith(y.hex))).toHaveLength(1);
      expect(keys.filter((k) => k.endsWith(x.hex))).toHaveLength(1);
    } finally {
      await server.cleanup();
    }
  });

  it('a process SIGKILLed mid-upload leaves no blob anyone can see (one streaming PUT; a multipart upload, listed by serve check)', async () => {
    const me = (await (await fetch(`${procs[0]!.url}/v1/me`, { headers: bearer(token) })).json()) as { id: string };
    const victimBytes = randomBytes(40 * 1024 * 1024);
    const hex = createHash('sha256').update(victimBytes).digest('hex');
    for (const withLength of [true, false]) {
      const victim = await startServeProcess({ db, blobs, issuer });
      await sendThenKill(victim, `/v1/me/blobs/${hex}`, token, victimBytes, withLength ? 12 * 1024 * 1024 : 20 * 1024 * 1024, withLength);
      for (const p of procs) expect((await fetch(`${p.url}/v1/me/blobs/${hex}`, { method: 'HEAD', headers: bearer(token) })).status, p.url).toBe(404);
    }
    const server = await testServer({ backend: fixed(db, blobs) });
    try {
      expect(await server.db.all('SELECT hash FROM blobs WHERE user_id = ? AND hash = ?', [me.id, hex])).toEqual([]);
      expect((await storedObjects(server, `${me.id}/`)).filter((o) => o.key.endsWith(hex))).toEqual([]);
      // the body without a length went as a multipart upload: left open by the kill, invisible, listed
      const open = await unfinishedWrites(server);
      expect(open.filter((k) => k.endsWith(hex))).toHaveLength(1);
    } finally {
      await server.cleanup();
    }
    const check = await runCli(['serve', 'check', '--db', db, '--blobs', blobs]);
    expect(check.code, check.stderr).toBe(0);
    expect(check.stdout).toMatch(new RegExp(`unfinished upload .*${hex}`));
    expect(check.stdout).toMatch(/^ok: 2 blob\(s\) as the database says/m);
  }, 120_000);
});

describe('two processes at once: maintenance, quota', () => {
  const clock = new ManualClock(Date.UTC(2026, 6, 1));
  let a: TestServer, b: TestServer;
  const logged: string[] = [];

  beforeAll(async () => {
    const backend = fixed(await freshDatabase(postgres()), freshBucketPrefix(ceph()));
    a = await testServer({ backend, clock, quotaBytes: 10_000, log: (l) => logged.push(l) });
    // one public URL for both (a balancer's, in production): tokens name it as their issuer
    b = await testServer({ backend, clock, quotaBytes: 10_000, log: (l) => logged.push(l), issuer: a.url });
  });
  afterAll(async () => {
    await a?.cleanup();
    await b?.cleanup();
  });

  it('erasures due and orphan blobs: both run maintenance together, each user is erased once, nothing is left', async () => {
    const users: { id: string; token: string }[] = [];
    for (const name of ['u1', 'u2', 'u3', 'u4']) {
      const t = (await loginAs(a, name)).access_token;
      const id = ((await (await fetch(`${a.url}/v1/me`, { headers: bearer(t) })).json()) as { id: string }).id;
      users.push({ id, token: t });
      for (let i = 0; i < 3; i++) {
        const x = blob(1000 + i);
        expect((await fetch(`${(i % 2 ? a : b).url}/v1/me/blobs/${x.hex}`, { method: 'PUT', headers: bearer(t), body: x.bytes })).status).toBe(201);
      }
      expect((await fetch(`${b.url}/v1/me`, { method: 'DELETE', headers: bearer(t) })).status).toBe(202);
    }
    // u4 cancels: kept, but its blobs (no manifest) are orphans once old
    expect((await fetch(`${a.url}/v1/me/cancel-erasure`, { method: 'POST', headers: bearer(users[3]!.token) })).status).toBe(200);
    clock.advance(25 * 3600_000);
    const reports = await Promise.all([a.maintenance(), b.maintenance(), a.maintenance(), b.maintenance()]);
    expect(logged).toEqual([]);
    // each user erased by exactly one of them
    expect(reports.flatMap((r) => r.erased).sort()).toEqual(users.slice(0, 3).map((u) => u.id).sort());
    expect(reports.some((r) => r.swept)).toBe(true);
    expect((await a.db.all<{ id: string }>('SELECT id FROM users')).map((r) => r.id)).toEqual([users[3]!.id]);
    for (const u of users.slice(0, 3)) {
      expect(await storedObjects(a, `${u.id}/`)).toEqual([]);
      for (const t of ['blobs', 'audit', 'oidc', 'keys']) {
        const col = t === 'oidc' ? 'account_id' : 'user_id';
        expect(await a.db.all(`SELECT 1 AS x FROM ${t} WHERE ${col} = ?`, [u.id]), t).toEqual([]);
      }
    }
    // u4's orphans went with the GC (one process ran it)
    expect(await a.db.all('SELECT hash FROM blobs WHERE user_id = ?', [users[3]!.id])).toEqual([]);
    expect(await storedObjects(a, `${users[3]!.id}/`)).toEqual([]);
  });

  it('two uploads through two processes cannot overshoot the quota together', async () => {
    const t = (await loginAs(a, 'q1')).access_token;
    const x = blob(6000), y = blob(6000);
    // both bodies are held half-sent until both requests are in: their reservations overlap in time
    const [rx, ry] = await Promise.all([slowPut(a.url, x, t), slowPut(b.url, y, t)]);
    expect([rx.status, ry.status].sort()).toEqual([201, 413]);
    const me = (await (await fetch(`${b.url}/v1/me`, { headers: bearer(t) })).json()) as { usage: { used: number } };
    expect(me.usage.used).toBe(6000);
  });
});

/** A backend that is always the same database and blob store (several servers on it). */
function fixed(db: string, blobs: string): TestBackend {
  return { name: 'postgres+s3', fresh: async () => ({ db, blobs }) };
}

/** PUT `bytes` to a process, `killAt` bytes of it, then SIGKILL the process; resolves when it is gone. */
async function sendThenKill(p: ServeProcess, path: string, token: string, bytes: Buffer, killAt: number, withLength: boolean): Promise<void> {
  const req = request(`${p.url}${path}`, { method: 'PUT', headers: { ...bearer(token), ...(withLength ? { 'content-length': String(bytes.length) } : {}) } });
  req.on('error', () => {});
  const step = 256 * 1024;
  let refused = false;
  req.once('response', (res) => {
    refused = true;
    res.resume();
  });
  for (let i = 0; i < killAt && !refused; i += step) {
    if (!req.write(bytes.subarray(i, i + step))) await new Promise((r) => setTimeout(r, 10_000).unref() && req.once('drain', r));
  }
  if (refused) throw new Error('the server answered before the kill');
  // let the server push what it has toward the store, then the crash
  await new Promise((r) => setTimeout(r, 500));
  await p.kill();
  req.destroy();
}

/** PUT with Content-Length: half the body, a pause, the rest. */
function slowPut(base: string, b: { hex: string; bytes: Buffer }, token: string): Promise<{ status: number }> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}/v1/me/blobs/${b.hex}`, { method: 'PUT', headers: { ...bearer(token), 'content-length': String(b.bytes.length) } }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0 }));
    });
    req.on('error', reject);
    req.write(b.bytes.subarray(0, 3000));
    setTimeout(() => req.end(b.bytes.subarray(3000)), 300);
  });
}

