/**
 * A prune's one request (data v2, src/store/prune.ts): the owner repacked the
 * chunks still in use of some half-empty packs into new packs, already
 * uploaded; now every snapshot that referenced a removed pack references the
 * new ones instead, and the removed packs go — in one transaction, then their
 * files. The server cannot check what the packs hold (it reads nothing), only
 * that the new ones are stored; a client that lies hurts only its own data.
 *
 * Refused: a removed pack a shared snapshot (or its chain) references — the
 * person it is shared with finds chunks through the trees' locations, which a
 * repack would break (409 `pack_shared`); a new pack not stored (422
 * `missing_blobs`); a removed pack not stored (404).
 */
import type { Db } from '../db/open.ts';
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

export async function rewritePacks(db: Db, blobs: BlobStore, userId: string, r: Rewrite): Promise<{ snapshots: number; removed: number; freed: number }> {
  const missingNew = blobs.missing(userId, r.add);
  if (missingNew.length) throw new UnprocessableError('missing_blobs', `${missingNew.length} new pack(s) are not uploaded`, { missing: missingNew.map((h) => `sha256:${h}`) });
  const gone = blobs.missing(userId, r.remove);
  if (gone.length) throw new NotFoundError('blob', `${gone.length} pack(s) to remove are not stored`);
  const marks = r.remove.map(() => '?').join(',');
  // Snapshots in the chain of any shared snapshot of this user.
  const shared = db
    .prepare(
      `WITH RECURSIVE chain(id) AS (
         SELECT snapshot_id FROM shares WHERE owner_id = ?
         UNION
         SELECT s.parent FROM snapshots s JOIN chain c ON s.user_id = ? AND s.id = c.id WHERE s.parent IS NOT NULL
       )
       SELECT DISTINCT sb.hash FROM snapshot_blobs sb JOIN chain c ON sb.snapshot_id = c.id WHERE sb.user_id = ? AND sb.hash IN (${marks})`,
    )
    .all(userId, userId, userId, ...r.remove) as { hash: string }[];
  if (shared.length) throw new ConflictError('pack_shared', `${shared.length} pack(s) are referenced by a shared snapshot; revoke the share first`, { packs: shared.map((x) => x.hash) });
  const freed = r.remove.reduce((n, h) => n + (blobs.info(userId, h)?.size ?? 0), 0);
  let snapshots = 0;
  db.transaction(() => {
    const affected = db.prepare(`SELECT DISTINCT snapshot_id FROM snapshot_blobs WHERE user_id = ? AND hash IN (${marks})`).all(userId, ...r.remove) as { snapshot_id: string }[];
    snapshots = affected.length;
    const ins = db.prepare('INSERT OR IGNORE INTO snapshot_blobs (user_id, snapshot_id, hash) VALUES (?, ?, ?)');
    for (const a of affected) for (const h of r.add) ins.run(userId, a.snapshot_id, h);
    db.prepare(`DELETE FROM snapshot_blobs WHERE user_id = ? AND hash IN (${marks})`).run(userId, ...r.remove);
  })();
  await blobs.remove(userId, r.remove);
  return { snapshots, removed: r.remove.length, freed };
}
