/**
 * Snapshot manifests of each user, and who may read them.
 *
 * create: parse → verify the signature against the user's registered keys →
 * id = snapshotId → the parent must be one of the user's snapshots → every
 * referenced blob must be stored for the user → quota → one transaction
 * inserts the manifest and its blob references. Posting the same manifest
 * again is a no-op that answers the same id.
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
import type { Db } from '../db/open.ts';
import type { Clock } from '../clock.ts';
import type { Quota } from '../quota.ts';
import type { BlobStore } from './blobs.ts';
import type { KeyStore } from './keys.ts';
import { BadRequestError, ConflictError, NotFoundError, UnprocessableError } from '../errors.ts';
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

const SUMMARY = `
  s.id, s.hostname, s.created_at, s.parent, s.depth, s.key_id, s.uploaded_at,
  LENGTH(CAST(s.text AS BLOB)) AS manifest_size,
  (SELECT COALESCE(SUM(b.size), 0) FROM snapshot_blobs sb JOIN blobs b ON b.user_id = sb.user_id AND b.hash = sb.hash
     WHERE sb.user_id = s.user_id AND sb.snapshot_id = s.id) AS blobs_size,
  (SELECT COUNT(*) FROM snapshot_blobs sb WHERE sb.user_id = s.user_id AND sb.snapshot_id = s.id) AS blob_count`;

/** The chain (ids) readable by `reader` in `owner`'s space through shares. */
const SHARED_CHAIN = `
  WITH RECURSIVE chain(id) AS (
    SELECT snapshot_id FROM shares WHERE owner_id = @owner AND grantee_id = @reader
    UNION
    SELECT s.parent FROM snapshots s JOIN chain c ON s.user_id = @owner AND s.id = c.id WHERE s.parent IS NOT NULL
  )`;

export class SnapshotStore {
  constructor(
    private db: Db,
    private clock: Clock,
    private blobs: BlobStore,
    private keys: KeyStore,
    private quota: Quota,
    /** Unreferenced blobs older than this are collected along with a delete. */
    private orphanAgeMs = 24 * 3600_000,
  ) {}

  /** Verifies and stores a manifest. `created` is false when it was already there. */
  create(userId: string, text: string): { id: string; created: boolean; manifest: Manifest } {
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
      keyId = verifySignature(m, this.keys.trusted(userId), 'manifest');
    } catch (e) {
      if (e instanceof VerificationError) throw new UnprocessableError(`signature_${e.reason.replace(/-/g, '_')}`, e.message, { reason: e.reason });
      throw e;
    }
    const id = snapshotId(m);
    if (this.exists(userId, id)) return { id, created: false, manifest: m };

