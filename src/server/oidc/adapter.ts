/**
 * oidc-provider storage in the server's database (table `oidc`), so sessions,
 * device codes, grants and refresh tokens survive a restart and are the same
 * for every process: a device flow started on one is approved through another
 * and polled on a third. Expired rows are
 * invisible to `find` and removed by `sweepOidc` — except device codes, which
 * stay findable for DEVICE_CODE_GRACE_MS after they expire: oidc-provider reads
 * them with `ignoreExpiration` and checks the expiry itself, so a device that
 * polls a code that just ran out gets RFC 8628's `expired_token` (not
 * `invalid_grant`), and a person who opens an old QR code is told the code
 * expired (not that it is not valid). `account_id` is kept in a column so
 * that erasure can delete everything of a user.
 */
import type { Adapter, AdapterPayload } from 'oidc-provider';
import type { Database } from '../db/database.ts';

/** How long an expired device code stays findable (so the provider can say "expired"). */
export const DEVICE_CODE_GRACE_MS = 10 * 60_000;
const graceOf = (model: string) => (model === 'DeviceCode' ? DEVICE_CODE_GRACE_MS : 0);

function accountOf(p: AdapterPayload): string | null {
  const q = p as AdapterPayload & { session?: { accountId?: string }; result?: { login?: { accountId?: string } } };
  return q.accountId ?? q.session?.accountId ?? q.result?.login?.accountId ?? null;
}

type Row = { payload: string; expires_at: number | null };

export function dbAdapterFactory(db: Database): (model: string) => Adapter {
  const live = (row: Row | undefined, grace = 0): AdapterPayload | undefined =>
    row && (row.expires_at === null || row.expires_at + grace > Date.now()) ? (JSON.parse(row.payload) as AdapterPayload) : undefined;

  return (model: string): Adapter => ({
    async upsert(id, payload, expiresIn) {
      const expiresAt = typeof expiresIn === 'number' ? Date.now() + expiresIn * 1000 : null;
      await db.run(
        `INSERT INTO oidc (model, id, payload, grant_id, user_code, uid, account_id, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (model, id) DO UPDATE SET payload = excluded.payload, grant_id = excluded.grant_id, user_code = excluded.user_code,
           uid = excluded.uid, account_id = excluded.account_id, expires_at = excluded.expires_at`,
        [model, id, JSON.stringify(payload), payload.grantId ?? null, payload.userCode ?? null, payload.uid ?? null, accountOf(payload), expiresAt],
      );
    },
    async find(id) {
      return live(await db.get<Row>('SELECT payload, expires_at FROM oidc WHERE model = ? AND id = ?', [model, id]), graceOf(model));
    },
    async findByUserCode(userCode) {
      return live(await db.get<Row>('SELECT payload, expires_at FROM oidc WHERE model = ? AND user_code = ?', [model, userCode]), graceOf(model));
    },
    async findByUid(uid) {
      return live(await db.get<Row>('SELECT payload, expires_at FROM oidc WHERE model = ? AND uid = ?', [model, uid]));
    },
    async consume(id) {
      // read and write in one transaction, under a lock on the row's key: two processes consuming at once write once each, in turn
      await db.tx(async (q) => {
        const row = await q.get<{ payload: string }>('SELECT payload FROM oidc WHERE model = ? AND id = ?', [model, id]);
        if (!row) return;
        const p = JSON.parse(row.payload) as AdapterPayload;
        if (p.consumed) return;
        p.consumed = Math.floor(Date.now() / 1000);
        await q.run('UPDATE oidc SET payload = ? WHERE model = ? AND id = ?', [JSON.stringify(p), model, id]);
      }, `oidc:${model}:${id}`);
    },
    async destroy(id) {
      await db.run('DELETE FROM oidc WHERE model = ? AND id = ?', [model, id]);
    },
    async revokeByGrantId(grantId) {
      await db.run('DELETE FROM oidc WHERE grant_id = ?', [grantId]);
    },
  });
}

/** Deletes expired rows (device codes once their grace is over too). */
export function sweepOidc(db: Database): Promise<number> {
  const now = Date.now();
  return db.run("DELETE FROM oidc WHERE expires_at IS NOT NULL AND expires_at <= ? AND (model <> 'DeviceCode' OR expires_at <= ?)", [now, now - DEVICE_CODE_GRACE_MS]);
}
