/**
 * The two storage backends a test server runs on:
 *   sqliteBackend   SQLite + files in the server's temp folder (the default)
 *   pgS3Backend     PostgreSQL 15 + Ceph radosgw (the engines of the file,
 *                   from postgresPerFile() / cephPerFile()): each server gets
 *                   a database and a bucket prefix of its own, so the suites
 *                   of one file share one pair of engines.
 * The S3 credentials go where the server reads them: the AWS_* environment.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { ServerOptions } from '../../src/server/index.ts';
import type { Ceph } from './ceph.ts';
import type { Postgres } from './postgres.ts';

export interface TestBackend {
  readonly name: 'sqlite+files' | 'postgres+s3';
  /** Options for one fresh server (nothing shared with another server). */
  fresh(): Promise<Pick<ServerOptions, 'db' | 'blobs'>>;
}

export const sqliteBackend: TestBackend = { name: 'sqlite+files', fresh: async () => ({}) };

/** A new, empty database on `server`; its URL. */
export async function freshDatabase(server: Postgres): Promise<string> {
  const name = `t_${randomBytes(6).toString('hex')}`;
  const c = new pg.Client(server.url);
  await c.connect();
  try {
    await c.query(`CREATE DATABASE ${name}`);
  } finally {
    await c.end();
  }
  const u = new URL(server.url);
  u.pathname = `/${name}`;
  return u.toString();
}

/** A new, empty place in the cluster's bucket; its s3:// URL. */
export function freshBucketPrefix(ceph: Ceph): string {
  useCephCredentials(ceph);
  return `s3://${ceph.bucket}/t-${randomBytes(6).toString('hex')}?endpoint=${encodeURIComponent(ceph.endpoint)}&region=${ceph.region}`;
}

/** The server reads S3 credentials from the environment only. */
export function useCephCredentials(ceph: Ceph): void {
  process.env.AWS_ACCESS_KEY_ID = ceph.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = ceph.secretAccessKey;
}

export function pgS3Backend(postgres: () => Postgres, ceph: () => Ceph): TestBackend {
  return {
    name: 'postgres+s3',
    fresh: async () => ({ db: await freshDatabase(postgres()), blobs: freshBucketPrefix(ceph()) }),
  };
}
