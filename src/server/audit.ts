/**
 * The audit log: one row per create, read, share, delete and login, with the
 * acting user, the object, the time and the client address. A user reads their
 * own rows (GET /v1/me/audit); erasure deletes them.
 */
import type { Database } from './db/database.ts';
import type { Clock } from './clock.ts';

export type AuditAction =
  | 'login'
  | 'snapshot.create'
  | 'snapshot.read'
  | 'snapshot.delete'
  | 'snapshot.share'
  | 'blob.create'
  | 'blob.read'
  | 'packs.rewrite'
  | 'keys.update'
  | 'vault.read'
  | 'vault.update'
  | 'account.erase-requested'
  | 'account.erase-canceled';

export interface AuditEntry {
  seq: number;
  action: AuditAction;
  /** e.g. `snapshot:<id>`, `blob:<hex>`. */
  object: string | null;
  /** The other party (the owner of a shared object read, the grantee of a share). */
  other_user_id: string | null;
  /** ms since epoch. */
  at: number;
  ip: string | null;
}

export class Audit {
  constructor(
    private db: Database,
    private clock: Clock,
  ) {}

  async record(userId: string, action: AuditAction, object: string | null, ip: string | null, otherUserId: string | null = null): Promise<void> {
    await this.db.run('INSERT INTO audit (user_id, action, object, other_user_id, at, ip) VALUES (?, ?, ?, ?, ?, ?)', [userId, action, object, otherUserId, this.clock.now(), ip]);
  }

  /** Newest first; `before` is a seq for paging. */
  list(userId: string, limit = 100, before?: number): Promise<AuditEntry[]> {
    const n = Number.isFinite(limit) ? Math.min(Math.max(Math.floor(limit), 1), 1000) : 100;
    return this.db.all<AuditEntry>(
      `SELECT seq, action, object, other_user_id, at, ip FROM audit
       WHERE user_id = ? AND seq < ? ORDER BY seq DESC LIMIT ?`,
      [userId, before !== undefined && Number.isSafeInteger(before) ? before : Number.MAX_SAFE_INTEGER, n],
    );
  }
}
