/**
 * Erasure of an account (DELETE /v1/me): the request only marks the user with
 * `erase_after = now + grace` (24 h by default); within the grace the user may
 * cancel. `runDue()` (called by every process's maintenance tick, and by
 * tests with a moved clock) erases every user whose grace has passed, each
 * under a lock no other process can hold at the same time:
 *   1. the user's objects in the blob store,
 *   2. in one transaction: every row that names the user (snapshots, blob
 *      rows, shares both ways, keys, vault, audit rows, OIDC sessions / grants
 *      / tokens, login failures, upload reservations), the user's id scrubbed
 *      from other users' audit rows, and finally the user row,
 *   3. the objects again: an upload another process finished between 1 and
 *      2 (its row then failed: no user) leaves nothing.
 * Interrupted anywhere, the user row (still marked) makes the next tick
 * finish the job; every step is idempotent.
 */
import type { Database } from './db/database.ts';
import type { Clock } from './clock.ts';
import type { BlobStore } from './store/blobs.ts';
import { NotFoundError } from './errors.ts';
import { loginFailureKey } from './oidc/throttle.ts';

export const DEFAULT_GRACE_MS = 24 * 3600_000;

export class Erasure {
  constructor(
    private db: Database,
    private clock: Clock,
    private blobs: BlobStore,
    readonly graceMs = DEFAULT_GRACE_MS,
  ) {}

  /** Marks the user for erasure; returns when it will happen (ms since epoch). */
  async request(userId: string): Promise<number> {
    const at = this.clock.now() + this.graceMs;
    await this.db.run('UPDATE users SET erase_after = ? WHERE id = ? AND erase_after IS NULL', [at, userId]);
    const row = await this.db.get<{ erase_after: number | null }>('SELECT erase_after FROM users WHERE id = ?', [userId]);
    if (!row || row.erase_after === null) throw new NotFoundError('user');
    return row.erase_after;
  }

  /** Cancels a pending erasure. Returns false when none was pending. */
  async cancel(userId: string): Promise<boolean> {
    return (await this.db.run('UPDATE users SET erase_after = NULL WHERE id = ? AND erase_after IS NOT NULL', [userId])) > 0;
  }

  /** Erases every user whose grace has passed (skipping one another process is erasing); returns their ids. */
  async runDue(): Promise<string[]> {
    const due = await this.db.all<{ id: string }>('SELECT id FROM users WHERE erase_after IS NOT NULL AND erase_after <= ?', [this.clock.now()]);
    const done: string[] = [];
    for (const { id } of due) {
      const r = await this.db.exclusive(`erase:${id}`, async () => {
        // erased or canceled meanwhile by another process?
        const still = await this.db.get('SELECT 1 AS x FROM users WHERE id = ? AND erase_after IS NOT NULL AND erase_after <= ?', [id, this.clock.now()]);
        if (still) await this.erase(id);
        return !!still;
      });
      if (r.ran && r.value) done.push(id);
    }
    return done;
  }

  /** Erases now, without grace (also used by `runDue`). */
  async erase(userId: string): Promise<void> {
    await this.blobs.removeUserTree(userId);
    const user = await this.db.get<{ name: string }>('SELECT name FROM users WHERE id = ?', [userId]);
    await this.db.tx(async (q) => {
      await q.run('DELETE FROM shares WHERE owner_id = ? OR grantee_id = ?', [userId, userId]);
      await q.run('DELETE FROM snapshot_blobs WHERE user_id = ?', [userId]);
      await q.run('DELETE FROM snapshots WHERE user_id = ?', [userId]);
      await q.run('DELETE FROM blobs WHERE user_id = ?', [userId]);
      await q.run('DELETE FROM keys WHERE user_id = ?', [userId]);
      await q.run('DELETE FROM vaults WHERE user_id = ?', [userId]);
      await q.run('DELETE FROM audit WHERE user_id = ?', [userId]);
      await q.run('UPDATE audit SET other_user_id = NULL WHERE other_user_id = ?', [userId]);
      await q.run('DELETE FROM oidc WHERE account_id = ?', [userId]);
      await q.run('DELETE FROM upload_reservations WHERE user_id = ?', [userId]);
      if (user) await q.run('DELETE FROM login_failures WHERE key = ?', [loginFailureKey(user.name)]);
      await q.run('DELETE FROM users WHERE id = ?', [userId]);
    });
    await this.blobs.removeUserTree(userId);
  }
}
