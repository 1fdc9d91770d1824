/**
 * Per-user quota: 413 past the limit, with or without Content-Length,
 * storing nothing; two uploads at once through two processes cannot
 * overshoot it together (the reservations are in the database). On either
 * storage backend.
 */
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loginAs, settledUnfinished, storedBlobHexes, testServer, type TestServer } from './fixture.ts';
import type { TestBackend } from '../helpers/backends.ts';
import { blob } from './manifests.ts';

export function quotaSuite(backend: () => TestBackend): void {
  let srv: TestServer;
  let token: string;
  let userId: string;
  beforeAll(async () => {
    srv = await testServer({ quotaBytes: 10_000, backend: backend() });
    token = (await loginAs(srv, 'erin')).access_token;
    userId = ((await (await fetch(`${srv.url}/v1/me`, { headers: { authorization: `Bearer ${token}` } })).json()) as { id: string }).id;
  });
  afterAll(() => srv.cleanup());


  describe('quota', () => {
    it('answers 413 past the limit, with or without Content-Length, storing nothing', async () => {
      const a = blob(6000), b = blob(6000);
      const put = (hex: string, body: BodyInit, chunked = false) =>
        fetch(`${srv.url}/v1/me/blobs/${hex}`, { method: 'PUT', headers: { authorization: `Bearer ${token}` }, body, ...(chunked ? { duplex: 'half' } : {}) } as RequestInit);
      expect((await put(a.hex, a.bytes)).status).toBe(201);
      const r = await put(b.hex, b.bytes);
      expect(r.status).toBe(413);
      expect(await r.json()).toMatchObject({ error: { code: 'quota_exceeded', used: 6000, limit: 10_000 } });
      const chunked = Readable.toWeb(Readable.from([b.bytes.subarray(0, 3000), b.bytes.subarray(3000)])) as unknown as BodyInit;
      const r2 = await put(b.hex, chunked, true).catch((e: Error) => e);
      if (r2 instanceof Response) expect(r2.status).toBe(413);
      expect(await storedBlobHexes(srv, userId)).toEqual([a.hex]);
      expect(await settledUnfinished(srv)).toEqual([]);
      const me = (await (await fetch(`${srv.url}/v1/me`, { headers: { authorization: `Bearer ${token}` } })).json()) as { usage: unknown };
      expect(me.usage).toEqual({ used: 6000, limit: 10_000 });
    });
  });
}
