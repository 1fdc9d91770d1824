/**
 * The ObjectStore contract (src/server/objects), the same on the file store
 * and on the S3 store against a real Ceph radosgw: a put is visible whole or
 * not at all (a body that fails mid-way, of known or unknown length, small
 * or multipart, leaves no object); ranged reads; head; listing in key order
 * under a prefix; delete (one, a thousand and more at once), delete by
 * prefix; unfinished writes listed and discarded. The S3 store's own signed
 * GET under a bucket prefix with spaces, '+', and non-ASCII characters (the
 * signature must match what radosgw computes). And the URLs it refuses.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { cephPerFile } from '../helpers/ceph.ts';
import { useCephCredentials } from '../helpers/backends.ts';
import { FileObjectStore } from '../../src/server/objects/file-store.ts';
import { parseS3Url, PART_BYTES, S3ObjectStore } from '../../src/server/objects/s3-store.ts';
import type { ObjectStore } from '../../src/server/objects/object-store.ts';
import { checkObjectStoreUrl } from '../../src/server/objects/open.ts';
import { encodeKeyPath } from '../../src/server/objects/s3-get.ts';

const ceph = cephPerFile();
const dir = mkdtempSync(join(tmpdir(), 'koder-objects-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function bytes(s: Readable): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const c of s) out.push(c as Buffer);
  return Buffer.concat(out);
}
/** Buffers compared without a diff of megabytes when they differ. */
function expectSame(got: Buffer, want: Buffer) {
  expect({ size: got.length, equal: got.equals(want) }).toEqual({ size: want.length, equal: true });
}
const keysOf = async (st: ObjectStore, prefix?: string) => {
  const out: string[] = [];
  for await (const o of st.list(prefix)) out.push(o.key);
  return out;
};
/** `body` in 64 KiB pieces, then (optionally) an error instead of the end. */
function pieces(body: Buffer, failAfter?: number): Readable {
  return Readable.from(
    (async function* () {
      for (let i = 0; i < body.length; i += 65536) {
        if (failAfter !== undefined && i >= failAfter) throw new Error('client went away');
        yield body.subarray(i, i + 65536);
      }
    })(),
  );
}

const stores: [string, () => ObjectStore][] = [
  ['file', () => new FileObjectStore(join(dir, 'files'))],
  [
    's3',
    () => {
      useCephCredentials(ceph());
      return new S3ObjectStore(parseS3Url(`s3://${ceph().bucket}/contract?endpoint=${encodeURIComponent(ceph().endpoint)}&region=${ceph().region}`));
    },
  ],
];

describe.each(stores)('%s store', (_, make) => {
  let st: ObjectStore;
  afterAll(() => st?.close());

  it('puts whole objects, reads ranges, heads, lists in key order under a prefix', async () => {
    st = make();
    const a = randomBytes(300_000);
    const big = randomBytes(PART_BYTES * 2 + 12345); // unknown length: a multipart upload on S3
    await st.put('u1/aa/one', Readable.from([a]), a.length);
    await st.put('u1/bb/two', pieces(big));
    await st.put('u2/aa/three', Readable.from([Buffer.from('x')]), 1);
    expectSame(await bytes(await st.get('u1/aa/one')), a);
    expectSame(await bytes(await st.get('u1/bb/two')), big);
    expectSame(await bytes(await st.get('u1/bb/two', { start: PART_BYTES - 5, end: PART_BYTES + 4 })), big.subarray(PART_BYTES - 5, PART_BYTES + 5));
    expect(await st.head('u1/bb/two')).toBe(big.length);
    expect(await st.head('u1/nope')).toBeUndefined();
    await expect(st.get('u1/nope')).rejects.toMatchObject({ code: 'object_missing' });
    expect(await keysOf(st, 'u1/')).toEqual(['u1/aa/one', 'u1/bb/two']);
    expect(await keysOf(st)).toEqual(['u1/aa/one', 'u1/bb/two', 'u2/aa/three']);
  });

  it('a body that fails mid-way leaves no object (known length, unknown length, past a part) and nothing unfinished', async () => {
    const body = randomBytes(PART_BYTES + 300_000);
    await expect(st.put('u3/known', pieces(body, 200_000), body.length)).rejects.toThrow('client went away');
    await expect(st.put('u3/small', pieces(body, 200_000))).rejects.toThrow('client went away');
    await expect(st.put('u3/parts', pieces(body, PART_BYTES + 65536))).rejects.toThrow('client went away');
    expect(await keysOf(st, 'u3/')).toEqual([]);
    expect(await st.unfinished()).toEqual([]);
  });

  it('deletes one, many (over a thousand), and by prefix; an absent one is no error', async () => {
    await st.delete(['u1/aa/one', 'u1/never']);
    expect(await keysOf(st, 'u1/')).toEqual(['u1/bb/two']);
    const many = Array.from({ length: 1003 }, (_, i) => `u4/${String(i).padStart(4, '0')}`);
    for (let i = 0; i < many.length; i += 50) await Promise.all(many.slice(i, i + 50).map((k) => st.put(k, Readable.from([Buffer.from(k)]), k.length)));
    expect((await keysOf(st, 'u4/')).length).toBe(1003);
    await st.delete(many.slice(0, 1001));
    expect(await keysOf(st, 'u4/')).toEqual(many.slice(1001));
    expect(await st.deletePrefix('u4/')).toBe(2);
    expect(await st.deletePrefix('u1/')).toBe(1);
    expect(await keysOf(st)).toEqual(['u2/aa/three']);
  });
});