    let depth = 1;
    const parent = m.snapshot.parent;
    if (parent !== undefined) {
      const row = ID.test(parent)
        ? (this.db.prepare('SELECT depth FROM snapshots WHERE user_id = ? AND id = ?').get(userId, parent) as { depth: number } | undefined)
        : undefined;
      if (!row) throw new UnprocessableError('parent_not_found', `parent ${parent} is not one of your snapshots; upload it first`, { parent });
      depth = row.depth + 1;
    }
    const hexes = blobRefs(m).map(blobHex);
    const missing = this.blobs.missing(userId, hexes);
    if (missing.length) {
      throw new UnprocessableError('missing_blobs', `${missing.length} referenced blob(s) are not uploaded`, { missing: missing.map((h) => `sha256:${h}`) });
    }
    this.quota.check(userId, Buffer.byteLength(text));
    this.db.transaction(() => {
      this.db
        .prepare(
          `INSERT INTO snapshots (user_id, id, parent, hostname, created_at, uploaded_at, key_id, depth, text)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(userId, id, parent ?? null, m.snapshot.hostname, m.snapshot.created_at, this.clock.now(), keyId, depth, text);
      const ins = this.db.prepare('INSERT OR IGNORE INTO snapshot_blobs (user_id, snapshot_id, hash) VALUES (?, ?, ?)');
      for (const h of hexes) ins.run(userId, id, h);
    })();
    return { id, created: true, manifest: m };
  }

  exists(ownerId: string, id: string): boolean {
    return !!this.db.prepare('SELECT 1 FROM snapshots WHERE user_id = ? AND id = ?').get(ownerId, id);
  }

  list(ownerId: string): SnapshotSummary[] {
    return this.db.prepare(`SELECT ${SUMMARY} FROM snapshots s WHERE s.user_id = ? ORDER BY s.uploaded_at DESC, s.id`).all(ownerId) as SnapshotSummary[];
  }

  summary(ownerId: string, id: string): SnapshotSummary {
    const row = this.db.prepare(`SELECT ${SUMMARY} FROM snapshots s WHERE s.user_id = ? AND s.id = ?`).get(ownerId, id) as SnapshotSummary | undefined;
    if (!row) throw new NotFoundError('snapshot');
    return row;
  }

  /** The manifest text, if `readerId` may read it (owner, or shared); else NotFoundError. */
  text(readerId: string, ownerId: string, id: string): string {
    assertSnapshotId(id);
    if (!this.canRead(readerId, ownerId, id)) throw new NotFoundError('snapshot');
    const row = this.db.prepare('SELECT text FROM snapshots WHERE user_id = ? AND id = ?').get(ownerId, id) as { text: string } | undefined;
    if (!row) throw new NotFoundError('snapshot');
    return row.text;
  }

  canRead(readerId: string, ownerId: string, id: string): boolean {
    if (readerId === ownerId) return this.exists(ownerId, id);
    return !!this.db.prepare(`${SHARED_CHAIN} SELECT 1 FROM chain WHERE id = @id`).get({ owner: ownerId, reader: readerId, id });
  }

  canReadBlob(readerId: string, ownerId: string, hex: string): boolean {
    if (readerId === ownerId) return !!this.blobs.info(ownerId, hex);
    return !!this.db
      .prepare(`${SHARED_CHAIN} SELECT 1 FROM snapshot_blobs sb JOIN chain c ON sb.snapshot_id = c.id WHERE sb.user_id = @owner AND sb.hash = @hex LIMIT 1`)
      .get({ owner: ownerId, reader: readerId, hex });
  }

  /** Whether `readerId` holds any share from `ownerId` (may read the owner's public keys). */
  hasAnyShareFrom(readerId: string, ownerId: string): boolean {
    return readerId === ownerId || !!this.db.prepare('SELECT 1 FROM shares WHERE owner_id = ? AND grantee_id = ? LIMIT 1').get(ownerId, readerId);
  }

  /** Deletes a snapshot (and, with cascade, its descendants); returns the deleted ids. */
  async delete(userId: string, id: string, cascade: boolean): Promise<string[]> {
    assertSnapshotId(id);
    if (!this.exists(userId, id)) throw new NotFoundError('snapshot');
    const subtree = this.db
      .prepare(
        `WITH RECURSIVE sub(id, lvl) AS (
           SELECT ?, 0
           UNION
           SELECT s.id, sub.lvl + 1 FROM snapshots s JOIN sub ON s.user_id = ? AND s.parent = sub.id
         ) SELECT id, lvl FROM sub ORDER BY lvl DESC`,
      )
      .all(id, userId) as { id: string; lvl: number }[];
    if (subtree.length > 1 && !cascade) {
      const children = subtree.filter((r) => r.lvl === 1).map((r) => r.id);
      throw new ConflictError('has_children', `snapshot has ${children.length} child snapshot(s); delete them first or use ?cascade=true`, { children });
    }
    const candidates = new Set<string>();
    const refs = this.db.prepare('SELECT hash FROM snapshot_blobs WHERE user_id = ? AND snapshot_id = ?');
    const del = this.db.prepare('DELETE FROM snapshots WHERE user_id = ? AND id = ?');
    this.db.transaction(() => {
      for (const r of subtree) {
        for (const b of refs.all(userId, r.id) as { hash: string }[]) candidates.add(b.hash);
        del.run(userId, r.id);
      }
    })();
    await this.blobs.collect(userId, [...candidates], this.orphanAgeMs);
    return subtree.map((r) => r.id);
  }

  /**
   * Grants `granteeName` read of the snapshot, its chain and their blobs.
   * `keys`: the snapshot's data v2 tree keys sealed to the grantee (opaque
   * here); sharing again replaces them.
   */
  share(ownerId: string, id: string, granteeName: string, keys?: string): { grantee_id: string; created: boolean } {
    assertSnapshotId(id);
    if (!this.exists(ownerId, id)) throw new NotFoundError('snapshot');
    const grantee = typeof granteeName === 'string' ? findUserByName(this.db, granteeName) : undefined;
    if (!grantee) throw new NotFoundError('user', `user '${String(granteeName)}' not found`);
    if (grantee.id === ownerId) throw new BadRequestError('share_with_self', 'a snapshot cannot be shared with its owner');
    const r = this.db
      .prepare('INSERT OR IGNORE INTO shares (owner_id, snapshot_id, grantee_id, created_at, keys) VALUES (?, ?, ?, ?, ?)')
      .run(ownerId, id, grantee.id, this.clock.now(), keys ?? null);
    if (!r.changes && keys !== undefined) this.db.prepare('UPDATE shares SET keys = ? WHERE owner_id = ? AND snapshot_id = ? AND grantee_id = ?').run(keys, ownerId, id, grantee.id);
    return { grantee_id: grantee.id, created: r.changes > 0 };
  }

  /** The sealed keys of a share of exactly this snapshot with `granteeId`; NotFoundError otherwise. */
  shareKeys(granteeId: string, ownerId: string, id: string): string | undefined {
    assertSnapshotId(id);
    const row = this.db.prepare('SELECT keys FROM shares WHERE owner_id = ? AND snapshot_id = ? AND grantee_id = ?').get(ownerId, id, granteeId) as { keys: string | null } | undefined;
    if (!row) throw new NotFoundError('share');
    return row.keys ?? undefined;
  }

  unshare(ownerId: string, id: string, granteeName: string): void {
    assertSnapshotId(id);
    if (!this.exists(ownerId, id)) throw new NotFoundError('snapshot');
    const grantee = findUserByName(this.db, granteeName);
    const r = grantee ? this.db.prepare('DELETE FROM shares WHERE owner_id = ? AND snapshot_id = ? AND grantee_id = ?').run(ownerId, id, grantee.id) : undefined;
    if (!r?.changes) throw new NotFoundError('share');
  }

  /** Users a snapshot is shared with (owner's view). */
  sharesOf(ownerId: string, id: string): { user: string; user_id: string; shared_at: number }[] {
    assertSnapshotId(id);
    if (!this.exists(ownerId, id)) throw new NotFoundError('snapshot');
    return this.db
      .prepare('SELECT u.name AS user, u.id AS user_id, sh.created_at AS shared_at FROM shares sh JOIN users u ON u.id = sh.grantee_id WHERE sh.owner_id = ? AND sh.snapshot_id = ? ORDER BY u.name')
      .all(ownerId, id) as { user: string; user_id: string; shared_at: number }[];
  }

  /** What others shared with `granteeId` (the shared snapshots themselves; their chains are readable too). */
  sharedWith(granteeId: string): SharedSnapshot[] {
    return this.db
      .prepare(
        `SELECT ${SUMMARY}, sh.owner_id AS owner_id, u.name AS owner_name, sh.created_at AS shared_at
         FROM shares sh JOIN snapshots s ON s.user_id = sh.owner_id AND s.id = sh.snapshot_id JOIN users u ON u.id = sh.owner_id
         WHERE sh.grantee_id = ? ORDER BY sh.created_at DESC`,
      )
      .all(granteeId) as SharedSnapshot[];
  }
}
