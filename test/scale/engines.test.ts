/**
 * Smoke test of the real engines the server at scale runs on (issue 15), as
 * the project's scripts start them: Ceph 16 radosgw through @aws-sdk/client-s3
 * and PostgreSQL 15 through pg. One of each for the file; a second pair is
 * started alongside to show the scripts are parallel-safe and clean up. Start
 * times and memory are printed (figures in scripts/README.md).
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import pg from 'pg';
import { afterAll, describe, expect, test } from 'vitest';
import { cephPerFile, s3ClientFor, startCeph } from '../helpers/ceph.ts';
import { pidFromFile } from '../helpers/engine.ts';
import { postgresPerFile, startPostgres } from '../helpers/postgres.ts';

const ceph = cephPerFile();
const db = postgresPerFile();

const MiB = 1024 * 1024;
const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');

async function bytesOf(s3: S3Client, bucket: string, key: string, range?: string) {
  const r = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, Range: range }));
  return { status: r.$metadata.httpStatusCode, contentRange: r.ContentRange, body: Buffer.from(await r.Body!.transformToByteArray()) };
}

async function statusOf(p: Promise<unknown>): Promise<number | undefined> {
  try {
    await p;
    return 200;
  } catch (e) {
    return (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  }
}

/** A Node stream of `body` in 64 KiB pieces: the SDK cannot know its length by itself. */
function streamOf(body: Buffer): Readable {
  return Readable.from(
    (function* () {
      for (let i = 0; i < body.length; i += 64 * 1024) yield body.subarray(i, i + 64 * 1024);
    })(),
  );
}

describe('Ceph radosgw (S3)', () => {
  const bucket = 'engines-smoke';
  let s3: S3Client;
  afterAll(() => s3?.destroy());

  test('bucket, streaming PUT with Content-Length, HEAD, ranged GET', async () => {
    s3 = s3ClientFor(ceph());
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const body = randomBytes(6 * MiB + 123);
    const put = await s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: 'streamed', Body: streamOf(body), ContentLength: body.length }),
    );
    expect(put.ETag).toBe(`"${md5(body)}"`);

    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'streamed' }));
    expect(head.ContentLength).toBe(body.length);
    expect(head.ETag).toBe(`"${md5(body)}"`);

    // Across the first MiB boundary, then a suffix range.
    const mid = await bytesOf(s3, bucket, 'streamed', `bytes=${MiB - 10}-${2 * MiB + 9}`);
    expect(mid.status).toBe(206);
    expect(mid.contentRange).toBe(`bytes ${MiB - 10}-${2 * MiB + 9}/${body.length}`);
    expect(mid.body.equals(body.subarray(MiB - 10, 2 * MiB + 10))).toBe(true);
    const tail = await bytesOf(s3, bucket, 'streamed', 'bytes=-100');
    expect(tail.status).toBe(206);
    expect(tail.body.equals(body.subarray(body.length - 100))).toBe(true);

    const whole = await bytesOf(s3, bucket, 'streamed');
    expect(whole.status).toBe(200);
    expect(md5(whole.body)).toBe(md5(body));
  });

  test('multipart upload of > 5 MiB reads back byte for byte; DELETE → 404', async () => {
    const parts = [randomBytes(5 * MiB), randomBytes(2 * MiB + 7)];
    const body = Buffer.concat(parts);
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'multi' }));
    const etags: string[] = [];
    for (const [i, part] of parts.entries()) {
      const r = await s3.send(
        new UploadPartCommand({ Bucket: bucket, Key: 'multi', UploadId, PartNumber: i + 1, Body: part, ContentLength: part.length }),
      );
      etags.push(r.ETag!);
    }
    // Ceph 16 answers CompleteMultipartUpload with an empty <ETag/> (a known RGW bug): do not rely on it.
    await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: bucket,
        Key: 'multi',
        UploadId,
        MultipartUpload: { Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) },
      }),
    );
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'multi' }));
    expect(head.ContentLength).toBe(body.length);
    expect(head.ETag).toMatch(/-2"$/);
    const whole = await bytesOf(s3, bucket, 'multi');
    expect(whole.body.equals(body)).toBe(true);
    const across = await bytesOf(s3, bucket, 'multi', `bytes=${5 * MiB - 3}-${5 * MiB + 2}`);
    expect(across.status).toBe(206);
    expect(across.body.equals(body.subarray(5 * MiB - 3, 5 * MiB + 3))).toBe(true);

    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'multi' }));
    expect(await statusOf(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'multi' })))).toBe(404);
    expect(await statusOf(s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'multi' })))).toBe(404);
  });

  test('the bucket the script made exists and is empty', async () => {
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: ceph().bucket }));
    expect(listed.KeyCount).toBe(0);
  });
});

