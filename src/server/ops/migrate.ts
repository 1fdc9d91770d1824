/**
 * `serve migrate`: copies a server's whole state from one database (and blob
 * store) to another — typically a home server's SQLite + files to
 * PostgreSQL + S3 — with the servers stopped.
 *
 *   1. Both databases open (the target's schema migrated to the newest).
 *   2. Table by table, in foreign-key order (tables.ts), pages of rows are
 *      inserted with ON CONFLICT DO NOTHING.
 *   3. Blobs, when blob stores are given: for each blob row the target does
 *      not have yet, the object is streamed from the source store to the
 *      target store under the same key, hashed on the way (it must be the
 *      row's sha256 and size), then read back from the target and hashed
 *      again; only then is the row inserted. Without blob stores the rows
 *      are copied as they are (the objects stay where they are).
 *   4. Verification: every table has as many rows on both sides and the same
 *      digest of their contents (tables.ts `digest`).
 *
 * Resumable: killed anywhere, run it again — rows already there are
 * skipped, a blob whose row is there was verified when it was copied, and
 * an object copied without its row is copied again (same key, same bytes).
 * Anything that differs at the end (the source changed, the target held
 * other data) fails with `migrate_mismatch`, naming the tables.
 */
import { existsSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { pipeline as pipelineCb, type Readable } from 'node:stream';
import { CodedError } from '../../util/coded-error.ts';
import { openDatabase } from '../db/open.ts';
import type { Database } from '../db/database.ts';
import { openObjectStore } from '../objects/open.ts';
import type { ObjectStore } from '../objects/object-store.ts';
import { objectKey } from '../store/blobs.ts';
import { Meter } from '../store/meter.ts';
import { TABLES, count, digest, insertRows, pages, type Row, type TableSpec } from './tables.ts';

export interface MigrateOptions {
  /** Source database URL. */
  from: string;
  /** Target database URL. */
  to: string;
  /** Source and target blob stores (both, or neither: then only the rows are copied). */
  blobsFrom?: string;
  blobsTo?: string;
  /** Blobs copied at a time (default 4). */
  parallel?: number;
  log?: (line: string) => void;
}

export interface MigrateReport {
  tables: { name: string; rows: number; inserted: number }[];
  blobs: { rows: number; copied: number; bytes: number };
}

export async function migrateServer(o: MigrateOptions): Promise<MigrateReport> {
  const log = o.log ?? (() => {});
  if ((o.blobsFrom === undefined) !== (o.blobsTo === undefined)) throw new CodedError('backend_url', '--blobs-from and --blobs-to go together');
  if (o.from === o.to) throw new CodedError('backend_url', '--from and --to are the same database');
  if (o.blobsFrom !== undefined && o.blobsFrom === o.blobsTo) throw new CodedError('backend_url', '--blobs-from and --blobs-to are the same store');
  if (o.from.startsWith('sqlite:') && !existsSync(o.from.slice('sqlite:'.length))) throw new CodedError('backend_url', `--from: no database at ${o.from.slice('sqlite:'.length)}`);

  const src = await openDatabase(o.from);
  let dst: Database | undefined;
  let from: ObjectStore | undefined;
  let to: ObjectStore | undefined;
  try {
    dst = await openDatabase(o.to);
    if (o.blobsFrom !== undefined) {
      from = openObjectStore(o.blobsFrom);
      to = openObjectStore(o.blobsTo!);
    }
    log(`migrating ${src.description} → ${dst.description}${from ? `, blobs ${from.description} → ${to!.description}` : ' (rows only: the blob objects stay where they are)'}`);
    const report: MigrateReport = { tables: [], blobs: { rows: 0, copied: 0, bytes: 0 } };
    for (const t of TABLES) {
      if (t.name === 'blobs' && from && to) {
        report.blobs = await copyBlobs(src, dst, from, to, t, o.parallel ?? 4, log);
        report.tables.push({ name: t.name, rows: report.blobs.rows, inserted: report.blobs.copied });
        continue;
      }
      let inserted = 0;
      let rows = 0;
      for await (const page of pages(src, t)) {
        rows += page.length;
        inserted += await insertRows(dst, t, page);
      }
      report.tables.push({ name: t.name, rows, inserted });
      log(`${t.name}: ${rows} row(s), ${inserted} new`);
    }
    if (dst.engine === 'postgres') {
      // rows came with their seq: the identity continues after the highest
      await dst.run("SELECT setval(pg_get_serial_sequence('audit', 'seq'), GREATEST((SELECT MAX(seq) FROM audit), 1))");
    }
    await verify(src, dst, log);
    return report;
  } finally {
    await src.close().catch(() => {});
    await dst?.close().catch(() => {});
    await from?.close().catch(() => {});
    await to?.close().catch(() => {});
  }
}

async function copyBlobs(src: Database, dst: Database, from: ObjectStore, to: ObjectStore, t: TableSpec, parallel: number, log: (l: string) => void) {
  let rows = 0;
  let copied = 0;
  let bytes = 0;
  for await (const page of pages(src, t, 200)) {
    rows += page.length;
    const have = new Set(
      (
        await dst.all<{ user_id: string; hash: string }>(
          `SELECT user_id, hash FROM blobs WHERE ${page.map(() => '(user_id = ? AND hash = ?)').join(' OR ')}`,
          page.flatMap((r) => [r.user_id as string, r.hash as string]),
        )
      ).map((r) => `${r.user_id}/${r.hash}`),
    );
    const todo = page.filter((r) => !have.has(`${r.user_id}/${r.hash}`));
    let next = 0;
    const worker = async () => {
      while (next < todo.length) {
        const r = todo[next++]!;
        await copyOne(from, to, r);
        await insertRows(dst, t, [r]);
        copied++;
        bytes += r.size as number;
      }
    };
    await Promise.all(Array.from({ length: Math.min(parallel, todo.length) }, worker));
    log(`blobs: ${rows} row(s) so far, ${copied} object(s) copied and verified (${(bytes / 1024 / 1024).toFixed(1)} MiB)`);
  }
  return { rows, copied, bytes };
}

/** Streams one blob's object across, checking its sha256 and size on the way and once more from the target. */
async function copyOne(from: ObjectStore, to: ObjectStore, r: Row): Promise<void> {
  const b = { hash: r.hash as string, object: r.object as string | null };
  const key = objectKey(r.user_id as string, b);
  const size = r.size as number;
  const meter = new Meter(size);
  pipelineCb(await from.get(key), meter, () => {});
  await to.put(key, meter, size);
  const mismatch = (where: string, got: string) =>
    new CodedError('migrate_mismatch', `blob ${b.hash} of user ${r.user_id as string}: ${where} has ${got}, not sha256 ${b.hash} of ${size} bytes`, { key });
  if (meter.digest() !== b.hash) {
    await to.delete([key]);
    throw mismatch(`the source object ${key}`, `sha256 ${meter.digest()}`);
  }
  const back = await hashOf(await to.get(key));
  if (back.hash !== b.hash || back.size !== size) throw mismatch(`the copy ${key}`, `sha256 ${back.hash} of ${back.size} bytes`);
}

export async function hashOf(stream: Readable): Promise<{ hash: string; size: number }> {
  const h = createHash('sha256');
  let size = 0;
  for await (const c of stream) {
    h.update(c as Buffer);
    size += (c as Buffer).length;
  }
  return { hash: h.digest('hex'), size };
}

async function verify(src: Database, dst: Database, log: (l: string) => void): Promise<void> {
  const differ: string[] = [];
  for (const t of TABLES) {
    const [a, b] = [await count(src, t.name), await count(dst, t.name)];
    if (a !== b) {
      differ.push(`${t.name}: ${a} row(s) in the source, ${b} in the target`);
      continue;
    }
    if ((await digest(src, t)) !== (await digest(dst, t))) differ.push(`${t.name}: ${a} row(s) on both sides, but their contents differ`);
  }
  if (differ.length) {
    throw new CodedError('migrate_mismatch', `the target differs from the source (was the source server still running, or the target not empty?):\n  ${differ.join('\n  ')}`, { tables: differ });
  }
  log(`verified: ${TABLES.length} tables have the same row counts and contents on both sides`);
}
