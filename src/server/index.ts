/** The reference Koder ID + Drive server (see README.md). */
export { startServer, DEFAULT_PORT, type ServerOptions, type RunningServer, type MaintenanceReport } from './app.ts';
export { ManualClock, systemClock, type Clock } from './clock.ts';
export { addUser, listUsers, findUserByName, type User } from './users.ts';
export { openDatabase, sqliteUrlFor } from './db/open.ts';
export type { Database } from './db/database.ts';
export { CLIENT_ID, API_SCOPE } from './oidc/provider.ts';
import type { RunningServer } from './app.ts';
import { SqliteDatabase, type SqliteHandle } from './db/sqlite.ts';

/** The better-sqlite3 handle of a server on SQLite (tests that tamper with rows); throws on PostgreSQL. */
export function sqliteHandleOf(srv: Pick<RunningServer, 'db'>): SqliteHandle {
  if (!(srv.db instanceof SqliteDatabase)) throw new Error(`sqliteHandleOf: the server runs on ${srv.db.description}, not SQLite`);
  return srv.db.handle;
}
