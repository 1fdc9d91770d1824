/**
 * oidc-provider storage in the server's SQLite (table `oidc`), so sessions,
 * device codes, grants and refresh tokens survive a restart. Expired rows are
 * invisible to `find` and removed by `sweepOidc`. `account_id` is kept in a
 * column so that erasure can delete everything of a user.
 */
import type { Adapter, AdapterPayload } from 'oidc-provider';
import type { Db } from '../db/open.ts';

function accountOf(p: AdapterPayload): string | null {
  const q = p as AdapterPayload & { session?: { accountId?: string }; result?: { login?: { accountId?: string } } };
  return q.accountId ?? q.session?.accountId ?? q.result?.login?.accountId ?? null;
}

export function sqliteAdapterFactory(db: Db): (model: string) => Adapter {
  const upsert = db.prepare(
    `INSERT INTO oidc (model, id, payload, grant_id, user_code, uid, account_id, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT(model, id) DO UPDATE SET payload = excluded.payload, grant_id = excluded.grant_id, user_code = excluded.user_code,
       uid = excluded.uid, account_id = excluded.account_id, expires_at = excluded.expires_at`,
  );
  const find = db.prepare('SELECT payload, expires_at FROM oidc WHERE model = ? AND id = ?');
  const byUserCode = db.prepare('SELECT payload, expires_at FROM oidc WHERE model = ? AND user_code = ?');
  const byUid = db.prepare('SELECT payload, expires_at FROM oidc WHERE model = ? AND uid = ?');
  const destroy = db.prepare('DELETE FROM oidc WHERE model = ? AND id = ?');
  const byGrant = db.prepare('DELETE FROM oidc WHERE grant_id = ?');
  const live = (row: { payload: string; expires_at: number | null } | undefined): AdapterPayload | undefined =>
    row && (row.expires_at === null || row.expires_at > Date.now()) ? (JSON.parse(row.payload) as AdapterPayload) : undefined;

  return (model: string): Adapter => ({
    async upsert(id, payload, expiresIn) {
      const expiresAt = typeof expiresIn === 'number' ? Date.now() + expiresIn * 1000 : null;
      upsert.run(model, id, JSON.stringify(payload), payload.grantId ?? null, payload.userCode ?? null, payload.uid ?? null, accountOf(payload), expiresAt);
    },
    async find(id) {
      return live(find.get(model, id) as never);
    },
    async findByUserCode(userCode) {
      return live(byUserCode.get(model, userCode) as never);
    },
    async findByUid(uid) {
      return live(byUid.get(model, uid) as never);
    },
    async consume(id) {
      const row = find.get(model, id) as { payload: string } | undefined;
      if (!row) return;
      const p = JSON.parse(row.payload) as AdapterPayload;
      p.consumed = Math.floor(Date.now() / 1000);
      db.prepare('UPDATE oidc SET payload = ? WHERE model = ? AND id = ?').run(JSON.stringify(p), model, id);
    },
    async destroy(id) {
      destroy.run(model, id);
    },
    async revokeByGrantId(grantId) {
      byGrant.run(grantId);
    },
  });
}

/** Deletes expired rows. */
export function sweepOidc(db: Db): number {
  return db.prepare('DELETE FROM oidc WHERE expires_at IS NOT NULL AND expires_at <= ?').run(Date.now()).changes;
}
