/**
 * The /v1 API on a real server (127.0.0.1), users logged in through the real
 * device flow: tenancy (404 never 403), sharing (read-only), manifest
 * verification on POST, blob integrity, quotas, vault, audit. On either
 * storage backend (api.test.ts: SQLite + files; test/scale: PostgreSQL + S3).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SignJWT, generateKeyPair } from 'jose';
import { DriveClient, DriveError } from '../../src/drive/index.ts';
import { ManualClock } from '../../src/server/index.ts';
import { testServer, loginAs, settledUnfinished, storedBlobHexes, storedObjects, type TestServer } from './fixture.ts';
import type { TestBackend } from '../helpers/backends.ts';
import { blob, generateIdentity, manifest, publicIdentity, signed, type Identity } from './manifests.ts';

export function apiSuite(backend: () => TestBackend): void {
  let srv: TestServer;
  let alice: DriveClient, bob: DriveClient;
  let aliceId: string, bobId: string;
  let aliceKey: Identity, bobKey: Identity;
  let aliceToken: string, bobToken: string;
  const clock = new ManualClock(Date.UTC(2026, 4, 1));

  // alice's objects: root ← child (shared with bob later), and root2 (never shared)
  const b1 = blob(3000), b2 = blob(500), b3 = blob(700), bOnlyRoot2 = blob(100);
  let root: { text: string; id: string }, child: { text: string; id: string }, root2: { text: string; id: string };

  beforeAll(async () => {
    srv = await testServer({ clock, backend: backend() });
    const [ta, tb] = await Promise.all([loginAs(srv, 'alice'), loginAs(srv, 'bob')]);
    aliceToken = ta.access_token;
    bobToken = tb.access_token;
    alice = new DriveClient({ server: srv.url, tokens: aliceToken });
    bob = new DriveClient({ server: srv.url, tokens: bobToken });
    aliceId = (await alice.me()).id;
    bobId = (await bob.me()).id;
    [aliceKey, bobKey] = await Promise.all([generateIdentity(), generateIdentity()]);
    await alice.putKeys([publicIdentity(aliceKey)]);
    await bob.putKeys([publicIdentity(bobKey)]);
    for (const b of [b1, b2, b3, bOnlyRoot2]) await put(aliceToken, b.hex, b.bytes);
    root = signed(manifest({ blobs: [b1.hex, b2.hex] }), aliceKey);
    child = signed(manifest({ blobs: [b2.hex, b3.hex], parent: root.id }), aliceKey);
    root2 = signed(manifest({ blobs: [bOnlyRoot2.hex] }), aliceKey);
    for (const m of [root, child, root2]) await alice.postManifest(m.text);
  });
  afterAll(() => srv.cleanup());

  function put(token: string, hex: string, bytes: Buffer<ArrayBuffer>) {
    return fetch(`${srv.url}/v1/me/blobs/${hex}`, { method: 'PUT', headers: { authorization: `Bearer ${token}` }, body: bytes });
  }
  function call(token: string | undefined, method: string, path: string, body?: string) {
    return fetch(`${srv.url}${path}`, {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body ? { 'content-type': 'application/json' } : {}) },
      body,
    });
  }
  const blobFiles = (userId: string) => storedBlobHexes(srv, userId);

  describe('manifests', () => {
    it('lists with hostname, created_at, parent, depth and sizes', async () => {
      const list = await alice.listSnapshots();
      expect(list.map((s) => s.id).sort()).toEqual([root.id, child.id, root2.id].sort());
      const c = list.find((s) => s.id === child.id)!;
      expect(c).toMatchObject({ parent: root.id, depth: 2, blob_count: 2, blobs_size: 500 + 700, key_id: aliceKey.keyId });
      expect(c.manifest_size).toBe(Buffer.byteLength(child.text));
      expect(list.find((s) => s.id === root.id)).toMatchObject({ parent: null, depth: 1 });
      expect(await alice.getManifest(child.id)).toBe(child.text);
    });

    it('posting the same manifest again is a no-op', async () => {
      const again = await alice.postManifest(root.text);
      expect(again).toMatchObject({ id: root.id, created: false });
    });

    it('refuses unsigned, wrongly signed, tampered, orphan, foreign-parent and incomplete manifests', async () => {
      const expectRefusal = async (p: Promise<unknown>, status: number, code: string) => {
        const e = (await p.then(() => undefined, (x: unknown) => x)) as DriveError;
        expect(e, code).toBeInstanceOf(DriveError);
        expect({ status: e.status, code: e.code }).toEqual({ status, code });
      };
      const m = manifest({ blobs: [b1.hex] });
      const { serialize } = await import('../../src/manifest/index.ts');
      await expectRefusal(alice.postManifest(serialize(m)), 422, 'signature_unsigned');
      await expectRefusal(alice.postManifest(signed(m, bobKey).text), 422, 'signature_unknown_key');
      const tampered = signed(m, aliceKey).text.replace(/hostname = "([^"]+)"/, 'hostname = "evil-host"');
      await expectRefusal(alice.postManifest(tampered), 422, 'signature_bad_signature');
      await expectRefusal(alice.postManifest(signed(manifest({ parent: 'a'.repeat(64) }), aliceKey).text), 422, 'parent_not_found');
      // bob names alice's snapshot as parent, signed with his own key: not his, so refused
      await expectRefusal(bob.postManifest(signed(manifest({ parent: root.id }), bobKey).text), 422, 'parent_not_found');
      // a blob bob never uploaded (alice has it: that does not count)
      await expectRefusal(bob.postManifest(signed(manifest({ blobs: [b1.hex] }), bobKey).text), 422, 'missing_blobs');
      await expectRefusal(alice.postManifest('[snapshot]\nversion = 1\nhostname = 3\n'), 400, 'manifest_parse');
      expect((await bob.listSnapshots()).length).toBe(0);
    });

    it('accepts the multipart form: manifest + blob files in one request', async () => {
      const x = blob(2048), y = blob(10);
      const s = signed(manifest({ blobs: [x.hex, y.hex] }), bobKey);
      const r = await bob.postManifestWithBlobs(s.text, [
        { name: `${x.hex}.tar.zst`, data: new Blob([x.bytes]) },
        { name: `${y.hex}.tar.zst`, data: new Blob([y.bytes]) },
      ]);
      expect(r).toMatchObject({ id: s.id, created: true, blob_count: 2, blobs_size: 2058 });
      expect(r.blobs?.map((b) => b.address).sort()).toEqual([`sha256:${x.hex}`, `sha256:${y.hex}`].sort());
      await bob.deleteSnapshot(s.id);
    });
  });

  describe('blobs', () => {
    it('refuses a body whose sha256 is not its address, and stores nothing', async () => {
      const before = await blobFiles(bobId);
      const wrong = blob(4096);
      const r = await put(bobToken, 'f'.repeat(64), wrong.bytes);
      expect(r.status).toBe(422);
      expect(((await r.json()) as { error: { code: string } }).error.code).toBe('hash_mismatch');
      expect(await blobFiles(bobId)).toEqual(before);
      expect(await settledUnfinished(srv)).toEqual([]);
      expect(await bob.headBlob('f'.repeat(64))).toBeUndefined();
      expect(await bob.headBlob(wrong.hex)).toBeUndefined();
    });

    // every upload writes a new object under a new key: an unchanged listing means nothing was written
    it('a repeated PUT of a stored blob writes nothing', async () => {
      const before = await storedObjects(srv, `${aliceId}/`);
      const r = await put(aliceToken, b1.hex, b1.bytes);
      expect(r.status).toBe(200);
      expect(await r.json()).toMatchObject({ created: false, size: 3000 });
      expect(await storedObjects(srv, `${aliceId}/`)).toEqual(before);
    });

    it("other bytes PUT to a stored blob's address are refused (422 hash_mismatch), not taken for a repeat", async () => {
      const before = await storedObjects(srv, `${aliceId}/`);
      for (const other of [blob(3000).bytes, Buffer.alloc(0), b1.bytes.subarray(0, 2999)]) {
        const r = await put(aliceToken, b1.hex, other);
        expect(r.status).toBe(422);
        expect(await r.json()).toMatchObject({ error: { code: 'hash_mismatch', expected: b1.hex } });
      }
      expect(await storedObjects(srv, `${aliceId}/`)).toEqual(before);
      expect(before.filter((o) => o.key.endsWith(b1.hex)).map((o) => o.size)).toEqual([3000]);
      expect(await settledUnfinished(srv)).toEqual([]);
    });

    it('serves single ranges (206) and refuses unsatisfiable ones (416)', async () => {
      const get = (range?: string) => fetch(`${srv.url}/v1/me/blobs/${b1.hex}`, { headers: { authorization: `Bearer ${aliceToken}`, ...(range ? { range } : {}) } });
      let r = await get('bytes=10-19');
      expect(r.status).toBe(206);
      expect(r.headers.get('content-range')).toBe('bytes 10-19/3000');
      expect(Buffer.from(await r.arrayBuffer())).toEqual(b1.bytes.subarray(10, 20));
      r = await get('bytes=-5');
      expect(Buffer.from(await r.arrayBuffer())).toEqual(b1.bytes.subarray(2995));
      r = await get('bytes=2990-');
      expect(Buffer.from(await r.arrayBuffer())).toEqual(b1.bytes.subarray(2990));
      r = await get('bytes=3000-');
      expect(r.status).toBe(416);
      expect(r.headers.get('content-range')).toBe('bytes */3000');
      r = await get();
      expect(r.status).toBe(200);
      expect(r.headers.get('accept-ranges')).toBe('bytes');
      expect(Buffer.from(await r.arrayBuffer())).toEqual(b1.bytes);
    });
  });

  describe('tenancy: another user is told "not found", never "forbidden"', () => {
    const aliceRoutes = () => [
      ['GET', `/v1/me/snapshots/${root.id}`],
      ['HEAD', `/v1/me/snapshots/${root.id}`],
      ['DELETE', `/v1/me/snapshots/${root.id}`],
      ['DELETE', `/v1/me/snapshots/${root.id}?cascade=true`],
      ['GET', `/v1/me/snapshots/${root.id}/shares`],
      ['POST', `/v1/snapshots/${root.id}/share`, JSON.stringify({ user: 'bob' })],
      ['DELETE', `/v1/snapshots/${root.id}/share/bob`],
      ['GET', `/v1/me/blobs/${b1.hex}`],
      ['HEAD', `/v1/me/blobs/${b1.hex}`],
      ['GET', `/v1/users/${aliceId}/snapshots/${root.id}`],
      ['GET', `/v1/users/${aliceId}/snapshots/${child.id}`],
      ['GET', `/v1/users/${aliceId}/blobs/${b1.hex}`],
      ['HEAD', `/v1/users/${aliceId}/blobs/${b1.hex}`],
      ['GET', `/v1/users/${aliceId}/keys`],
      ['GET', `/v1/users/${aliceId}/snapshots/${root.id}/share-keys`],
    ] as const;

    it('before any share: 404 on every route', async () => {
      for (const [method, path, body] of aliceRoutes()) {
        const r = await call(bobToken, method, path, body);
        expect(r.status, `${method} ${path}`).toBe(404);
      }
      expect((await bob.listSnapshots()).map((s) => s.id)).not.toContain(root.id);
      expect(await bob.sharedWithMe()).toEqual([]);
    });

    it('unauthenticated: 401 on every route, with a Bearer challenge', async () => {
      const all = [
        ...aliceRoutes(),
        ['GET', '/v1/me'],
        ['DELETE', '/v1/me'],
        ['POST', '/v1/me/cancel-erasure'],
        ['GET', '/v1/me/audit'],
        ['GET', '/v1/me/snapshots'],
        ['POST', '/v1/me/snapshots', root.text],
        ['GET', '/v1/me/shared'],
        ['GET', '/v1/me/keys'],
        ['PUT', '/v1/me/keys', '[]'],
        ['GET', '/v1/me/vault'],
        ['PUT', '/v1/me/vault', '{}'],
        ['PUT', `/v1/me/blobs/${b1.hex}`, 'x'],
        ['GET', '/v1/me/blobs'],
        ['POST', '/v1/me/packs/rewrite', JSON.stringify({ remove: [b1.hex], add: [] })],
        ['GET', '/v1/directory/alice'],
      ] as const;
      const forged = await new SignJWT({ scope: 'openid snapshots' })
        .setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt' })
        .setIssuer(srv.url)
        .setAudience(`${srv.url}/v1`)
        .setSubject(aliceId)
        .setExpirationTime('5m')
        .sign((await generateKeyPair('EdDSA')).privateKey);
      for (const token of [undefined, 'garbage', forged]) {
        for (const [method, path, body] of all) {
          const r = await call(token, method, path, body);
          expect(r.status, `${method} ${path} with ${token?.slice(0, 8)}`).toBe(401);
          expect(r.headers.get('www-authenticate')).toMatch(/^Bearer/);
        }
      }
    });

    it('after a share: the chain and its blobs are readable, nothing is writable', async () => {
      expect(await alice.share(child.id, 'bob')).toMatchObject({ created: true });
      const shared = await bob.sharedWithMe();
      expect(shared.map((s) => [s.id, s.owner_name])).toEqual([[child.id, 'alice']]);
      // read: the shared snapshot, its parent, their blobs, alice's public keys
      expect(await bob.getManifest(child.id, aliceId)).toBe(child.text);
      expect(await bob.getManifest(root.id, aliceId)).toBe(root.text);
      for (const b of [b1, b2, b3]) expect(await bob.headBlob(b.hex, aliceId)).toBe(b.bytes.length);
      expect((await bob.getKeys(aliceId)).map((k) => k.key_id)).toEqual([aliceKey.keyId]);
      // not shared: root2 and its blob
      for (const [m, p] of [
        ['GET', `/v1/users/${aliceId}/snapshots/${root2.id}`],
        ['GET', `/v1/users/${aliceId}/blobs/${bOnlyRoot2.hex}`],
      ] as const) expect((await call(bobToken, m, p)).status).toBe(404);
      // write or owner-only routes stay 404
      for (const [method, path, body] of aliceRoutes().filter(([, p]) => !p.startsWith('/v1/users/'))) {
        expect((await call(bobToken, method, path, body)).status, `${method} ${path}`).toBe(404);
      }
      expect((await call(bobToken, 'POST', `/v1/snapshots/${child.id}/share`, JSON.stringify({ user: 'carol' }))).status).toBe(404);
      expect((await call(bobToken, 'DELETE', `/v1/me/snapshots/${child.id}`)).status).toBe(404);
      expect((await alice.listSnapshots()).length).toBe(3);
      expect((await alice.sharesOf(child.id)).map((s) => s.user)).toEqual(['bob']);
    });
  });

  describe('blob listing, share keys, the directory', () => {
    it('GET /v1/me/blobs: my blobs only, in address order, paged by `after`; a bad `after` or `limit` is a 400', async () => {
      const mine = [b1, b2, b3, bOnlyRoot2].map((b) => ({ hash: b.hex, size: b.bytes.length })).sort((x, y) => (x.hash < y.hash ? -1 : 1));
      const all = (await alice.listBlobs()).blobs;
      expect(all).toEqual(mine);
      const first = (await (await call(aliceToken, 'GET', '/v1/me/blobs?limit=3')).json()) as { blobs: { hash: string }[]; next?: string };
      expect(first.blobs.map((b) => b.hash)).toEqual(mine.slice(0, 3).map((b) => b.hash));
      expect(first.next).toBe(mine[2]!.hash);
      const rest = (await (await call(aliceToken, 'GET', `/v1/me/blobs?after=${first.next}&limit=3`)).json()) as { blobs: { hash: string }[]; next?: string };
      expect(rest).toEqual({ blobs: mine.slice(3) });
      expect((await bob.listBlobs()).blobs.map((b) => b.hash)).not.toContain(b1.hex);
      for (const q of ['after=zz', 'after=' + 'A'.repeat(64), 'limit=0', 'limit=-1', 'limit=abc']) expect((await call(aliceToken, 'GET', `/v1/me/blobs?${q}`)).status, q).toBe(400);
    });

    it('a share carries keys for its grantee only; the directory gives a user\'s public keys', async () => {
      const keys = Buffer.alloc(96, 7).toString('base64');
      const r = await call(aliceToken, 'POST', `/v1/snapshots/${root2.id}/share`, JSON.stringify({ user: 'bob', keys }));
      expect(r.status).toBe(201);
      try {
        expect(await bob.shareKeys(aliceId, root2.id)).toBe(keys);
        // not the grantee, or no keys in that share, or not a share: 404
        expect((await call(aliceToken, 'GET', `/v1/users/${aliceId}/snapshots/${root2.id}/share-keys`)).status).toBe(404);
        expect((await call(bobToken, 'GET', `/v1/users/${aliceId}/snapshots/${child.id}/share-keys`)).status).toBe(404);
        expect((await call(bobToken, 'GET', `/v1/users/${aliceId}/snapshots/${root.id}/share-keys`)).status).toBe(404);
        const dir = (await (await call(bobToken, 'GET', '/v1/directory/alice')).json()) as { user_id: string; keys: { key_id: string }[] };
        expect(dir).toMatchObject({ user_id: aliceId, keys: [{ key_id: aliceKey.keyId }] });
        expect((await call(bobToken, 'GET', '/v1/directory/nobody')).status).toBe(404);
        expect((await call(bobToken, 'GET', '/v1/directory/%00')).status).toBe(404);
        // a NUL anywhere a text reaches the database: refused the same way on both engines
        expect((await call(bobToken, 'GET', `/v1/users/${aliceId}%00/keys`)).status).toBe(400);
      } finally {
        expect((await call(aliceToken, 'DELETE', `/v1/snapshots/${root2.id}/share/bob`)).status).toBe(204);
      }
    });
  });

  describe('account data', () => {
    it('keeps the vault opaque, with ETag / If-Match', async () => {
      expect(await alice.getVault()).toBeUndefined();
      const doc = { version: 1, slots: [{ kind: 'passphrase', wrapped: 'AAAA' }], ciphertext: 'BBBB' };
      const etag = await alice.putVault(doc);
      const got = await alice.getVault();
      expect(got).toEqual({ doc, etag });
      await alice.putVault({ ...doc, ciphertext: 'CCCC' }, etag);
      await expect(alice.putVault(doc, etag)).rejects.toMatchObject({ status: 412 });
      expect((await call(bobToken, 'GET', '/v1/me/vault')).status).toBe(404);
    });

    it('validates public keys', async () => {
      const bad = { ...publicIdentity(aliceKey), key_id: '0'.repeat(64) };
      await expect(alice.putKeys([bad])).rejects.toMatchObject({ status: 400, code: 'invalid_keys' });
      expect((await alice.getKeys()).length).toBe(1);
    });

    it('writes an audit row for logins, creates, reads and shares', async () => {
      const actions = new Set((await alice.audit({ limit: 1000 })).map((e) => e.action));
      for (const a of ['login', 'blob.create', 'snapshot.create', 'snapshot.read', 'snapshot.share', 'vault.update', 'keys.update']) expect(actions).toContain(a);
      const bobs = await bob.audit();
      expect(bobs.find((e) => e.action === 'snapshot.read' && e.object === `snapshot:${root.id}`)).toMatchObject({ other_user_id: aliceId, ip: '127.0.0.1' });
    });
  });

  describe('delete', () => {
    it('refuses a parent with children (409) unless cascading, and collects unreferenced blobs', async () => {
      await expect(alice.deleteSnapshot(root.id)).rejects.toMatchObject({ status: 409, code: 'has_children' });
      expect((await alice.deleteSnapshot(root.id, { cascade: true })).sort()).toEqual([root.id, child.id].sort());
      expect((await alice.listSnapshots()).map((s) => s.id)).toEqual([root2.id]);
      expect(await blobFiles(aliceId)).toEqual([bOnlyRoot2.hex]);
      expect(await bob.sharedWithMe()).toEqual([]);
      expect((await call(bobToken, 'GET', `/v1/users/${aliceId}/snapshots/${child.id}`)).status).toBe(404);
    });
  });
}
