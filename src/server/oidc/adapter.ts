/**
 * oidc-provider storage in the server's SQLite (table `oidc`), so sessions,
 * device codes, grants and refresh tokens survive a restart. Expired rows are
 * invisible to `find` and removed by `sweepOidc` — except device codes, which
 * stay findable for DEVICE_CODE_GRACE_MS after they expire: oidc-provider reads
 * them with `ignoreExpiration` and checks the expiry itself, so a device that
 * polls a code that just ran out gets RFC 8628's `expired_token` (not
 * `invalid_grant`), and a person who opens an old QR code is told the code
 * expired (not that it is not valid). `account_id` is kept in a column so
 * that erasure can delete everything of a user.
 */
import type { Adapter, AdapterPayload } from 'oidc-provider';
import type { Db } from '../db/open.ts';

/** How long an expired device code stays findable (so the provider can say "expired"). */
export const DEVICE_CODE_GRACE_MS = 10 * 60_000;
const graceOf = (model: string) => (model === 'DeviceCode' ? DEVICE_CODE_GRACE_MS : 0);

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
  const live = (row: { payload: string; expires_at: number | null } | undefined, grace = 0): AdapterPayload | undefined =>
    row && (row.expires_at === null || row.expires_at + grace > Date.now()) ? (JSON.parse(row.payload) as AdapterPayload) : undefined;

  return (model: string): Adapter => ({
    async upsert(id, payload, expiresIn) {
      const expiresAt = typeof expiresIn === 'number' ? Date.now() + expiresIn * 1000 : null;
      upsert.run(model, id, JSON.stringify(payload), payload.grantId ?? null, payload.userCode ?? null, payload.uid ?? null, accountOf(payload), expiresAt);
    },
    async find(id) {
      return live(find.get(model, id) as never, graceOf(model));
    },
    async findByUserCode(userCode) {
      return live(byUserCode.get(model, userCode) as never, graceOf(model));
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

/** Deletes expired rows (device codes once their grace is over too). */
export function sweepOidc(db: Db): number {
  const now = Date.now();
  return db
    .prepare("DELETE FROM oidc WHERE expires_at IS NOT NULL AND expires_at <= ? AND (model <> 'DeviceCode' OR expires_at <= ?)")
    .run(now, now - DEVICE_CODE_GRACE_MS).changes;
}