describe('PostgreSQL', () => {
  test('connects through DATABASE_URL; a transaction commits or rolls back as a whole', async () => {
    const a = new pg.Client(db().url);
    const b = new pg.Client(db().url);
    await a.connect();
    await b.connect();
    try {
      const v = await a.query<{ v: string }>('select version() as v');
      expect(v.rows[0]!.v).toMatch(/^PostgreSQL 15\./);
      await a.query('create table notes (id int primary key, body text not null)');

      await a.query('begin');
      await a.query("insert into notes values (1, 'lost')");
      expect((await b.query('select count(*)::int as n from notes')).rows[0].n).toBe(0); // not visible before commit
      await a.query('rollback');
      await a.query('begin');
      await a.query("insert into notes values (1, 'kept'), (2, 'kept too')");
      await expect(a.query("insert into notes values (1, 'duplicate')")).rejects.toThrow(/duplicate key/);
      await a.query('rollback'); // the failed statement aborted the whole transaction
      await a.query("insert into notes values (1, 'kept')");
      const rows = (await b.query('select id, body from notes order by id')).rows;
      expect(rows).toEqual([{ id: 1, body: 'kept' }]);
    } finally {
      await a.end();
      await b.end();
    }
  });

  test('an advisory lock held by one connection is refused to another until released', async () => {
    const a = new pg.Client(db().url);
    const b = new pg.Client(db().url);
    await a.connect();
    await b.connect();
    const tryLock = async (c: pg.Client) => (await c.query('select pg_try_advisory_lock(4215) as ok')).rows[0].ok as boolean;
    try {
      expect(await tryLock(a)).toBe(true);
      expect(await tryLock(b)).toBe(false);
      await a.query('select pg_advisory_unlock(4215)');
      expect(await tryLock(b)).toBe(true);
      expect(await tryLock(a)).toBe(false);
      await b.end(); // a session's locks die with it (a crashed process frees its claim)
      expect(await tryLock(a)).toBe(true);
    } finally {
      await a.end();
      await b.end().catch(() => {});
    }
  });
});

describe('the start scripts', () => {
  test('a second pair starts alongside the first; stop kills every daemon and removes its folder', async () => {
    const [c2, p2] = await Promise.all([startCeph(), startPostgres()]);
    let stopped = false;
    try {
      expect(c2.endpoint).not.toBe(ceph().endpoint);
      expect(p2.port).not.toBe(db().port);
      const s3 = s3ClientFor(c2);
      await s3.send(new PutObjectCommand({ Bucket: c2.bucket, Key: 'k', Body: 'second cluster' }));
      expect((await bytesOf(s3, c2.bucket, 'k')).body.toString()).toBe('second cluster');
      expect(await statusOf(s3ClientFor(ceph()).send(new HeadObjectCommand({ Bucket: ceph().bucket, Key: 'k' })))).toBe(404);
      s3.destroy();
      const client = new pg.Client(p2.url);
      await client.connect();
      expect((await client.query('select current_database() as d')).rows[0].d).toBe('koder');
      await client.end();

      const runDir = join(c2.dir, 'run');
      const cephPids = await Promise.all((await readdir(runDir)).filter((n) => n.endsWith('.pid')).map((n) => pidFromFile(join(runDir, n))));
      const pgPid = await pidFromFile(join(p2.dir, 'data', 'postmaster.pid'));
      const pids = [...cephPids, pgPid].filter((p): p is number => p !== undefined);
      expect(pids).toHaveLength(4); // mon, osd, radosgw, postmaster
      await Promise.all([c2.stop(), p2.stop()]);
      stopped = true;
      expect(existsSync(c2.dir)).toBe(false);
      expect(existsSync(p2.dir)).toBe(false);
      for (const pid of pids) expect(liveState(pid), `pid ${pid}`).toBe('gone');
      const refused = new pg.Client({ connectionString: p2.url, connectionTimeoutMillis: 2000 });
      await expect(refused.connect()).rejects.toThrow(/ECONNREFUSED/);
    } finally {
      if (!stopped) await Promise.all([c2.stop(), p2.stop()]);
    }
  });

  test('start times and memory', async () => {
    const figures = {
      cephStartMs: Math.round(ceph().startMs),
      postgresStartMs: Math.round(db().startMs),
      cephPssMiB: Math.round(await ceph().pssMiB()),
      postgresPssMiB: Math.round(await db().pssMiB()),
    };
    console.log(`engines: ${JSON.stringify(figures)}`);
    expect(figures.cephPssMiB).toBeGreaterThan(0);
    expect(figures.postgresPssMiB).toBeGreaterThan(0);
  });
});

/** 'gone' when the process has exited (a zombie not yet reaped by PID 1 counts as gone). */
function liveState(pid: number): 'gone' | 'alive' {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return /\) [ZX] /.test(stat) ? 'gone' : 'alive';
  } catch {
    return 'gone';
  }
}
