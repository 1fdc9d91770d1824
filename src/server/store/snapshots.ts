/**
 * Snapshot manifests of each user, and who may read them.
 *
 * create: parse → verify the signature against the user's registered keys →
 * id = snapshotId → the parent must be one of the user's snapshots → every
 * referenced blob must be stored for the user → quota → one transaction
 * checks the blobs again and inserts the manifest and its blob references
 * (on PostgreSQL the foreign keys to the parent and the blobs hold against
 * another process deleting them meanwhile: a 422, as if checked before).
 * Posting the same manifest again is a no-op that answers the same id.
 *
 * delete: refused while children exist, unless cascading (then the subtree
 * goes, leaves first); shares of deleted snapshots go with them; blobs no
 * remaining snapshot references are collected.
 *
 * Reading someone else's snapshot: allowed when the owner shared it, or a
 * descendant of it, with the reader (a share covers the whole chain and every
 * blob of the chain). Anything else is "not found".
 */
import { blobHex, blobRefs, parse, snapshotId, verifySignature, ManifestParseError, VerificationError, MAX_MANIFEST_BYTES } from '../../manifest/index.ts';
import type { Manifest } from '../../manifest/index.ts';
import type { Database, Sql } from '../db/database.ts';
import type { Clock } from '../clock.ts';
import type { Quota } from '../quota.ts';
import type { BlobInfo, BlobStore } from './blobs.ts';
import type { KeyStore } from './keys.ts';
import { BadRequestError, ConflictError, NotFoundError, SIGNATURE_CODES, UnprocessableError } from '../errors.ts';
import { findUserByName } from '../users.ts';

/** The manifest core's size limit (src/manifest/limits.ts), so that the server caps bodies where parse would refuse. */
export { MAX_MANIFEST_BYTES };
const ID = /^[0-9a-f]{64}$/;

export interface SnapshotSummary {
  id: string;
  hostname: string;
  created_at: string;
  parent: string | null;
  /** 1 for a full snapshot, parent's depth + 1 for a delta. */
  depth: number;
  key_id: string;
  uploaded_at: number;
  /** Bytes of the manifest text. */
  manifest_size: number;
  /** Bytes of the distinct blobs this manifest references. */
  blobs_size: number;
  blob_count: number;
}

export interface SharedSnapshot extends SnapshotSummary {
  owner_id: string;
  owner_name: string;
  shared_at: number;
}

export function assertSnapshotId(id: string): void {
  if (!ID.test(id)) throw new NotFoundError('snapshot');
}

const summaryColumns = (db: Database) => `
  s.id, s.hostname, s.created_at, s.parent, s.depth, s.key_id, s.uploaded_at,
  ${db.bytesOf('s.text')} AS manifest_size,
  (SELECT COALESCE(SUM(b.size), 0) FROM snapshot_blobs sb JOIN blobs b ON b.user_id = sb.user_id AND b.hash = sb.hash
     WHERE sb.user_id = s.user_id AND sb.snapshot_id = s.id) AS blobs_size,
  (SELECT COUNT(*) FROM snapshot_blobs sb WHERE sb.user_id = s.user_id AND sb.snapshot_id = s.id) AS blob_count`;

/**
 * A user's whole list: the blob sums of all their snapshots in one grouped
 * pass (PostgreSQL ran the per-row subqueries of summaryColumns 6× slower
 * for a 20-snapshot list); parameters: user, user.
 */
const listQuery = (db: Database) => `
  SELECT s.id, s.hostname, s.created_at, s.parent, s.depth, s.key_id, s.uploaded_at,
    ${db.bytesOf('s.text')} AS manifest_size, COALESCE(x.blobs_size, 0) AS blobs_size, COALESCE(x.blob_count, 0) AS blob_count
  FROM snapshots s LEFT JOIN (
    SELECT sb.snapshot_id, SUM(b.size) AS blobs_size, COUNT(*) AS blob_count
    FROM snapshot_blobs sb JOIN blobs b ON b.user_id = sb.user_id AND b.hash = sb.hash
    WHERE sb.user_id = ? GROUP BY sb.snapshot_id
  ) x ON x.snapshot_id = s.id
  WHERE s.user_id = ? ORDER BY s.uploaded_at DESC, s.id`;

