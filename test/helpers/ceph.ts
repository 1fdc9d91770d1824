/**
 * A throwaway Ceph 16 radosgw (S3) for tests and benches, started by
 * `scripts/ceph-rgw.sh` (1 mon + 1 memstore osd + radosgw on 127.0.0.1, a
 * bucket already made; ~1.5–2.5 s). Real engine, never a mock.
 *
 *   const ceph = cephPerFile();            // in a test file: beforeAll/afterAll
 *   test('…', async () => { const s3 = s3ClientFor(ceph()); … });
 *
 *   const ceph = await startCeph();        // anywhere else (bench/): stop() when done
 *
 * `s3ClientFor` sets what Ceph 16 needs (shared/notes/s3-ceph-postgres.md):
 * path-style addressing, and flexible checksums only when required (the SDK's
 * default aws-chunked trailers make a stream PutObject fail with 411).
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll } from 'vitest';
import { pidFromFile, pssMiB, startEngine } from './engine.ts';

export interface Ceph {
  /** `http://127.0.0.1:PORT`. */
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** A bucket that exists, empty at start. */
  bucket: string;
  /** The facts as environment variables (S3_ENDPOINT, AWS_REGION, AWS_ACCESS_KEY_ID, …), for a child process. */
  env: Record<string, string>;
  /** The cluster's folder (config, logs, pid files). */
  dir: string;
  /** Wall time of the start, in ms. */
  startMs: number;
  /** mon + osd + radosgw PSS, in MiB. */
  pssMiB(): Promise<number>;
  stop(): Promise<void>;
}

export async function startCeph(): Promise<Ceph> {
  const e = await startEngine('ceph-rgw.sh', ['S3_ENDPOINT', 'AWS_REGION', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'BUCKET']);
  const f = e.facts;
  return {
    endpoint: f.S3_ENDPOINT!,
    region: f.AWS_REGION!,
    accessKeyId: f.AWS_ACCESS_KEY_ID!,
    secretAccessKey: f.AWS_SECRET_ACCESS_KEY!,
    bucket: f.BUCKET!,
    env: f,
    dir: e.dir,
    startMs: e.startMs,
    async pssMiB() {
      const run = join(e.dir, 'run');
      const files = (await readdir(run)).filter((n) => n.endsWith('.pid'));
      const pids = await Promise.all(files.map((n) => pidFromFile(join(run, n))));
      return pssMiB(pids.filter((p): p is number => p !== undefined));
    },
    stop: e.stop,
  };
}

/** An S3 client for `ceph` with the settings Ceph 16 needs. */
export function s3ClientFor(ceph: Ceph): S3Client {
  return new S3Client({
    endpoint: ceph.endpoint,
    region: ceph.region,
    credentials: { accessKeyId: ceph.accessKeyId, secretAccessKey: ceph.secretAccessKey },
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

/** Starts one cluster for this test file (beforeAll) and stops it after (afterAll). */
export function cephPerFile(): () => Ceph {
  let ceph: Ceph | undefined;
  beforeAll(async () => {
    ceph = await startCeph();
  });
  afterAll(async () => {
    await ceph?.stop();
  });
  return () => {
    if (!ceph) throw new Error('cephPerFile(): the cluster is not started (call it at the top of the file, use it inside tests)');
    return ceph;
  };
}
