/**
 * The drive client against a real server: downloads that survive dropped
 * connections (Range resume, byte-identical), parallel downloads, leftover
 * and corrupt partial files, uploads that skip what the server has, typed
 * errors, token refresh on 401, and the http-only-to-loopback rule. On
 * either storage backend (ranged GETs through S3 included).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthSession } from '../../src/auth/index.ts';
import { DriveClient, DriveError, openBlobStream } from '../../src/drive/index.ts';
import { loginAs, testServer, type TestServer } from '../server/fixture.ts';
import { blob } from '../server/manifests.ts';
import { droppingProxy } from './dropping-proxy.ts';
import type { TestBackend } from '../helpers/backends.ts';

export function driveClientSuite(backend: () => TestBackend): void {
  let srv: TestServer;
  let token: string;
  let session: AuthSession;
  const work = mkdtempSync(join(tmpdir(), 'koder-drive-'));
  const big = blob(5 * 1024 * 1024);

  beforeAll(async () => {
    srv = await testServer({ backend: backend() });
    const t = await loginAs(srv, 'frank');
    token = t.access_token;
    session = new AuthSession(t, { persist: false });
    const r = await fetch(`${srv.url}/v1/me/blobs/${big.hex}`, { method: 'PUT', headers: { authorization: `Bearer ${token}` }, body: big.bytes });
    expect(r.status).toBe(201);
  });
  afterAll(async () => {
    await srv.cleanup();
    rmSync(work, { recursive: true, force: true });
  });

  const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');

  describe('download', () => {
    it('ends byte-identical after the connection is killed mid-stream 10 times', async () => {
      const proxy = await droppingProxy(srv.url, { drops: 10, minBytes: 64 * 1024, maxBytes: 400 * 1024 });
      try {
        const c = new DriveClient({ server: proxy.url, tokens: token, retry: { baseMs: 5, maxMs: 50, retries: 12 } });
        const dest = join(work, 'big.bin');
        const r = await c.downloadBlob(big.hex, dest);
        expect(r.resumes).toBe(10);
        expect(proxy.dropsLeft).toBe(0);
        expect(readFileSync(dest).equals(big.bytes)).toBe(true);
        expect(existsSync(`${dest}.part`)).toBe(false);
        // the first request asks for everything, each later one resumes where the file stopped
        expect(proxy.ranges[0]).toBeUndefined();
        expect(proxy.ranges.slice(1).every((h) => /^bytes=\d+-$/.test(h ?? ''))).toBe(true);
        const starts = proxy.ranges.slice(1).map((h) => Number(/=(\d+)-/.exec(h!)![1]));
        expect(starts).toEqual([...starts].sort((a, b) => a - b));
        expect(proxy.ranges).toHaveLength(11);
      } finally {
        await proxy.close();
      }
    });

    it('streams a blob (no staging) through 5 drops, byte-identical', async () => {
      const proxy = await droppingProxy(srv.url, { drops: 5, minBytes: 64 * 1024, maxBytes: 400 * 1024 });
      try {
        const c = new DriveClient({ server: proxy.url, tokens: token, retry: { baseMs: 5, maxMs: 50, retries: 8 } });
        const chunks: Buffer[] = [];
        for await (const chunk of openBlobStream(c, big.hex)) chunks.push(chunk as Buffer);
        expect(Buffer.concat(chunks).equals(big.bytes)).toBe(true);
        expect(proxy.dropsLeft).toBe(0);
        expect(proxy.ranges.filter(Boolean)).toHaveLength(5);
      } finally {
        await proxy.close();
      }
    });

    it('gives up with a typed error when drops outnumber the retries', async () => {
      const proxy = await droppingProxy(srv.url, { drops: 5, minBytes: 1000, maxBytes: 2000 });
      try {
        const c = new DriveClient({ server: proxy.url, tokens: token, retry: { baseMs: 1, maxMs: 5, retries: 2 } });
        const dest = join(work, 'giveup.bin');
        const e = await c.downloadBlob(big.hex, dest).catch((x: unknown) => x);
        expect(e).toBeInstanceOf(DriveError);
        expect((e as DriveError).code).toBe('network');
        expect(existsSync(dest)).toBe(false);
        // a later run resumes from the part file
        const again = await new DriveClient({ server: srv.url, tokens: token }).downloadBlob(big.hex, dest);
        expect(again.size).toBe(big.bytes.length);
        expect(sha(dest)).toBe(big.hex);
      } finally {
        await proxy.close();
      }
    });

    it('resumes a part file left by an earlier run, and discards a corrupt one', async () => {
      const c = new DriveClient({ server: srv.url, tokens: token });
      const dest = join(work, 'resume.bin');
      writeFileSync(`${dest}.part`, big.bytes.subarray(0, 1_000_000));
      await c.downloadBlob(big.hex, dest);
      expect(sha(dest)).toBe(big.hex);

      const bad = join(work, 'corrupt.bin');
      const wrong = Buffer.from(big.bytes.subarray(0, 1_000_000));
      wrong[12345] = wrong[12345]! ^ 0xff;
      writeFileSync(`${bad}.part`, wrong);
      await expect(c.downloadBlob(big.hex, bad)).rejects.toMatchObject({ code: 'hash_mismatch' });
      expect(existsSync(bad)).toBe(false);
      expect(existsSync(`${bad}.part`)).toBe(false);
      await c.downloadBlob(big.hex, bad);
      expect(sha(bad)).toBe(big.hex);
    });

    it('downloads N in parallel, and 404s are typed errors', async () => {
      const c = new DriveClient({ server: srv.url, tokens: token });
      const small = Array.from({ length: 6 }, () => blob(50_000));
      const up = await c.uploadBlobs(
        small.map((b, i) => {
          const f = join(work, `up-${i}`);
          writeFileSync(f, b.bytes);
          return { hex: b.hex, file: f };
        }),
        { parallel: 3 },
      );
      expect(up.every((u) => u.sent)).toBe(true);
      const res = await c.downloadBlobs(small.map((b, i) => ({ hex: b.hex, dest: join(work, 'par', `${i}.bin`) })), { parallel: 4 });
      res.forEach((r, i) => expect(readFileSync(r.dest).equals(small[i]!.bytes)).toBe(true));
      const e = await c.downloadBlob('0'.repeat(64), join(work, 'none.bin')).catch((x: unknown) => x);
      expect(e).toMatchObject({ status: 404, code: 'not_found' });
    });
  });

  describe('upload', () => {
    it('sends nothing for a blob the server has (HEAD first)', async () => {
      const proxy = await droppingProxy(srv.url, { drops: 0, minBytes: 0, maxBytes: 1 });
      try {
        const c = new DriveClient({ server: proxy.url, tokens: token });
        const b = blob(10_000);
        const f = join(work, 'u.bin');
        writeFileSync(f, b.bytes);
        expect(await c.uploadBlob(b.hex, f)).toMatchObject({ sent: true, size: 10_000 });
        expect(await c.uploadBlob(b.hex, f)).toMatchObject({ sent: false });
        expect(await c.uploadBlob(big.hex, f)).toMatchObject({ sent: false });
        expect(proxy.puts).toHaveLength(1);
        // a file that is not what its address says is refused by the server
        const wrong = blob(10);
        const e = await c.uploadBlob(wrong.hex, f).catch((x: unknown) => x);
        expect(e).toMatchObject({ status: 422, code: 'hash_mismatch' });
      } finally {
        await proxy.close();
      }
    });
  });

  describe('client rules', () => {
    it('refuses plain http to a non-loopback server', () => {
      expect(() => new DriveClient({ server: 'http://example.com', tokens: 't' })).toThrow(DriveError);
      expect(() => new DriveClient({ server: 'http://10.1.2.3:8470', tokens: 't' })).toThrow(/https/);
      expect(new DriveClient({ server: 'https://drive.koder.dev/', tokens: 't' }).base).toBe('https://drive.koder.dev');
    });

    it('refuses an empty, "." or ".." id before sending (fetch would resolve it: DELETE /v1/me)', async () => {
      const c = new DriveClient({ server: srv.url, tokens: token });
      for (const id of ['..', '.', '']) {
        await expect(c.deleteSnapshot(id)).rejects.toMatchObject({ code: 'invalid_path_segment' });
        await expect(c.deleteSnapshot(id, { cascade: true })).rejects.toMatchObject({ code: 'invalid_path_segment' });
        await expect(c.getManifest(id)).rejects.toMatchObject({ code: 'invalid_path_segment' });
        await expect(c.unshare('x', id)).rejects.toMatchObject({ code: 'invalid_path_segment' });
      }
      expect((await c.me()).erase_after).toBeNull();
    });

    it('refreshes the token once on a 401 and retries', async () => {
      const expired = new AuthSession({ ...session.tokens, access_token: 'not-a-valid-token', expires_at: Date.now() + 3600_000 }, { persist: false });
      const c = new DriveClient({ server: srv.url, tokens: expired });
      expect((await c.me()).name).toBe('frank');
      expect(expired.tokens.access_token).not.toBe('not-a-valid-token');
      const fixed = new DriveClient({ server: srv.url, tokens: 'not-a-valid-token' });
      await expect(fixed.me()).rejects.toMatchObject({ status: 401, code: 'unauthorized' });
    });
  });
}
