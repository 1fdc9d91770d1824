/**
 * POST /v1/me/packs/rewrite (a prune's swap): references move from the
 * removed packs to the new ones and the removed ones go; refused for a pack a
 * shared snapshot uses (409), a new pack not stored (422), a pack not mine
 * (404 — another tenant's blobs are not mine to remove), bad bodies (400).
 * The removed packs' objects leave the store; the swap is audited. On
 * either storage backend.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DriveClient } from '../../src/drive/index.ts';
import type { TestBackend } from '../helpers/backends.ts';
import { testServer, loginAs, storedBlobHexes, type TestServer } from './fixture.ts';
import { blob, generateIdentity, manifest, publicIdentity, signed } from './manifests.ts';

export function packRewriteSuite(backend: () => TestBackend): void {
  let srv: TestServer;
  let ana: DriveClient;
  let bob: DriveClient;
  let anaToken: string;

  beforeAll(async () => {
    srv = await testServer({ backend: backend() });
    anaToken = (await loginAs(srv, 'ana')).access_token;
    ana = new DriveClient({ server: srv.url, tokens: anaToken });
    bob = new DriveClient({ server: srv.url, tokens: (await loginAs(srv, 'bob')).access_token });
  }, 60_000);
  afterAll(async () => srv?.cleanup());

  const put = (c: DriveClient, b: { bytes: Buffer<ArrayBuffer>; hex: string }) => c.request(c.blobPath(b.hex), { method: 'PUT', headers: { 'content-type': 'application/octet-stream' }, body: b.bytes, accept: [200, 201] });

  describe('packs rewrite', () => {
    it('moves references and deletes the removed packs; refuses the rest', async () => {
      const id = await generateIdentity();
      await ana.putKeys([publicIdentity(id)]);
      const me = (await ana.me()).id;
      const oldPack = blob(4000), newPack = blob(1500), sharedPack = blob(900), bobsPack = blob(800);
      for (const b of [oldPack, newPack, sharedPack]) await put(ana, b);
      await put(bob, bobsPack);
      const s1 = signed(manifest({ blobs: [oldPack.hex], user: me }), id);
      const s2 = signed(manifest({ blobs: [sharedPack.hex], user: me }), id);
      await ana.postManifest(s1.text);
      await ana.postManifest(s2.text);
      await ana.share(s2.id, 'bob');

      const post = (body: unknown) => fetch(`${srv.url}/v1/me/packs/rewrite`, { method: 'POST', headers: { authorization: `Bearer ${anaToken}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      const code = async (body: unknown) => {
        const r = await post(body);
        return [r.status, ((await r.json()) as { error?: { code: string } }).error?.code];
      };
      expect(await code({ remove: [sharedPack.hex], add: [newPack.hex] })).toEqual([409, 'pack_shared']);
      expect(await code({ remove: [oldPack.hex], add: [blob(10).hex] })).toEqual([422, 'missing_blobs']);
      expect(await code({ remove: [bobsPack.hex], add: [newPack.hex] })).toEqual([404, 'not_found']);
      expect(await code({ remove: [oldPack.hex], add: [oldPack.hex] })).toEqual([400, 'invalid_rewrite']);
      expect(await code({ remove: 'x' })).toEqual([400, 'invalid_rewrite']);
      expect(await ana.headBlob(oldPack.hex)).toBe(4000);
      expect(await bob.headBlob(bobsPack.hex)).toBe(800);

      const r = await post({ remove: [oldPack.hex], add: [newPack.hex] });
      expect(r.status).toBe(200);
      expect(await r.json()).toEqual({ snapshots: 1, removed: 1, freed: 4000 });
      expect(await ana.headBlob(oldPack.hex)).toBeUndefined();
      expect(await storedBlobHexes(srv, me)).toEqual([newPack.hex, sharedPack.hex].sort());
      expect((await ana.audit()).find((a) => a.action === 'packs.rewrite')).toMatchObject({ object: 'packs:1->1' });
      // s1 now references the new pack: deleting s1 collects it.
      const list = await ana.listSnapshots();
      expect(list.find((s) => s.id === s1.id)?.blob_count).toBe(1);
      await ana.deleteSnapshot(s1.id);
      expect(await ana.headBlob(newPack.hex)).toBeUndefined();
      expect(await ana.headBlob(sharedPack.hex)).toBe(900);
    });
  });
}
