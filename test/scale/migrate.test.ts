/**
 * `serve migrate` (issue 15): a populated home server — SQLite + files, two
 * users, a data v2 capture of real folders, a v1 chain with blobs, a share,
 * a vault, keys, audit, a blob from a multipart form and one stored in the
 * first layout (no object key recorded) — moves to PostgreSQL 15 + Ceph
 * radosgw, and the new server serves it:
 *   - killed during its first run, then run again: it goes on, and verifies
 *     counts and contents; a third run copies nothing;
 *   - a source changed after the copy is refused (migrate_mismatch, exit 1);
 *   - on the new backend, on the old public URL: the refresh token from
 *     before works (sessions and signing keys moved), the lists are the
 *     same, every blob downloads with its hash, the data v2 folder restores
 *     byte-identical (ranged GETs of packs through S3), the share still
 *     holds, and `serve check` finds everything in place.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { capture } from '../../src/capture/index.ts';
import { applyFiles } from '../../src/chroot-appliers/files.ts';
import { resolveTarget } from '../../src/chroot-appliers/target.ts';
import { driveBlobSource } from '../../src/daemon/drive-blobs.ts';
import { AuthSession, type StoredTokens } from '../../src/auth/index.ts';
import { DriveClient } from '../../src/drive/index.ts';
import { generateIdentity, publicIdentity, type Identity } from '../../src/keys/identity.ts';
import { resolveChain, type Manifest } from '../../src/manifest/index.ts';
import { sqliteHandleOf } from '../../src/server/index.ts';
import { SqliteDatabase } from '../../src/server/db/sqlite.ts';
import { applyContext } from '../helpers/apply-context.ts';
import { byteTree } from '../helpers/byte-tree.ts';
import { cephPerFile } from '../helpers/ceph.ts';
import { postgresPerFile } from '../helpers/postgres.ts';
import { freshBucketPrefix, freshDatabase, type TestBackend } from '../helpers/backends.ts';
import { runCli, spawnCli } from '../helpers/cli.ts';
import { testConfig } from '../capture/fixture.ts';
import { loginAs, storedObjects, testServer, type TestServer } from '../server/fixture.ts';
import { blob, manifest, signed } from '../server/manifests.ts';

const postgres = postgresPerFile();
const ceph = cephPerFile();

let base: string;
let old: TestServer;
let port: number;
let pgUrl: string, s3Url: string;
let alice: { tokens: StoredTokens; identity: Identity; id: string };
let bobTokens: StoredTokens;
let v2: { id: string; tree: Record<string, string> };
let v1Ids: string[];
const blobHashes = new Map<string, string>(); // hex → sha256 check value (the same: content-addressed)

beforeAll(async () => {
  base = mkdtempSync(join(tmpdir(), 'koder-migrate-'));
  old = await testServer();
  port = Number(new URL(old.url).port);
  const aliceTokens = await loginAs(old, 'alice');
  bobTokens = await loginAs(old, 'bob');
  const client = new DriveClient({ server: old.url, tokens: aliceTokens.access_token });
  const identity = await generateIdentity();
  await client.putKeys([publicIdentity(identity)]);
  await client.putVault({ version: 1, ciphertext: 'AAAA' });
  alice = { tokens: aliceTokens, identity, id: (await client.me()).id };

  // a data v2 capture of real folders
  const home = join(base, 'home');
  mkdirSync(join(home, 'Documentos', 'cartas'), { recursive: true });
  writeFileSync(join(home, 'Documentos', 'cartas', 'mae.txt'), 'Querida mãe\n');
  writeFileSync(join(home, 'Documentos', 'foto.raw'), randomBytes(3 * 1024 * 1024));
  const config = testConfig(join(base, 'machine'), (c) => {
    c.files.folders = ['~/Documentos'];
    c.snapshot.hostname = 'ana-laptop';
  });
  const r = await capture({ config, home, only: ['files'], client, identity });
  v2 = { id: r.id, tree: byteTree(join(home, 'Documentos')) };

  // a v1 chain, its blobs put one by one, and one more sent in a multipart form
  const b1 = blob(5000), b2 = blob(70_000), b3 = blob(1234);
  for (const b of [b1, b2]) await fetch(`${old.url}/v1/me/blobs/${b.hex}`, { method: 'PUT', headers: { authorization: `Bearer ${aliceTokens.access_token}` }, body: b.bytes });
  const root = signed(manifest({ blobs: [b1.hex, b2.hex] }), identity);
  await client.postManifest(root.text);
  const child = signed(manifest({ blobs: [b3.hex], parent: root.id }), identity);
  await client.postManifestWithBlobs(child.text, [{ name: 'x', data: new Blob([b3.bytes]) }]);
  v1Ids = [root.id, child.id];
  await client.share(child.id, 'bob');
  for (const b of [b1, b2, b3]) blobHashes.set(b.hex, b.hex);

  // one blob as the first layout stored it: <user>/<aa>/<hex>, no key in its row
  const db = sqliteHandleOf(old);
  const row = db.prepare('SELECT object FROM blobs WHERE user_id = ? AND hash = ?').get(alice.id, b1.hex) as { object: string };
  renameSync(join(old.dataDir, 'blobs', row.object), join(old.dataDir, 'blobs', alice.id, b1.hex.slice(0, 2), b1.hex));
  db.prepare('UPDATE blobs SET object = NULL WHERE user_id = ? AND hash = ?').run(alice.id, b1.hex);
  expect((await fetch(`${old.url}/v1/me/blobs/${b1.hex}`, { headers: { authorization: `Bearer ${aliceTokens.access_token}` } })).status).toBe(200);

  await old.close(); // the servers are stopped for a migration
  pgUrl = await freshDatabase(postgres());
  s3Url = freshBucketPrefix(ceph());
}, 180_000);

afterAll(async () => {
  if (base) rmSync(base, { recursive: true, force: true });
  if (old) rmSync(old.dataDir, { recursive: true, force: true });
});

const migrateArgs = () => ['serve', 'migrate', '--from', `sqlite:${join(old.dataDir, 'koder.sqlite')}`, '--to', pgUrl, '--blobs-from', `file:${join(old.dataDir, 'blobs')}`, '--blobs-to', s3Url];

describe('serve migrate, SQLite + files → PostgreSQL + S3', () => {
  it('killed in its first run, run again: goes on, verifies counts and contents; a third run copies nothing', async () => {
    const env = { ...process.env };
    const first = await spawnCli(migrateArgs(), { env, killWhen: (out) => /^keys: /m.test(out) });
    expect(first.signal).toBe('SIGKILL');
    expect(first.stdout).toMatch(/^users: 2 row\(s\), 2 new$/m);
    expect(first.stdout).not.toMatch(/^verified/m);
    // as if killed between a blob's object and its row: the object is there, the row not
    const { openObjectStore } = await import('../../src/server/objects/open.ts');
    const { Readable } = await import('node:stream');
    const target = openObjectStore(s3Url);
    const src = new SqliteDatabase(join(old.dataDir, 'koder.sqlite'));
    const row = (await src.get<{ object: string; size: number }>("SELECT object, size FROM blobs WHERE object LIKE '%/up/%'"))!;
    await src.close();
    await target.put(row.object, Readable.from([Buffer.alloc(row.size, 7)]), row.size); // half-written: not even the right bytes
    await target.close();

    const second = await runCli(migrateArgs());
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toMatch(/^users: 2 row\(s\), 0 new$/m);
    expect(second.stdout).toMatch(/^blobs: \d+ row\(s\) so far, \d+ object\(s\) copied and verified/m);
    expect(second.stdout).toMatch(/^verified: 10 tables have the same row counts and contents on both sides$/m);

    const third = await runCli(migrateArgs());
    expect(third.code, third.stderr).toBe(0);
    expect(third.stdout).toMatch(/, 0 object\(s\) copied and verified/);
    expect(third.stdout).toMatch(/^snapshots: 3 row\(s\), 0 new$/m);
  }, 120_000);

  it('a source that changed after the copy is refused: exit 1, naming the table', async () => {
    const src = new SqliteDatabase(join(old.dataDir, 'koder.sqlite'));
    const before = (await src.get<{ doc: string }>('SELECT doc FROM vaults WHERE user_id = ?', [alice.id]))!.doc;
    await src.run('UPDATE vaults SET doc = ? WHERE user_id = ?', ['{"version":1,"ciphertext":"CHANGED"}', alice.id]);
    try {
      const r = await runCli(migrateArgs());
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/vaults: 1 row\(s\) on both sides, but their contents differ/);
    } finally {
      await src.run('UPDATE vaults SET doc = ? WHERE user_id = ?', [before, alice.id]);
      await src.close();
    }
  });

  describe('the new server, on PostgreSQL + S3 at the old public URL', () => {
    let srv: TestServer;
    let aliceClient: DriveClient;
    beforeAll(async () => {
      const backend: TestBackend = { name: 'postgres+s3', fresh: async () => ({ db: pgUrl, blobs: s3Url }) };
      srv = await testServer({ backend, port });
      expect(srv.url).toBe(old.url);
    });
    afterAll(() => srv?.cleanup());

    it("takes the refresh token from before; lists the same; every blob downloads with its hash", async () => {
      const session = new AuthSession(alice.tokens, { persist: false });
      await session.refresh();
      const fresh = session.tokens;
      expect(fresh.access_token).not.toBe(alice.tokens.access_token);
      aliceClient = new DriveClient({ server: srv.url, tokens: fresh.access_token });
      expect((await aliceClient.me()).id).toBe(alice.id);
      expect((await aliceClient.listSnapshots()).map((s) => s.id).sort()).toEqual([v2.id, ...v1Ids].sort());
      const dir = join(base, 'downloads');
      for (const hex of blobHashes.keys()) {
        const d = await aliceClient.downloadBlob(hex, join(dir, hex));
        expect(d.size).toBeGreaterThan(0);
      }
      const listed = (await aliceClient.listBlobs()).blobs;
      expect(listed.length).toBeGreaterThan(3);
      for (const b of listed) {
        const r = await fetch(`${srv.url}/v1/me/blobs/${b.hash}`, { headers: { authorization: `Bearer ${fresh.access_token}` } });
        expect(createHash('sha256').update(Buffer.from(await r.arrayBuffer())).digest('hex')).toBe(b.hash);
      }
      // every object in the bucket is one a row names (nothing doubled, nothing left over)
      expect((await storedObjects(srv, `${alice.id}/`)).length).toBe(listed.length);
    });

    it('restores the data v2 folder byte-identical; bob still reads what was shared with him', async () => {
      const m = await folded(aliceClient, v2.id);
      const root = join(base, 'target');
      mkdirSync(join(root, 'etc'), { recursive: true });
      mkdirSync(join(root, 'home', 'ana'), { recursive: true });
      writeFileSync(join(root, 'etc', 'passwd'), `ana:x:${process.getuid!()}:${process.getgid!()}::/home/ana:/bin/sh\n`);
      const ctx = applyContext({
        target: await resolveTarget(root, 'ana'),
        manifest: m,
        choice: { snapshotId: v2.id, categories: ['files'] },
        blobs: driveBlobSource(aliceClient),
        identity: alice.identity,
      });
      for (const step of ctx.plan.steps.filter((s) => s.kind === 'files.restore')) expect((await applyFiles(step, ctx, () => {})).status).toBe('done');
      expect(byteTree(join(root, 'home', 'ana', 'Documentos'))).toEqual(v2.tree);

      const bobSession = new AuthSession(bobTokens, { persist: false });
      await bobSession.refresh();
      const bob = new DriveClient({ server: srv.url, tokens: bobSession.tokens.access_token });
      expect((await bob.sharedWithMe()).map((s) => s.id)).toEqual([v1Ids[1]]);
      expect(await bob.getManifest(v1Ids[0]!, alice.id)).toBe(await aliceClient.getManifest(v1Ids[0]!));
    });

    it('serve check on the new backend: every blob in place with its hash, no orphan', async () => {
      const r = await runCli(['serve', 'check', '--db', pgUrl, '--blobs', s3Url]);
      expect(r.code, r.stdout).toBe(0);
      expect(r.stdout).toMatch(/^ok: \d+ blob\(s\) as the database says; 0 orphan\(s\), 0 unfinished$/m);
    });
  });
});

async function folded(c: DriveClient, id: string): Promise<Manifest> {
  return (await resolveChain(id, (x) => c.getManifest(x), (await c.getKeys()).map((k) => new Uint8Array(Buffer.from(k.ed25519, 'base64'))))).folded;
}
