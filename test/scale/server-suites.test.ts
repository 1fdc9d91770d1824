/**
 * The server and drive suites that exercise storage, on PostgreSQL 15 + Ceph
 * radosgw (one pair of engines for the file; each suite's server has its own
 * database and bucket prefix): the route matrix, tenancy and sharing, blob
 * integrity and Range, blob listing, share keys (api), a prune's pack
 * rewrite, erasure, quotas, cut and slow uploads, the drive client's Range
 * resume through dropped connections, a 200 MiB upload in flat memory (a
 * multipart upload to S3), and the fuzz.
 * The same suites run on SQLite + files in test/server and test/drive.
 */
import { describe } from 'vitest';
import { cephPerFile } from '../helpers/ceph.ts';
import { postgresPerFile } from '../helpers/postgres.ts';
import { pgS3Backend } from '../helpers/backends.ts';
import { apiSuite } from '../server/api.suite.ts';
import { erasureSuite } from '../server/erasure.suite.ts';
import { quotaSuite } from '../server/quota.suite.ts';
import { uploadsSuite } from '../server/uploads.suite.ts';
import { fuzzSuite } from '../server/fuzz.suite.ts';
import { packRewriteSuite } from '../server/pack-rewrite.suite.ts';
import { driveClientSuite } from '../drive/client.suite.ts';
import { uploadMemorySuite } from '../drive/upload-memory.suite.ts';

const backend = pgS3Backend(postgresPerFile(), cephPerFile());

describe('postgres+s3: api', () => apiSuite(() => backend));
describe('postgres+s3: pack rewrite', () => packRewriteSuite(() => backend));
describe('postgres+s3: erasure', () => erasureSuite(() => backend));
describe('postgres+s3: quota', () => quotaSuite(() => backend));
describe('postgres+s3: uploads', () => uploadsSuite(() => backend));
describe('postgres+s3: drive client', () => driveClientSuite(() => backend));
describe('postgres+s3: upload memory', () => uploadMemorySuite(() => backend));
describe('postgres+s3: fuzz', () => fuzzSuite(() => backend));
