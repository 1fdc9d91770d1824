/**
 * The tables `serve migrate` copies, in the order their foreign keys need,
 * with the columns both schemas have and a unique order to page them by
 * (keyset paging: `(a, b) > (?, ?)`, never OFFSET). Left out: what lapses by
 * itself within minutes (login_failures, upload_reservations) — a migration
 * runs with the servers stopped.
 */
import { createHash } from 'node:crypto';
import type { Sql, SqlValue } from '../db/database.ts';

export interface TableSpec {
  name: string;
  columns: string[];
  /** Columns that order the rows uniquely (parents before children where a table refers to itself). */
  order: string[];
}

export const TABLES: TableSpec[] = [
  { name: 'settings', columns: ['key', 'value'], order: ['key'] },
  { name: 'users', columns: ['id', 'name', 'password_hash', 'created_at', 'erase_after'], order: ['id'] },
  { name: 'keys', columns: ['user_id', 'key_id', 'ed25519', 'x25519', 'added_at'], order: ['user_id', 'key_id'] },
  { name: 'vaults', columns: ['user_id', 'doc', 'updated_at'], order: ['user_id'] },
  { name: 'blobs', columns: ['user_id', 'hash', 'size', 'created_at', 'object'], order: ['user_id', 'hash'] },
  { name: 'snapshots', columns: ['user_id', 'id', 'parent', 'hostname', 'created_at', 'uploaded_at', 'key_id', 'depth', 'text'], order: ['depth', 'user_id', 'id'] },
  { name: 'snapshot_blobs', columns: ['user_id', 'snapshot_id', 'hash'], order: ['user_id', 'snapshot_id', 'hash'] },
  { name: 'shares', columns: ['owner_id', 'snapshot_id', 'grantee_id', 'created_at', 'keys'], order: ['owner_id', 'snapshot_id', 'grantee_id'] },
  { name: 'audit', columns: ['seq', 'user_id', 'action', 'object', 'other_user_id', 'at', 'ip'], order: ['seq'] },
  { name: 'oidc', columns: ['model', 'id', 'payload', 'grant_id', 'user_code', 'uid', 'account_id', 'expires_at'], order: ['model', 'id'] },
];

export type Row = Record<string, SqlValue>;

/**
 * The table's rows, `pageSize` at a time, in `order` as the engine sorts
 * it (the same engine cuts every page, so its collation is consistent).
 */
export async function* pages(q: Sql, t: TableSpec, pageSize = 500): AsyncIterable<Row[]> {
  let after: SqlValue[] | undefined;
  const cols = t.columns.join(', ');
  const orderBy = t.order.join(', ');
  for (;;) {
    const where = after ? `WHERE (${orderBy}) > (${t.order.map(() => '?').join(', ')})` : '';
    const rows = await q.all<Row>(`SELECT ${cols} FROM ${t.name} ${where} ORDER BY ${orderBy} LIMIT ?`, [...(after ?? []), pageSize]);
    if (rows.length) yield rows;
    if (rows.length < pageSize) return;
    const last = rows[rows.length - 1]!;
    after = t.order.map((c) => last[c] ?? null);
  }
}

export async function count(q: Sql, table: string): Promise<number> {
  return (await q.get<{ n: number }>(`SELECT COUNT(*) AS n FROM ${table}`))?.n ?? 0;
}

/**
 * A digest of the table's rows, independent of the engine and of the order
 * pages come in: each row is hashed as canonical JSON (its columns in spec
 * order, numbers as numbers), and the row hashes are summed mod 2^256 (so
 * it does not matter that the two engines sort some text columns
 * differently).
 */
export async function digest(q: Sql, t: TableSpec): Promise<string> {
  let sum = 0n;
  const mod = 1n << 256n;
  for await (const rows of pages(q, t, 2000)) {
    for (const r of rows) {
      const h = createHash('sha256').update(JSON.stringify(t.columns.map((c) => r[c] ?? null))).digest('hex');
      sum = (sum + BigInt(`0x${h}`)) % mod;
    }
  }
  return sum.toString(16).padStart(64, '0');
}

/** Inserts rows, skipping those already there (a resumed copy). */
export async function insertRows(q: Sql, t: TableSpec, rows: Row[]): Promise<number> {
  let n = 0;
  const per = Math.max(1, Math.floor(900 / t.columns.length));
  for (let i = 0; i < rows.length; i += per) {
    const part = rows.slice(i, i + per);
    n += await q.run(
      `INSERT INTO ${t.name} (${t.columns.join(', ')}) VALUES ${part.map(() => `(${t.columns.map(() => '?').join(', ')})`).join(', ')} ON CONFLICT DO NOTHING`,
      part.flatMap((r) => t.columns.map((c) => r[c] ?? null)),
    );
  }
  return n;
}
