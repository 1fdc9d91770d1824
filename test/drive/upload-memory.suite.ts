/**
 * A big blob upload keeps memory flat: a 200 MiB file PUT to a real server
 * (in this process) must not grow RSS by anything like the blob's size —
 * Node 20's fetch buffered a streamed request body (RSS + the whole blob);
 * drive/upload.ts pipes the file into node:http instead. On either storage
 * backend (on S3 the server sends it as a multipart upload, a few 8 MiB
 * parts in memory at a time).
 */
import { randomBytes, createHash } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DriveClient } from '../../src/drive/index.ts';
import { rssGrowthDuring } from '../helpers/rss.ts';
import { loginAs, testServer, type TestServer } from '../server/fixture.ts';
import type { TestBackend } from '../helpers/backends.ts';

const MiB = 1024 * 1024;
const SIZE = 200 * MiB;

export function uploadMemorySuite(backend: () => TestBackend): void {
  let srv: TestServer;
  let token: string;
  const work = mkdtempSync(join(tmpdir(), 'koder-upmem-'));
  const file = join(work, 'big.bin');
  let hex: string;

  beforeAll(async () => {
    srv = await testServer({ backend: backend() });
    token = (await loginAs(srv, 'gina')).access_token;
    // 200 MiB from a few random 1 MiB chunks, repeated (cheap to write, not compressible per chunk)
    const chunks = Array.from({ length: 4 }, () => randomBytes(MiB));
    const h = createHash('sha256');
    const fd = openSync(file, 'w');
    try {
      for (let i = 0; i < SIZE / MiB; i++) {
        const c = chunks[i % chunks.length]!;
        writeSync(fd, c);
        h.update(c);
      }
    } finally {
      closeSync(fd);
    }
    hex = h.digest('hex');
  });
  afterAll(async () => {
    await srv?.cleanup();
    rmSync(work, { recursive: true, force: true });
  });

  describe('upload memory', () => {
    it('uploads a 200 MiB blob with RSS growth under 100 MiB', async () => {
      const c = new DriveClient({ server: srv.url, tokens: token });
      let last = 0;
      let calls = 0;
      const { result: r, growthMiB } = await rssGrowthDuring((sample) =>
        c.uploadBlob(hex, file, {
          onProgress: (done, size) => {
            expect(size).toBe(SIZE);
            expect(done).toBeGreaterThanOrEqual(last);
            last = done;
            if (++calls % 16 === 0) sample();
          },
        }),
      );
      expect(r).toEqual({ hex, size: SIZE, sent: true });
      expect(last).toBe(SIZE);
      expect(await c.headBlob(hex)).toBe(SIZE);
      expect(growthMiB, `RSS grew by ${growthMiB.toFixed(1)} MiB`).toBeLessThan(100);
      // already there: HEAD only, nothing sent
      expect(await c.uploadBlob(hex, file)).toEqual({ hex, size: SIZE, sent: false });
    }, 120_000);
  });
}