describe('s3 store specifics', () => {
  it('an unfinished multipart upload is listed, invisible as an object, and discarded', async () => {
    useCephCredentials(ceph());
    const st = new S3ObjectStore(parseS3Url(`s3://${ceph().bucket}/unfinished?endpoint=${encodeURIComponent(ceph().endpoint)}`));
    try {
      const { CreateMultipartUploadCommand, S3Client } = await import('@aws-sdk/client-s3');
      const c = new S3Client({ endpoint: ceph().endpoint, region: ceph().region, forcePathStyle: true });
      await c.send(new CreateMultipartUploadCommand({ Bucket: ceph().bucket, Key: 'unfinished/u5/left' }));
      c.destroy();
      const open = await st.unfinished();
      expect(open.map((u) => u.key)).toEqual(['u5/left']);
      expect(await keysOf(st)).toEqual([]);
      await st.discard(open.map((u) => u.id));
      expect(await st.unfinished()).toEqual([]);
    } finally {
      await st.close();
    }
  });

  it('signs its GETs under a prefix with spaces, "+", "~" and non-ASCII characters as radosgw checks them', async () => {
    useCephCredentials(ceph());
    const prefix = encodeURIComponent('odd prefix+ção~x');
    const st = new S3ObjectStore(parseS3Url(`s3://${ceph().bucket}/${prefix}?endpoint=${encodeURIComponent(ceph().endpoint)}`));
    try {
      const a = randomBytes(5000);
      await st.put('u6/a', Readable.from([a]), a.length);
      expectSame(await bytes(await st.get('u6/a')), a);
      expectSame(await bytes(await st.get('u6/a', { start: 10, end: 19 })), a.subarray(10, 20));
      expect(await keysOf(st)).toEqual(['u6/a']);
      await st.deletePrefix('u6/');
    } finally {
      await st.close();
    }
    expect(encodeKeyPath("a b/c+d/ç/e~f/g*h!'()")).toBe('a%20b/c%2Bd/%C3%A7/e~f/g%2Ah%21%27%28%29');
  });

  it('refuses URLs with credentials, unknown parameters or no bucket', () => {
    const refused = (url: string) => {
      try {
        checkObjectStoreUrl(url);
        return undefined;
      } catch (e) {
        return (e as { code?: string; message: string }).code === 'backend_url' ? (e as Error).message : `wrong error: ${(e as Error).message}`;
      }
    };
    expect(refused('s3://AKIA:secret@bucket?endpoint=http://127.0.0.1:1')).toMatch(/credentials do not go in the URL/);
    expect(refused('s3://bucket?endpoint=http://x&secret=1')).toMatch(/unknown parameter 'secret'/);
    expect(refused('s3://?endpoint=http://x')).toMatch(/./);
    expect(refused('s3://bucket?endpoint=ftp://x')).toMatch(/endpoint is not an http/);
    expect(refused('gs://bucket')).toMatch(/expected file:DIR or s3:/);
    expect(refused('s3://my-bucket/some/prefix?endpoint=http://127.0.0.1:7480&region=eu-west-1')).toBeUndefined();
    expect(parseS3Url('s3://my-bucket/some/prefix?endpoint=http://127.0.0.1:7480', {})).toEqual({
      bucket: 'my-bucket',
      prefix: 'some/prefix/',
      endpoint: 'http://127.0.0.1:7480',
      region: 'us-east-1',
      pathStyle: true,
    });
  });
});
