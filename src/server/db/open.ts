/**
 * Opens the server's database from its URL, migrated to the newest schema:
 *   sqlite:PATH                      the embedded default (one process)
 *   postgres://USER@HOST:PORT/DB     (or postgresql://) any number of processes
 * A password may be in a postgres URL, or better in PGPASSWORD / ~/.pgpass
 * (pg reads both). Also the settings table: server secrets by key.
 */
import { join, resolve } from 'node:path';
import { CodedError } from '../../util/coded-error.ts';
import type { Database } from './database.ts';
import { SqliteDatabase } from './sqlite.ts';
import { PostgresDatabase } from './postgres.ts';

export type { Database } from './database.ts';

/** The database of a `--data DIR` folder. */
export function sqliteUrlFor(dataDir: string): string {
  return `sqlite:${join(dataDir, 'koder.sqlite')}`;
}

/** Checks a database URL without opening it; throws CodedError `backend_url`. */
export function checkDatabaseUrl(url: string): void {
  if (/^sqlite:./.test(url)) return;
  if (/^postgres(ql)?:\/\/./.test(url)) {
    try {
      new URL(url);
      return;
    } catch {
      // below
    }
  }
  throw new CodedError('backend_url', `--db: expected sqlite:PATH or postgres://USER@HOST:PORT/DATABASE, got '${url.replace(/:[^:@/]*@/, ':***@')}'`, { option: 'db' });
}

export async function openDatabase(url: string, o: { log?: (line: string) => void; poolSize?: number } = {}): Promise<Database> {
  checkDatabaseUrl(url);
  if (url.startsWith('sqlite:')) return new SqliteDatabase(resolve(url.slice('sqlite:'.length)));
  return PostgresDatabase.open(url, { log: o.log, max: o.poolSize });
}

/** A small key → value store for server secrets (cookie keys, signing key). */
export async function getSetting(db: Database, key: string): Promise<string | undefined> {
  return (await db.get<{ value: string }>('SELECT value FROM settings WHERE key = ?', [key]))?.value;
}

export async function setSetting(db: Database, key: string, value: string): Promise<void> {
  await db.run('INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value', [key, value]);
}

/**
 * The setting's value; when missing, `make()`'s is stored — unless another
 * process stored one first, which is then the one returned (every process
 * ends up with the same secret).
 */
export async function settingOnce(db: Database, key: string, make: () => string): Promise<string> {
  const have = await getSetting(db, key);
  if (have !== undefined) return have;
  await db.run('INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING', [key, make()]);
  return (await getSetting(db, key))!;
}
