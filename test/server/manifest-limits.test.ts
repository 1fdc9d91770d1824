/**
 * Issue 17 on a real server: hostile manifests POSTed by a logged-in user
 * get a prompt 4xx with a clear code, and the server keeps answering others
 * meanwhile — a table header or dotted key 5,000 levels deep (a stack
 * overflow → 500 before), the 15 MiB `[t0] [t1] …` (12–14 s of parsing and
 * 2–3 GB before), the same within the size cap (refused by its tables),
 * invalid UTF-8 (decoded with U+FFFD before), and the worst manifest the
 * limits accept.
 */
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_MANIFEST_BYTES, MAX_MANIFEST_ENTRIES } from '../../src/manifest/index.ts';
import { deepDottedKey, deepHeader, entriesOfShape, manyTables, SNAPSHOT_HEADER } from '../helpers/hostile-manifests.ts';
import { rssGrowthDuring } from '../helpers/rss.ts';
import { loginAs, testServer, type TestServer } from './fixture.ts';

let srv: TestServer;
let token: string;

beforeAll(async () => {
  srv = await testServer();
  token = (await loginAs(srv, 'mallory')).access_token;
});
afterAll(() => srv.cleanup());

interface Answer {
  status: number;
  code?: string;
  message?: string;
  ms: number;
}

async function post(body: string | Buffer<ArrayBuffer> | FormData, contentType = 'application/toml; charset=utf-8'): Promise<Answer> {
  const t0 = performance.now();
  const res = await fetch(`${srv.url}/v1/me/snapshots`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, ...(body instanceof FormData ? {} : { 'content-type': contentType }) },
    body,
  });
  const json = (await res.json()) as { error?: { code: string; message: string } };
  return { status: res.status, code: json.error?.code, message: json.error?.message, ms: performance.now() - t0 };
}

/** GET /v1/me, each on a new connection, one after another while `work` runs; the slowest answer (ms). */
async function slowestMeWhile<T>(work: Promise<T>): Promise<{ result: T; slowestMs: number; gets: number }> {
  let done = false;
  let slowestMs = 0;
  let gets = 0;
  const me = () =>
    new Promise<number>((resolve, reject) => {
      const t0 = performance.now();
      const req = request(`${srv.url}/v1/me`, { agent: false, headers: { authorization: `Bearer ${token}` } }, (res) => {
        res.resume();
        res.on('end', () => (res.statusCode === 200 ? resolve(performance.now() - t0) : reject(new Error(`GET /v1/me: ${res.statusCode}`))));
      });
      req.on('error', reject);
      req.end();
    });
  const poll = (async () => {
    while (!done) {
      slowestMs = Math.max(slowestMs, await me());
      gets++;
      await new Promise((r) => setTimeout(r, 10));
    }
  })();
  try {
    const result = await work;
    return { result, slowestMs, gets };
  } finally {
    done = true;
    await poll;
  }
}

// Generous bounds for a loaded 2-core CI machine; the failures they catch took 12 s and more.
const PROMPT_MS = 5000;
const OTHERS_MS = 3000;

describe('hostile manifests on POST /v1/me/snapshots', () => {
  it.each([
    ['a 5,000-level table header', deepHeader(5000)],
    ['a 5,000-part dotted key', deepDottedKey(5000)],
  ])('%s: 400 manifest_parse naming the depth and where', async (_, text) => {
    const a = await post(text);
    expect(a).toMatchObject({ status: 400, code: 'manifest_parse' });
    expect(a.message).toMatch(/^manifest:\d+:\d+: nested deeper than 32 levels$/);
    expect(a.ms).toBeLessThan(PROMPT_MS);
  });

  it('the 15 MiB [t0] [t1] …: refused for its size, without parsing, while others get answers', async () => {
    const text = manyTables(15 * 1024 * 1024);
    const { result, growthMiB } = await rssGrowthDuring(async () => {
      const { result, slowestMs } = await slowestMeWhile(Promise.all([post(text), post(multipart(text))]));
      expect(slowestMs).toBeLessThan(OTHERS_MS);
      return result;
    });
    const [raw, form] = result;
    expect(raw).toMatchObject({ status: 413, code: 'body_too_large' }); // the plain body, by its Content-Length
    expect(form).toMatchObject({ status: 400, code: 'manifest_too_large' }); // the multipart part, while streaming
    expect(form.message).toBe(`a manifest is limited to ${MAX_MANIFEST_BYTES} bytes`);
    for (const a of [raw, form]) expect(a.ms).toBeLessThan(PROMPT_MS);
    expect(growthMiB).toBeLessThan(300); // the body itself is ~45 MiB here (string, bytes, form); the parse took 2–3 GB
  });

  it('the same within the size cap: 400 manifest_parse, refused at the 10,001st table, while others get answers', async () => {
    const text = manyTables(MAX_MANIFEST_BYTES);
    const { result: a, slowestMs, gets } = await slowestMeWhile(post(text));
    expect(a).toMatchObject({ status: 400, code: 'manifest_parse' });
    expect(a.message).toMatch(/^manifest:10005:1: more than 10000 tables: a manifest is not that big$/);
    expect(a.ms).toBeLessThan(PROMPT_MS);
    expect(gets).toBeGreaterThan(0);
    expect(slowestMs).toBeLessThan(OTHERS_MS);
  });

  it('the worst manifest the limits accept is parsed (then refused as unsigned) while others get answers', async () => {
    const text = entriesOfShape('keys', MAX_MANIFEST_ENTRIES);
    const { result: a, slowestMs } = await slowestMeWhile(post(text));
    expect(a).toMatchObject({ status: 422, code: 'signature_unsigned' });
    expect(a.ms).toBeLessThan(PROMPT_MS);
    expect(slowestMs).toBeLessThan(OTHERS_MS);
  });

  it('invalid UTF-8: 400 manifest_parse at its line and column, as body and as multipart part', async () => {
    const bytes: Buffer<ArrayBuffer> = Buffer.concat([Buffer.from(`${SNAPSHOT_HEADER}# caf`), Buffer.from([0xe9]), Buffer.from("\n")]);
    for (const body of [bytes, multipart(bytes)]) {
      const a = await post(body);
      expect(a).toMatchObject({ status: 400, code: 'manifest_parse' });
      expect(a.message).toMatch(/^manifest:6:6: invalid UTF-8 \(byte 0xe9 at offset \d+\)/);
    }
  });
});

function multipart(manifest: string | Buffer<ArrayBuffer>): FormData {
  const form = new FormData();
  form.append('manifest', new Blob([manifest], { type: 'application/toml' }), 'manifest.kvg');
  return form;
}
