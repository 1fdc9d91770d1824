/** The small HTTP pieces: Range parsing and the streaming multipart reader (properties with fast-check). */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parseRange } from '../../src/server/http/range.ts';
import { boundaryOf, readMultipart } from '../../src/server/http/multipart.ts';
import { pickLang } from '../../src/server/oidc/i18n.ts';
import { Router } from '../../src/server/http/router.ts';

describe('Range', () => {
  it('parses the single-range forms', () => {
    expect(parseRange(undefined, 100)).toEqual({ kind: 'none' });
    expect(parseRange('bytes=0-9', 100)).toEqual({ kind: 'range', start: 0, end: 9 });
    expect(parseRange('bytes=90-', 100)).toEqual({ kind: 'range', start: 90, end: 99 });
    expect(parseRange('bytes=90-1000', 100)).toEqual({ kind: 'range', start: 90, end: 99 });
    expect(parseRange('bytes=-10', 100)).toEqual({ kind: 'range', start: 90, end: 99 });
    expect(parseRange('bytes=-1000', 100)).toEqual({ kind: 'range', start: 0, end: 99 });
    expect(parseRange('bytes=100-', 100)).toEqual({ kind: 'unsatisfiable' });
    expect(parseRange('bytes=5-4', 100)).toEqual({ kind: 'unsatisfiable' });
    expect(parseRange('bytes=0-1,5-6', 100)).toEqual({ kind: 'none' });
    expect(parseRange('items=0-1', 100)).toEqual({ kind: 'none' });
    expect(parseRange('bytes=0-', 0)).toEqual({ kind: 'unsatisfiable' });
  });

  it('never answers a range outside the blob', () => {
    fc.assert(
      fc.property(fc.nat(10_000), fc.option(fc.nat(20_000)), fc.option(fc.nat(20_000)), (size, a, b) => {
        const r = parseRange(`bytes=${a ?? ''}-${b ?? ''}`, size);
        if (r.kind === 'range') {
          expect(r.start).toBeGreaterThanOrEqual(0);
          expect(r.end).toBeLessThan(size);
          expect(r.start).toBeLessThanOrEqual(r.end);
        }
      }),
    );
  });
});

describe('multipart', () => {
  it('reads the parts back whatever the chunking', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ name: fc.constantFrom('manifest', 'blob', 'x'), data: fc.uint8Array({ maxLength: 3000 }) }), { minLength: 1, maxLength: 5 }),
        fc.integer({ min: 1, max: 200 }),
        async (parts, chunk) => {
          const boundary = '----koderBoundary7MA4YWxkTrZu0gW';
          const pieces: Buffer[] = [Buffer.from('preamble\r\n')];
          parts.forEach((p, i) => {
            pieces.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${p.name}"; filename="f${i}"\r\nContent-Type: application/octet-stream\r\n\r\n`));
            pieces.push(Buffer.from(p.data));
            pieces.push(Buffer.from('\r\n'));
          });
          pieces.push(Buffer.from(`--${boundary}--\r\n`));
          const all = Buffer.concat(pieces);
          async function* source() {
            for (let i = 0; i < all.length; i += chunk) yield all.subarray(i, i + chunk);
          }
          const got: { name: string; filename?: string; data: Buffer }[] = [];
          for await (const part of readMultipart(source(), boundary)) {
            const bufs: Buffer[] = [];
            if (got.length % 2 === 0) for await (const c of part.body) bufs.push(c);
            got.push({ name: part.name, filename: part.filename, data: Buffer.concat(bufs) });
          }
          expect(got.map((g) => g.name)).toEqual(parts.map((p) => p.name));
          got.forEach((g, i) => {
            expect(g.filename).toBe(`f${i}`);
            if (i % 2 === 0) expect(g.data.equals(Buffer.from(parts[i]!.data))).toBe(true);
          });
        },
      ),
      { numRuns: 200 },
    );
  });

  it('finds the boundary in the content type', () => {
    expect(boundaryOf('multipart/form-data; boundary=abc')).toBe('abc');
    expect(boundaryOf('multipart/form-data; boundary="a b"')).toBe('a b');
    expect(boundaryOf('application/toml')).toBeUndefined();
  });

  it('refuses a truncated body', async () => {
    async function* source() {
      yield Buffer.from('--b\r\nContent-Disposition: form-data; name="manifest"\r\n\r\nabc');
    }
    const run = async () => {
      for await (const p of readMultipart(source(), 'b')) for await (const _ of p.body);
    };
    await expect(run()).rejects.toMatchObject({ code: 'multipart_invalid' });
  });
});

describe('small helpers', () => {
  it('picks the page language', () => {
    expect(pickLang('pt-BR,pt;q=0.9,en;q=0.8')).toBe('pt-BR');
    expect(pickLang('fr-FR,en;q=0.5,pt;q=0.4')).toBe('en');
    expect(pickLang('fr;q=1,pt;q=0.9,en;q=0.1')).toBe('pt-BR');
    expect(pickLang('en', 'pt-BR')).toBe('pt-BR');
    expect(pickLang(undefined)).toBe('en');
  });

  it('routes by pattern, 405 for another method, 404 otherwise', () => {
    const r = new Router().on('GET', '/v1/me/blobs/:hex', async () => {}).on('PUT', '/v1/me/blobs/:hex', async () => {});
    expect(r.match('GET', '/v1/me/blobs/abc').params).toEqual({ hex: 'abc' });
    expect(r.match('HEAD', '/v1/me/blobs/abc').params).toEqual({ hex: 'abc' });
    expect(() => r.match('DELETE', '/v1/me/blobs/abc')).toThrow(expect.objectContaining({ status: 405 }));
    expect(() => r.match('GET', '/v1/me/other')).toThrow(expect.objectContaining({ status: 404 }));
  });
});

import { LoginThrottle } from '../../src/server/oidc/interactions.ts';
import { SqliteDatabase } from '../../src/server/db/sqlite.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
describe('login throttle', () => {
  it('blocks a name after 5 failures within the window, and forgets after it; the failures are rows another process sees', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'koder-throttle-'));
    const db = new SqliteDatabase(join(dir, 'koder.sqlite'));
    try {
      const t = new LoginThrottle(db, 5, 1000);
      for (let i = 0; i < 5; i++) {
        expect(await t.blocked('Ana', '10.0.0.1', i)).toBe(false);
        await t.fail('ana', `10.0.0.${i}`, i);
      }
      expect(await t.blocked('ANA', '10.0.0.9', 10)).toBe(true);
      expect(await new LoginThrottle(db, 5, 1000).blocked('ana', '10.0.0.9', 10)).toBe(true);
      expect(await t.blocked('bia', '10.0.0.9', 10)).toBe(false);
      expect(await t.blocked('ana', '10.0.0.9', 2000)).toBe(false);
      expect(await t.sweep(2000)).toBe(10);
    } finally {
      await db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
