/**
 * `serve check`: does the blob store hold what the database says?
 *   - every blob row's object is there, with the row's size and (unless
 *     `fast`) the row's sha256, read back in full;
 *   - every blob a manifest references has its row;
 *   - orphans, listed: objects no row names (an upload whose process died
 *     between the object and the row, an erasure interrupted), and writes
 *     the store never finished (temp files, multipart uploads).
 * With `deleteOrphans`, orphan objects older than a day and stale
 * unfinished writes are deleted (younger ones may be uploads in progress).
 * Problems make `ok` false; orphans alone do not.
 */
import type { Database } from '../db/database.ts';
import type { ObjectStore, UnfinishedWrite } from '../objects/object-store.ts';
import { objectKey } from '../store/blobs.ts';
import { hashOf } from './migrate.ts';
import { pages, TABLES } from './tables.ts';

/** An object no row names is deleted by --delete-orphans only once this old. */
export const ORPHAN_MIN_AGE_MS = 24 * 3600_000;

export interface CheckReport {
  ok: boolean;
  blobs: number;
  bytes: number;
  problems: string[];
  orphans: { key: string; size: number; modified: number }[];
  unfinished: UnfinishedWrite[];
  deleted: { orphans: number; unfinished: number };
}

export async function checkServer(db: Database, objects: ObjectStore, o: { fast?: boolean; deleteOrphans?: boolean; parallel?: number; log?: (l: string) => void } = {}): Promise<CheckReport> {
  const log = o.log ?? (() => {});
  const report: CheckReport = { ok: true, blobs: 0, bytes: 0, problems: [], orphans: [], unfinished: [], deleted: { orphans: 0, unfinished: 0 } };
  const known = new Set<string>();
  const spec = TABLES.find((t) => t.name === 'blobs')!;
  for await (const page of pages(db, spec, 500)) {
    let next = 0;
    const worker = async () => {
      while (next < page.length) {
        const r = page[next++]!;
        const userId = r.user_id as string;
        const hash = r.hash as string;
        const size = r.size as number;
        const key = objectKey(userId, { hash, object: r.object as string | null });
        known.add(key);
        const where = `blob ${hash} of user ${userId} (${key})`;
        if (o.fast) {
          const have = await objects.head(key);
          if (have === undefined) report.problems.push(`${where}: missing`);
          else if (have !== size) report.problems.push(`${where}: ${have} bytes, not ${size}`);
        } else {
          try {
            const got = await hashOf(await objects.get(key));
            if (got.size !== size || got.hash !== hash) report.problems.push(`${where}: holds ${got.size} bytes with sha256 ${got.hash}`);
          } catch (e) {
            report.problems.push(`${where}: ${(e as { code?: string }).code === 'object_missing' ? 'missing' : (e as Error).message}`);
          }
        }
        report.blobs++;
        report.bytes += size;
      }
    };
    await Promise.all(Array.from({ length: o.parallel ?? 4 }, worker));
  }
  log(`${report.blobs} blob(s), ${(report.bytes / 1024 / 1024).toFixed(1)} MiB ${o.fast ? 'present with their sizes' : 'read back and hashed'}; ${report.problems.length} problem(s)`);

  const dangling = await db.all<{ user_id: string; snapshot_id: string; hash: string }>(
    'SELECT user_id, snapshot_id, hash FROM snapshot_blobs sb WHERE NOT EXISTS (SELECT 1 FROM blobs b WHERE b.user_id = sb.user_id AND b.hash = sb.hash)',
  );
  for (const d of dangling) report.problems.push(`snapshot ${d.snapshot_id} of user ${d.user_id} references blob ${d.hash}, which has no row`);

  const now = Date.now();
  const old: string[] = [];
  for await (const obj of objects.list()) {
    if (known.has(obj.key)) continue;
    report.orphans.push(obj);
    if (now - obj.modified > ORPHAN_MIN_AGE_MS) old.push(obj.key);
  }
  report.unfinished = await objects.unfinished();
  if (o.deleteOrphans) {
    await objects.delete(old);
    const stale = report.unfinished.filter((u) => now - u.at > objects.staleAfterMs);
    await objects.discard(stale.map((u) => u.id));
    report.deleted = { orphans: old.length, unfinished: stale.length };
  }
  report.ok = report.problems.length === 0;
  return report;
}
