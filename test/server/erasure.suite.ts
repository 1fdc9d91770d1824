/**
 * DELETE /v1/me: nothing happens during the grace window (and it can be
 * canceled); once the (injected) clock passes it, no row and no file of the
 * user remain anywhere (rows, objects in the blob store, files), while the
 * other users' data stays. On either storage backend.
 */
import { readdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DriveClient } from '../../src/drive/index.ts';
import { ManualClock } from '../../src/server/index.ts';
import { loginAs, storedObjects, tableNames, testServer, type TestServer } from './fixture.ts';
import type { TestBackend } from '../helpers/backends.ts';
import { blob, generateIdentity, manifest, publicIdentity, signed } from './manifests.ts';

export function erasureSuite(backend: () => TestBackend): void {
  const clock = new ManualClock(Date.UTC(2026, 5, 1));
  let srv: TestServer;
  let carol: DriveClient, dave: DriveClient;
  let carolId: string, daveId: string, carolToken: string;

  async function populate(c: DriveClient, token: string, other: string) {
    const key = await generateIdentity();
    await c.putKeys([publicIdentity(key)]);
    const bs = [blob(2000), blob(3000)];
    for (const b of bs) await fetch(`${srv.url}/v1/me/blobs/${b.hex}`, { method: 'PUT', headers: { authorization: `Bearer ${token}` }, body: b.bytes });
    const root = signed(manifest({ blobs: [bs[0]!.hex] }), key);
    const child = signed(manifest({ blobs: [bs[1]!.hex], parent: root.id }), key);
    await c.postManifest(root.text);
    await c.postManifest(child.text);
    await c.putVault({ sealed: 'x' });
    await c.share(child.id, other);
    return child.id;
  }

  beforeAll(async () => {
    srv = await testServer({ clock, backend: backend() });
    const [tc, td] = await Promise.all([loginAs(srv, 'carol'), loginAs(srv, 'dave')]);
    carolToken = tc.access_token;
    carol = new DriveClient({ server: srv.url, tokens: tc.access_token });
    dave = new DriveClient({ server: srv.url, tokens: td.access_token });
    carolId = (await carol.me()).id;
    daveId = (await dave.me()).id;
    const carolShared = await populate(carol, tc.access_token, 'dave');
    await populate(dave, td.access_token, 'carol');
    await dave.getManifest(carolShared, carolId); // dave's audit now names carol
  });
  afterAll(() => srv.cleanup());

  async function everythingMentioning(id: string): Promise<string[]> {
    const found: string[] = [];
    for (const name of await tableNames(srv)) {
      for (const row of await srv.db.all(`SELECT * FROM ${name}`)) if (JSON.stringify(row).includes(id)) found.push(`${name}: ${JSON.stringify(row).slice(0, 120)}`);
    }
    for (const o of await storedObjects(srv)) if (o.key.includes(id)) found.push(`object: ${o.key}`);
    for (const f of readdirSync(srv.dataDir, { recursive: true }).map(String)) if (f.includes(id)) found.push(`file: ${f}`);
    return found;
  }

  describe('erasure', () => {
    it('is scheduled 24 h ahead and can be canceled', async () => {
      expect((await everythingMentioning(carolId)).length).toBeGreaterThan(5);
      const r = await carol.requestErasure();
      expect(r.erase_after).toBe(clock.now() + 24 * 3600_000);
      expect((await carol.me()).erase_after).toBe(r.erase_after);
      expect(await carol.cancelErasure()).toBe(true);
      expect((await carol.me()).erase_after).toBeNull();
      clock.advance(25 * 3600_000);
      await srv.maintenance();
      expect((await carol.me()).name).toBe('carol');
    });

    it('after the grace, leaves no row and no file of the user', async () => {
      await carol.requestErasure();
      clock.advance(24 * 3600_000 - 1);
      await srv.maintenance();
      expect((await carol.listSnapshots()).length).toBe(2);
      clock.advance(1);
      await srv.maintenance();

      expect(await everythingMentioning(carolId)).toEqual([]);
      const r = await fetch(`${srv.url}/v1/me`, { headers: { authorization: `Bearer ${carolToken}` } });
      expect(r.status).toBe(401);
      // dave keeps his own data; what carol shared with him is gone
      expect((await dave.listSnapshots()).length).toBe(2);
      expect(await dave.sharedWithMe()).toEqual([]);
      expect((await dave.audit()).length).toBeGreaterThan(0);
      expect((await everythingMentioning(daveId)).length).toBeGreaterThan(5);
    });
  });
}