/** The chain (ids) readable by a reader in an owner's space through shares; parameters: owner, reader, owner. */
const SHARED_CHAIN = `
  WITH RECURSIVE chain(id) AS (
    SELECT snapshot_id FROM shares WHERE owner_id = ? AND grantee_id = ?
    UNION
    SELECT s.parent FROM snapshots s JOIN chain c ON s.user_id = ? AND s.id = c.id WHERE s.parent IS NOT NULL
  )`;

/** PostgreSQL's foreign_key_violation: a parent or blob deleted by another process meanwhile. */
const FK_VIOLATION = '23503';

export class SnapshotStore {
  private summary_: string;
  private list_: string;
  constructor(
    private db: Database,
    private clock: Clock,
    private blobs: BlobStore,
    private keys: KeyStore,
    private quota: Quota,
    /** Unreferenced blobs older than this are collected along with a delete. */
    private orphanAgeMs = 24 * 3600_000,
  ) {
    this.summary_ = summaryColumns(db);
    this.list_ = listQuery(db);
  }

  /** Verifies and stores a manifest. `created` is false when it was already there. */
  async create(userId: string, text: string): Promise<{ id: string; created: boolean; manifest: Manifest }> {
    if (Buffer.byteLength(text) > MAX_MANIFEST_BYTES) throw new BadRequestError('manifest_too_large', `a manifest is limited to ${MAX_MANIFEST_BYTES} bytes`);
    let m: Manifest;
    try {
      m = parse(text, 'manifest');
    } catch (e) {
      if (e instanceof ManifestParseError) throw new BadRequestError('manifest_parse', e.message, { field: e.field, position: e.position });
      throw e;
    }
    let keyId: string;
    try {
      keyId = verifySignature(m, await this.keys.trusted(userId), 'manifest');
    } catch (e) {
      if (e instanceof VerificationError) throw new UnprocessableError(SIGNATURE_CODES[e.reason], e.message, { reason: e.reason });
      throw e;
    }
    const id = snapshotId(m);
    if (await this.exists(userId, id)) return { id, created: false, manifest: m };

    const parent = m.snapshot.parent;
    const hexes = [...new Set(blobRefs(m).map(blobHex))];
    await this.depthUnder(this.db, userId, parent);
    await this.assertBlobs(this.db, userId, hexes);
    await this.quota.check(userId, Buffer.byteLength(text));
    let created: boolean;
    try {
      created = await this.db.tx(async (q) => {
        // checked again inside: on SQLite no other transaction runs meanwhile; on PostgreSQL the foreign keys decide
        await this.assertBlobs(q, userId, hexes);
        const added = await q.run(
          `INSERT INTO snapshots (user_id, id, parent, hostname, created_at, uploaded_at, key_id, depth, text)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (user_id, id) DO NOTHING`,
          [userId, id, parent ?? null, m.snapshot.hostname, m.snapshot.created_at, this.clock.now(), keyId, await this.depthUnder(q, userId, parent), text],
        );
        if (!added) return false; // posted meanwhile by another request
        for (let i = 0; i < hexes.length; i += 300) {
          const part = hexes.slice(i, i + 300);
          await q.run(`INSERT INTO snapshot_blobs (user_id, snapshot_id, hash) VALUES ${part.map(() => '(?, ?, ?)').join(', ')} ON CONFLICT DO NOTHING`, part.flatMap((h) => [userId, id, h]));
        }
        return true;
      });
    } catch (e) {
      if ((e as { code?: string }).code !== FK_VIOLATION) throw e;
      await this.depthUnder(this.db, userId, parent);
      await this.assertBlobs(this.db, userId, hexes);
      throw e;
    }
    return { id, created, manifest: m };
  }

  /** The depth a snapshot with this parent has (1 without); UnprocessableError when the parent is not the user's. */
  private async depthUnder(q: Sql, userId: string, parent: string | undefined): Promise<number> {
    if (parent === undefined) return 1;
    const row = ID.test(parent) ? await q.get<{ depth: number }>('SELECT depth FROM snapshots WHERE user_id = ? AND id = ?', [userId, parent]) : undefined;
    if (!row) throw new UnprocessableError('parent_not_found', `parent ${parent} is not one of your snapshots; upload it first`, { parent });
    return row.depth + 1;
  }

