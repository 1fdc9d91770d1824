/**
 * Uploads that go wrong, on a real server with short timeouts: no unfinished
 * write may be left in the blob store (DATA/tmp: a cut upload left 0-byte
 * files, the temp file's deferred open ran after the unlink; S3: no
 * multipart upload left open, no object), and a client too slow — trickled headers, a body
 * slower than the minimum rate, a Content-Length that lies — gets a 408 and
 * loses its socket within the configured bound (requestTimeout was 0: for ever).
 */
import { createHash, pbkdf2 } from 'node:crypto';
import { Readable } from 'node:stream';
import type { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blobKey, loginAs, objectBytes, settledUnfinished, storedObjects, testServer, type TestServer } from './fixture.ts';
import type { TestBackend } from '../helpers/backends.ts';
import { blob } from './manifests.ts';
import { rawExchange, rawRequest, requestBytes } from './raw-http.ts';

export function uploadsSuite(backend: () => TestBackend): void {
  const TIMEOUTS = { headersMs: 1000, bodyGraceMs: 1000, minBodyBytesPerSec: 2000, idleMs: 3000, checkEveryMs: 100 };
  let srv: TestServer;
  let token: string;
  let userId: string;

  beforeAll(async () => {
    srv = await testServer({ timeouts: TIMEOUTS, backend: backend() });
    token = (await loginAs(srv, 'alice')).access_token;
    userId = ((await (await fetch(`${srv.url}/v1/me`, { headers: { authorization: `Bearer ${token}` } })).json()) as { id: string }).id;
  });
  afterAll(() => srv.cleanup());

  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  /** Waits until no write is unfinished (uploads still being torn down), failing after `ms`; and no object without its row. */
  async function expectTmpEmpty(ms = 5000) {
    expect(await settledUnfinished(srv, ms)).toEqual([]);
    const rows = await srv.db.all<{ object: string | null; hash: string }>('SELECT hash, object FROM blobs WHERE user_id = ?', [userId]);
    const keys = new Set(rows.map((r) => r.object ?? `${userId}/${r.hash.slice(0, 2)}/${r.hash}`));
    expect((await storedObjects(srv, `${userId}/`)).map((o) => o.key).filter((k) => !keys.has(k))).toEqual([]);
  }

  function putBytes(hex: string, body: Buffer, headers: Record<string, string> = {}) {
    return requestBytes(srv.url, { method: 'PUT', target: `/v1/me/blobs/${hex}`, headers: { authorization: `Bearer ${token}`, ...headers }, body });
  }

  function multipartBytes(parts: { name: string; data: Buffer }[]) {
    const body = Buffer.concat([
      ...parts.flatMap((p) => [Buffer.from(`--bnd\r\ncontent-disposition: form-data; name="${p.name}"; filename="f"\r\n\r\n`), p.data, Buffer.from('\r\n')]),
      Buffer.from('--bnd--\r\n'),
    ]);
    return requestBytes(srv.url, {
      method: 'POST',
      target: '/v1/me/snapshots',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'multipart/form-data; boundary=bnd' },
      body,
    });
  }

  /** Runs `fn` with libuv's thread pool kept busy (4 pbkdf2 jobs at a time), as a loaded server's is. */
  async function whileThreadPoolBusy<T>(fn: () => Promise<T>): Promise<T> {
    let busy = true;
    const spin = async () => {
      while (busy) await new Promise((r) => pbkdf2('x', 'y', 2000, 32, 'sha256', r));
    };
    const spinners = Array.from({ length: 4 }, spin);
    try {
      return await fn();
    } finally {
      busy = false;
      await Promise.all(spinners);
    }
  }

  /** Writes `bytes[0, at)` and drops the connection. */
  const cutAt = (bytes: Buffer, at: number) => rawExchange(srv.url, (s) => void s.write(bytes.subarray(0, at), () => s.destroy()), 3000);

  /** Sends `bytes` `step` at a time, one step every `everyMs`, until the server closes. */
  const trickle = (bytes: Buffer, step: number, everyMs: number) =>
    rawExchange(
      srv.url,
      async (s: Socket) => {
        for (let i = 0; i < bytes.length && !s.destroyed; i += step) {
          s.write(bytes.subarray(i, i + step));
          await sleep(everyMs);
        }
      },
      10_000,
    );

  describe('temp files', () => {
    it('a body already failed, or failing on its first or second chunk, is refused with its own error; no temp file stays', async () => {
      const failing = (kind: number) => {
        if (kind === 0) {
          const r = new Readable({ read() {} });
          r.destroy(new Error('client went away'));
          return r;
        }
        let n = 0;
        return new Readable({
          read() {
            if (n++ < kind - 1) this.push(Buffer.alloc(1000, n));
            else this.destroy(new Error('client went away'));
          },
        });
      };
      const results = await Promise.all(
        Array.from({ length: 60 }, (_, i) =>
          (i % 2 ? srv.services.blobs.put(userId, 'a'.repeat(64), failing(i % 3)) : srv.services.blobs.putUnaddressed(userId, failing(i % 3))).then(
            () => 'stored',
            (e: Error) => e.message,
          ),
        ),
      );
      expect(new Set(results)).toEqual(new Set(['client went away']));
      await expectTmpEmpty(2000);
    });

    it('cut PUTs, cut multipart uploads and concurrent PUTs of one blob leave nothing in tmp/ (thread pool busy)', async () => {
      // the old temp file's deferred open lost its race to the unlink when the thread pool (fsyncs, WebCrypto JWT
      // checks) was busy: about 1 cut upload in 300 here left a 0-byte file
      const stored: string[] = [];
      const worker = async (k: number) => {
        for (let i = 0; i < 20; i++) {
          const b = blob(20_000 + ((k * 31 + i * 17) % 5000));
          const put = putBytes(b.hex, b.bytes);
          const head = put.length - b.bytes.length;
          const form = multipartBytes([{ name: 'blob', data: b.bytes }]);
          switch ((k + i) % 4) {
            case 0: // cut right after the headers, or a few bytes in
              await cutAt(put, head + ((k + i) % 3) * 7);
              break;
            case 1: // cut mid-body
              await cutAt(put, head + 100 + ((k * 7 + i) % 40) * 400);
              break;
            case 2: // cut mid-blob in a multipart form
              await cutAt(form, form.length - b.bytes.length + ((k * 13 + i) % 40) * 400);
              break;
            case 3: {
              // two at once, whole
              const [r1, r2] = await Promise.all([rawExchange(srv.url, (s) => void s.write(put)), rawExchange(srv.url, (s) => void s.write(put))]);
              expect([r1.status, r2.status].sort()).toEqual([200, 201]);
              stored.push(b.hex);
            }
          }
        }
      };
      await whileThreadPoolBusy(() => Promise.all(Array.from({ length: 16 }, (_, k) => worker(k))));
      await expectTmpEmpty();
      // what was stored is whole, under its hash
      for (const hex of stored) {
        const bytes = await objectBytes(srv, await blobKey(srv, userId, hex));
        expect(createHash('sha256').update(bytes).digest('hex')).toBe(hex);
      }
    });
  });

  describe('slow clients', () => {
    it('headers trickled: 408 from the server within headersMs (+ one check)', async () => {
      const b = blob(100);
      const r = await trickle(putBytes(b.hex, b.bytes), 3, 100);
      expect(r.status).toBe(408);
      expect(r.closed).toBe(true);
      expect(r.ms).toBeLessThan(TIMEOUTS.headersMs + 1500);
    });

    it('a body trickled below the minimum rate: 408, the socket closed, the temp file gone', async () => {
      const b = blob(60_000);
      const bytes = putBytes(b.hex, b.bytes);
      const head = bytes.length - b.bytes.length;
      // headers at once, then 50 bytes every 100 ms (500 B/s, under the 2000 B/s configured)
      const r = await rawExchange(
        srv.url,
        async (s) => {
          s.write(bytes.subarray(0, head));
          for (let i = head; i < bytes.length && !s.destroyed; i += 50) {
            s.write(bytes.subarray(i, i + 50));
            await sleep(100);
          }
        },
        10_000,
      );
      expect(r.status).toBe(408);
      expect(JSON.parse(r.body)).toMatchObject({ error: { code: 'request_timeout' } });
      expect(r.closed).toBe(true);
      expect(r.ms).toBeLessThan(TIMEOUTS.bodyGraceMs + 2500);
      await expectTmpEmpty();
      expect(await srv.services.blobs.info(userId, b.hex)).toBeUndefined();
    });

    it('a Content-Length that lies (more than is sent): 408 and closed, not held open', async () => {
      const r = await rawRequest(srv.url, {
        method: 'PUT',
        target: `/v1/me/blobs/${'b'.repeat(64)}`,
        headers: { authorization: `Bearer ${token}`, 'content-length': '100000' },
        body: 'only this',
        timeoutMs: 10_000,
      });
      expect(r.status).toBe(408);
      expect(r.ms).toBeLessThan(TIMEOUTS.bodyGraceMs + 2500);
      const form = multipartBytes([{ name: 'blob', data: Buffer.alloc(5000, 1) }]);
      const m = await rawExchange(srv.url, (s) => void s.write(Buffer.concat([form.subarray(0, form.length - 3000)])), 10_000);
      expect(m.status).toBe(408);
      await expectTmpEmpty();
    });

    it('a slow upload above the minimum rate is not cut, even past the grace period', async () => {
      const b = blob(12_000);
      const bytes = putBytes(b.hex, b.bytes);
      // ~6 KB/s for 2 s: longer than the 1 s grace, faster than 2000 B/s
      const r = await trickle(bytes, 600, 100);
      expect(r.status).toBe(201);
      expect(r.ms).toBeGreaterThan(TIMEOUTS.bodyGraceMs);
      expect((await srv.services.blobs.info(userId, b.hex))?.size).toBe(12_000);
    });

    it('an idle connection is closed after idleMs; the server still answers', async () => {
      const r = await rawExchange(srv.url, () => {}, 10_000);
      expect(r.closed).toBe(true);
      expect(r.ms).toBeLessThan(TIMEOUTS.idleMs + 1500);
      expect((await fetch(`${srv.url}/healthz`)).status).toBe(200);
    });
  });
}
