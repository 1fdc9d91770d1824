/**
 * A prune's one request (data v2, src/store/prune.ts): the owner repacked the
 * chunks still in use of some half-empty packs into new packs, already
 * uploaded; now every snapshot that referenced a removed pack references the
 * new ones instead, and the removed packs go — in one transaction, then their
 * objects. The server cannot check what the packs hold (it reads nothing),
 * only that the new ones are stored; a client that lies hurts only its own
 * data.
 *
 * Refused: a removed pack a shared snapshot (or its chain) references — the
 * person it is shared with finds chunks through the trees' locations, which a
 * repack would break (409 `pack_shared`); a new pack not stored (422
 * `missing_blobs`); a removed pack not stored (404).
 *
 * The checks and the swap run in one transaction, the removed objects go
 * after it commits (BlobStore.remove: row, then object).
 */
import type { Database } from '../db/database.ts';
import { BadRequestError, ConflictError, NotFoundError, UnprocessableError } from '../errors.ts';
import { HEX64, type BlobStore } from './blobs.ts';

export interface Rewrite {
  remove: string[];
  add: string[];
}

export function parseRewrite(body: unknown): Rewrite {
  const o = body as { remove?: unknown; add?: unknown } | null;
  const list = (v: unknown, what: string): string[] => {
    if (!Array.isArray(v) || v.length > 10_000 || v.some((h) => typeof h !== 'string' || !HEX64.test(h))) throw new BadRequestError('invalid_rewrite', `${what} must be an array of blob addresses (64 lowercase hex)`);
    return [...new Set(v as string[])];
  };
  const r = { remove: list(o?.remove, 'remove'), add: list(o?.add, 'add') };
  if (r.remove.length === 0) throw new BadRequestError('invalid_rewrite', 'nothing to remove');
  if (r.remove.some((h) => r.add.includes(h))) throw new BadRequestError('invalid_rewrite', 'a pack cannot be both removed and added');
  return r;
}

/** Up to 500 `?` per statement (SQLite's and PostgreSQL's parameter limits are far above). */
function parts<T>(xs: T[], n = 500): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += n) out.push(xs.slice(i, i + n));
  return out;
}
const marks = (xs: unknown[]) => xs.map(() => '?').join(', ');

export async function rewritePacks(db: Database, blobs: BlobStore, userId: string, r: Rewrite): Promise<{ snapshots: number; removed: number; freed: number }> {
  const { snapshots, freed } = await db.tx(async (q) => {
    const missingNew = await blobs.missing(userId, r.add, q);
    if (missingNew.length) throw new UnprocessableError('missing_blobs', `${missingNew.length} new pack(s) are not uploaded`, { missing: missingNew.map((h) => `sha256:${h}`) });
    const gone = await blobs.missing(userId, r.remove, q);
    if (gone.length) throw new NotFoundError('blob', `${gone.length} pack(s) to remove are not stored`);
    const shared = new Set<string>();
    let freed = 0;
    const affected = new Set<string>();
    for (const part of parts(r.remove)) {
      // snapshots in the chain of any shared snapshot of this user
      const rows = await q.all<{ hash: string }>(
        `WITH RECURSIVE chain(id) AS (
           SELECT snapshot_id FROM shares WHERE owner_id = ?
           UNION
           SELECT s.parent FROM snapshots s JOIN chain c ON s.user_id = ? AND s.id = c.id WHERE s.parent IS NOT NULL
         )
         SELECT DISTINCT sb.hash FROM snapshot_blobs sb JOIN chain c ON sb.snapshot_id = c.id WHERE sb.user_id = ? AND sb.hash IN (${marks(part)})`,
        [userId, userId, userId, ...part],
      );
      for (const x of rows) shared.add(x.hash);
      const size = await q.get<{ n: number | null }>(`SELECT SUM(size) AS n FROM blobs WHERE user_id = ? AND hash IN (${marks(part)})`, [userId, ...part]);
      freed += Number(size?.n ?? 0);
      for (const a of await q.all<{ snapshot_id: string }>(`SELECT DISTINCT snapshot_id FROM snapshot_blobs WHERE user_id = ? AND hash IN (${marks(part)})`, [userId, ...part])) affected.add(a.snapshot_id);
    }
    if (shared.size) throw new ConflictError('pack_shared', `${shared.size} pack(s) are referenced by a shared snapshot; revoke the share first`, { packs: [...shared] });
    const pairs = [...affected].flatMap((id) => r.add.map((h) => [id, h] as const));
    for (const part of parts(pairs, 300)) {
      await q.run(`INSERT INTO snapshot_blobs (user_id, snapshot_id, hash) VALUES ${part.map(() => '(?, ?, ?)').join(', ')} ON CONFLICT DO NOTHING`, part.flatMap(([id, h]) => [userId, id, h]));
    }
    for (const part of parts(r.remove)) await q.run(`DELETE FROM snapshot_blobs WHERE user_id = ? AND hash IN (${marks(part)})`, [userId, ...part]);
    return { snapshots: affected.size, freed };
  });
  await blobs.remove(userId, r.remove);
  return { snapshots, removed: r.remove.length, freed };
}