  private async assertBlobs(q: Sql, userId: string, hexes: string[]): Promise<void> {
    const missing = await this.blobs.missing(userId, hexes, q);
    if (missing.length) {
      throw new UnprocessableError('missing_blobs', `${missing.length} referenced blob(s) are not uploaded`, { missing: missing.map((h) => `sha256:${h}`) });
    }
  }

  async exists(ownerId: string, id: string): Promise<boolean> {
    return !!(await this.db.get('SELECT 1 AS x FROM snapshots WHERE user_id = ? AND id = ?', [ownerId, id]));
  }

  list(ownerId: string): Promise<SnapshotSummary[]> {
    return this.db.all<SnapshotSummary>(this.list_, [ownerId, ownerId]);
  }

  async summary(ownerId: string, id: string): Promise<SnapshotSummary> {
    const row = await this.db.get<SnapshotSummary>(`SELECT ${this.summary_} FROM snapshots s WHERE s.user_id = ? AND s.id = ?`, [ownerId, id]);
    if (!row) throw new NotFoundError('snapshot');
    return row;
  }

  /** The manifest text, if `readerId` may read it (owner, or shared); else NotFoundError. */
  async text(readerId: string, ownerId: string, id: string): Promise<string> {
    assertSnapshotId(id);
    if (!(await this.canRead(readerId, ownerId, id))) throw new NotFoundError('snapshot');
    const row = await this.db.get<{ text: string }>('SELECT text FROM snapshots WHERE user_id = ? AND id = ?', [ownerId, id]);
    if (!row) throw new NotFoundError('snapshot');
    return row.text;
  }

  async canRead(readerId: string, ownerId: string, id: string): Promise<boolean> {
    if (readerId === ownerId) return this.exists(ownerId, id);
    return !!(await this.db.get(`${SHARED_CHAIN} SELECT 1 AS x FROM chain WHERE id = ?`, [ownerId, readerId, ownerId, id]));
  }

  /** The blob's row, if `readerId` may read it (own, or of a chain shared with them); else undefined. */
  async readableBlob(readerId: string, ownerId: string, hex: string): Promise<BlobInfo | undefined> {
    if (readerId !== ownerId) {
      const shared = await this.db.get(
        `${SHARED_CHAIN} SELECT 1 AS x FROM snapshot_blobs sb JOIN chain c ON sb.snapshot_id = c.id WHERE sb.user_id = ? AND sb.hash = ? LIMIT 1`,
        [ownerId, readerId, ownerId, ownerId, hex],
      );
      if (!shared) return undefined;
    }
    return this.blobs.info(ownerId, hex);
  }

  async canReadBlob(readerId: string, ownerId: string, hex: string): Promise<boolean> {
    return !!(await this.readableBlob(readerId, ownerId, hex));
  }

  /** Whether `readerId` holds any share from `ownerId` (may read the owner's public keys). */
  async hasAnyShareFrom(readerId: string, ownerId: string): Promise<boolean> {
    return readerId === ownerId || !!(await this.db.get('SELECT 1 AS x FROM shares WHERE owner_id = ? AND grantee_id = ? LIMIT 1', [ownerId, readerId]));
  }

  /** Deletes a snapshot (and, with cascade, its descendants); returns the deleted ids. */
  async delete(userId: string, id: string, cascade: boolean): Promise<string[]> {
    assertSnapshotId(id);
    if (!(await this.exists(userId, id))) throw new NotFoundError('snapshot');
    const subtree = await this.db.all<{ id: string; lvl: number }>(
      `WITH RECURSIVE sub(id, lvl) AS (
         SELECT id, 0 FROM snapshots WHERE user_id = ? AND id = ?
         UNION
         SELECT s.id, sub.lvl + 1 FROM snapshots s JOIN sub ON s.user_id = ? AND s.parent = sub.id
       ) SELECT id, lvl FROM sub ORDER BY lvl DESC`,
      [userId, id, userId],
    );
    if (subtree.length > 1 && !cascade) {
      const children = subtree.filter((r) => r.lvl === 1).map((r) => r.id);
      throw new ConflictError('has_children', `snapshot has ${children.length} child snapshot(s); delete them first or use ?cascade=true`, { children });
    }
    const candidates = new Set<string>();
    await this.db.tx(async (q) => {
      for (const r of subtree) {
        for (const b of await q.all<{ hash: string }>('SELECT hash FROM snapshot_blobs WHERE user_id = ? AND snapshot_id = ?', [userId, r.id])) candidates.add(b.hash);
        await q.run('DELETE FROM snapshots WHERE user_id = ? AND id = ?', [userId, r.id]);
      }
    });
    await this.blobs.collect(userId, [...candidates], this.orphanAgeMs);
    return subtree.map((r) => r.id);
  }

