/**
 * The SQLite schema, versioned (PostgreSQL's is pg-migrations.ts: the same
 * tables and columns). Each migration runs once, in order, inside one
 * transaction together with the `user_version` bump, so a crash mid-way leaves
 * the previous version intact. Never edit a released migration: append one.
 *
 * Every table that holds a tenant's data carries `user_id` (or names the user
 * in a column erasure knows about: shares.grantee_id, audit.other_user_id,
 * oidc.account_id), which is what `erasure.ts` relies on. A change here needs
 * its twin in pg-migrations.ts, and `serve migrate` (ops/migrate.ts) copies
 * the columns both have.
 */
import type { Database } from 'better-sqlite3';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const migrations: Migration[] = [
  {
    version: 1,
    name: 'initial',
    sql: `
      CREATE TABLE settings (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
      );
      CREATE TABLE users (
        id            TEXT PRIMARY KEY,
        name          TEXT NOT NULL UNIQUE,
        password_hash TEXT NOT NULL,
        created_at    INTEGER NOT NULL,
        erase_after   INTEGER
      );
      CREATE TABLE keys (
        user_id  TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        key_id   TEXT NOT NULL,
        ed25519  TEXT NOT NULL,
        x25519   TEXT NOT NULL,
        added_at INTEGER NOT NULL,
        PRIMARY KEY (user_id, key_id)
      );
      CREATE TABLE vaults (
        user_id    TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
        doc        TEXT NOT NULL,
        updated_at INTEGER NOT NULL
      );
      CREATE TABLE blobs (
        user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        hash       TEXT NOT NULL,
        size       INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (user_id, hash)
      );
      CREATE TABLE snapshots (
        user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        id           TEXT NOT NULL,
        parent       TEXT,
        hostname     TEXT NOT NULL,
        created_at   TEXT NOT NULL,
        uploaded_at  INTEGER NOT NULL,
        key_id       TEXT NOT NULL,
        depth        INTEGER NOT NULL,
        text         TEXT NOT NULL,
        PRIMARY KEY (user_id, id),
        FOREIGN KEY (user_id, parent) REFERENCES snapshots(user_id, id)
      );
      CREATE INDEX snapshots_parent ON snapshots(user_id, parent);
      CREATE TABLE snapshot_blobs (
        user_id     TEXT NOT NULL,
        snapshot_id TEXT NOT NULL,
        hash        TEXT NOT NULL,
        PRIMARY KEY (user_id, snapshot_id, hash),
        FOREIGN KEY (user_id, snapshot_id) REFERENCES snapshots(user_id, id) ON DELETE CASCADE
      );
      CREATE INDEX snapshot_blobs_hash ON snapshot_blobs(user_id, hash);
      CREATE TABLE shares (
        owner_id    TEXT NOT NULL,
        snapshot_id TEXT NOT NULL,
        grantee_id  TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        created_at  INTEGER NOT NULL,
        PRIMARY KEY (owner_id, snapshot_id, grantee_id),
        FOREIGN KEY (owner_id, snapshot_id) REFERENCES snapshots(user_id, id) ON DELETE CASCADE
      );
      CREATE INDEX shares_grantee ON shares(grantee_id, owner_id);
      CREATE TABLE audit (
        seq           INTEGER PRIMARY KEY AUTOINCREMENT,
        user_id       TEXT NOT NULL,
        action        TEXT NOT NULL,
        object        TEXT,
        other_user_id TEXT,
        at            INTEGER NOT NULL,
        ip            TEXT
      );
      CREATE INDEX audit_user ON audit(user_id, seq);
      CREATE INDEX audit_other ON audit(other_user_id);
      CREATE TABLE oidc (
        model      TEXT NOT NULL,
        id         TEXT NOT NULL,
        payload    TEXT NOT NULL,
        grant_id   TEXT,
        user_code  TEXT,
        uid        TEXT,
        account_id TEXT,
        expires_at INTEGER,
        PRIMARY KEY (model, id)
      );
      CREATE INDEX oidc_grant ON oidc(grant_id);
      CREATE INDEX oidc_user_code ON oidc(model, user_code);
      CREATE INDEX oidc_uid ON oidc(model, uid);
      CREATE INDEX oidc_account ON oidc(account_id);
    `,
  },
  {
    // Data v2 sharing: the snapshot's tree keys sealed to the grantee (opaque to the server).
    version: 2,
    name: 'share keys (data v2)',
    sql: `ALTER TABLE shares ADD COLUMN keys TEXT;`,
  },
  {
    // The server at scale (issue 15): a blob row names its object (NULL: the
    // first layout, <user>/<aa>/<hex>); login failures and the bytes of
    // uploads in flight live in the database, shared by every process.
    version: 3,
    name: 'object keys, login failures, upload reservations',
    sql: `
      ALTER TABLE blobs ADD COLUMN object TEXT;
      CREATE INDEX blobs_created ON blobs(created_at);
      CREATE TABLE login_failures (
        key TEXT NOT NULL,
        at  INTEGER NOT NULL
      );
      CREATE INDEX login_failures_key ON login_failures(key, at);
      CREATE TABLE upload_reservations (
        id         TEXT PRIMARY KEY,
        user_id    TEXT NOT NULL,
        bytes      INTEGER NOT NULL,
        expires_at INTEGER NOT NULL
      );
      CREATE INDEX upload_reservations_user ON upload_reservations(user_id);
    `,
  },
];

/** Brings the database to the newest version. Returns the version reached. */
export function migrate(db: Database, list: Migration[] = migrations): number {
  let current = db.pragma('user_version', { simple: true }) as number;
  for (const m of [...list].sort((a, b) => a.version - b.version)) {
    if (m.version <= current) continue;
    db.transaction(() => {
      db.exec(m.sql);
      db.pragma(`user_version = ${m.version}`);
    })();
    current = m.version;
  }
  return current;
}
