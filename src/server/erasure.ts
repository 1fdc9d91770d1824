/**
 * Erasure of an account (DELETE /v1/me): the request only marks the user with
 * `erase_after = now + grace` (24 h by default); within the grace the user may
 * cancel. `runDue()` (called by the server's maintenance tick, and by tests
 * with a moved clock) erases every user whose grace has passed:
 *   1. the user's blob tree on disk,
 *   2. in one transaction: every row that names the user (snapshots, blob
 *      rows, shares both ways, keys, vault, audit rows, OIDC sessions / grants
 *      / tokens), the user's id scrubbed from other users' audit rows, and
 *      finally the user row.
 * Interrupted between 1 and 2, the user row (still marked) makes the next
 * tick finish the job; both steps are idempotent.
 */
import type { Db } from './db/open.ts';
import type { Clock } from './clock.ts';
import type { BlobStore } from './store/blobs.ts';
import { NotFoundError } from './errors.ts';

export const DEFAULT_GRACE_MS = 24 * 3600_000;

export class Erasure {
  constructor(
    private db: Db,
    private clock: Clock,
    private blobs: BlobStore,
    readonly graceMs = DEFAULT_GRACE_MS,
  ) {}

  /** Marks the user for erasure; returns when it will happen (ms since epoch). */
  request(userId: string): number {
    const row = this.db.prepare('SELECT erase_after FROM users WHERE id = ?').get(userId) as { erase_after: number | null } | undefined;
    if (!row) throw new NotFoundError('user');
    if (row.erase_after !== null) return row.erase_after;
    const at = this.clock.now() + this.graceMs;
    this.db.prepare('UPDATE users SET erase_after = ? WHERE id = ?').run(at, userId);
    return at;
  }

  /** Cancels a pending erasure. Returns false when none was pending. */
  cancel(userId: string): boolean {
    return this.db.prepare('UPDATE users SET erase_after = NULL WHERE id = ? AND erase_after IS NOT NULL').run(userId).changes > 0;
  }

  /** Erases every user whose grace has passed; returns their ids. */
  async runDue(): Promise<string[]> {
    const due = this.db.prepare('SELECT id FROM users WHERE erase_after IS NOT NULL AND erase_after <= ?').all(this.clock.now()) as { id: string }[];
    for (const { id } of due) await this.erase(id);
    return due.map((r) => r.id);
  }

  /** Erases now, without grace (also used by `runDue`). */
  async erase(userId: string): Promise<void> {
    await this.blobs.removeUserTree(userId);
    const db = this.db;
    db.transaction(() => {
      db.prepare('DELETE FROM shares WHERE owner_id = ? OR grantee_id = ?').run(userId, userId);
      db.prepare('DELETE FROM snapshot_blobs WHERE user_id = ?').run(userId);
      db.prepare('DELETE FROM snapshots WHERE user_id = ?').run(userId);
      db.prepare('DELETE FROM blobs WHERE user_id = ?').run(userId);
      db.prepare('DELETE FROM keys WHERE user_id = ?').run(userId);
      db.prepare('DELETE FROM vaults WHERE user_id = ?').run(userId);
      db.prepare('DELETE FROM audit WHERE user_id = ?').run(userId);
      db.prepare('UPDATE audit SET other_user_id = NULL WHERE other_user_id = ?').run(userId);
      db.prepare('DELETE FROM oidc WHERE account_id = ?').run(userId);
      db.prepare('DELETE FROM users WHERE id = ?').run(userId);
    })();
  }
}