  /**
   * Grants `granteeName` read of the snapshot, its chain and their blobs.
   * `keys`: the snapshot's data v2 tree keys sealed to the grantee (opaque
   * here); sharing again replaces them.
   */
  async share(ownerId: string, id: string, granteeName: string, keys?: string): Promise<{ grantee_id: string; created: boolean }> {
    assertSnapshotId(id);
    if (!(await this.exists(ownerId, id))) throw new NotFoundError('snapshot');
    const grantee = typeof granteeName === 'string' ? await findUserByName(this.db, granteeName) : undefined;
    if (!grantee) throw new NotFoundError('user', `user '${String(granteeName)}' not found`);
    if (grantee.id === ownerId) throw new BadRequestError('share_with_self', 'a snapshot cannot be shared with its owner');
    const added = await this.db.run('INSERT INTO shares (owner_id, snapshot_id, grantee_id, created_at, keys) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING', [
      ownerId,
      id,
      grantee.id,
      this.clock.now(),
      keys ?? null,
    ]);
    if (!added && keys !== undefined) await this.db.run('UPDATE shares SET keys = ? WHERE owner_id = ? AND snapshot_id = ? AND grantee_id = ?', [keys, ownerId, id, grantee.id]);
    return { grantee_id: grantee.id, created: added > 0 };
  }

  /** The sealed keys of a share of exactly this snapshot with `granteeId`; NotFoundError otherwise. */
  async shareKeys(granteeId: string, ownerId: string, id: string): Promise<string | undefined> {
    assertSnapshotId(id);
    const row = await this.db.get<{ keys: string | null }>('SELECT keys FROM shares WHERE owner_id = ? AND snapshot_id = ? AND grantee_id = ?', [ownerId, id, granteeId]);
    if (!row) throw new NotFoundError('share');
    return row.keys ?? undefined;
  }

  async unshare(ownerId: string, id: string, granteeName: string): Promise<void> {
    assertSnapshotId(id);
    if (!(await this.exists(ownerId, id))) throw new NotFoundError('snapshot');
    const grantee = await findUserByName(this.db, granteeName);
    const n = grantee ? await this.db.run('DELETE FROM shares WHERE owner_id = ? AND snapshot_id = ? AND grantee_id = ?', [ownerId, id, grantee.id]) : 0;
    if (!n) throw new NotFoundError('share');
  }

  /** Users a snapshot is shared with (owner's view). */
  async sharesOf(ownerId: string, id: string): Promise<{ user: string; user_id: string; shared_at: number }[]> {
    assertSnapshotId(id);
    if (!(await this.exists(ownerId, id))) throw new NotFoundError('snapshot');
    const rows = await this.db.all<{ user: string; user_id: string; shared_at: number }>(
      'SELECT u.name AS "user", u.id AS user_id, sh.created_at AS shared_at FROM shares sh JOIN users u ON u.id = sh.grantee_id WHERE sh.owner_id = ? AND sh.snapshot_id = ?',
      [ownerId, id],
    );
    return rows.sort((a, b) => (a.user < b.user ? -1 : a.user > b.user ? 1 : 0));
  }

  /** What others shared with `granteeId` (the shared snapshots themselves; their chains are readable too). */
  sharedWith(granteeId: string): Promise<SharedSnapshot[]> {
    return this.db.all<SharedSnapshot>(
      `SELECT ${this.summary_}, sh.owner_id AS owner_id, u.name AS owner_name, sh.created_at AS shared_at
       FROM shares sh JOIN snapshots s ON s.user_id = sh.owner_id AND s.id = sh.snapshot_id JOIN users u ON u.id = sh.owner_id
       WHERE sh.grantee_id = ? ORDER BY sh.created_at DESC`,
      [granteeId],
    );
  }
}
