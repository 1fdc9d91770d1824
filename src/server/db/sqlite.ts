/**
 * The embedded database: one SQLite file (WAL, foreign keys on), opened by
 * one process. better-sqlite3 is synchronous; behind the async `Database`
 * interface it is one connection whose transactions run one at a time, and
 * a statement asked for while a transaction is open waits until it ends (so
 * it never slips into someone else's transaction across an `await`).
 * Locks (`exclusive`) are this process's own: SQLite is not shared between
 * processes here.
 */
import BetterSqlite3 from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { migrate } from './migrations.ts';
import { assertNoNul, type Database, type Sql, type SqlValue } from './database.ts';

export type SqliteHandle = BetterSqlite3.Database;

export class SqliteDatabase implements Database {
  readonly engine = 'sqlite' as const;
  readonly description: string;
  /** The better-sqlite3 handle (tests and the migration reader look inside). */
  readonly handle: SqliteHandle;
  private statements = new Map<string, BetterSqlite3.Statement>();
  private current: Promise<void> | undefined;
  private held = new Set<string>();
  private direct: Sql;

  constructor(readonly path: string) {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    this.handle = new BetterSqlite3(path);
    this.handle.pragma('journal_mode = WAL');
    this.handle.pragma('synchronous = NORMAL');
    this.handle.pragma('foreign_keys = ON');
    this.handle.pragma('busy_timeout = 5000');
    migrate(this.handle);
    this.description = `sqlite:${path}`;
    this.direct = {
      all: async <T>(sql: string, p: readonly SqlValue[] = []) => this.stmt(sql, p).all(...p) as T[],
      get: async <T>(sql: string, p: readonly SqlValue[] = []) => this.stmt(sql, p).get(...p) as T | undefined,
      run: async (sql: string, p: readonly SqlValue[] = []) => this.stmt(sql, p).run(...p).changes,
    };
  }

  private stmt(sql: string, params: readonly SqlValue[]): BetterSqlite3.Statement {
    assertNoNul(params);
    let s = this.statements.get(sql);
    if (!s) {
      s = this.handle.prepare(sql);
      this.statements.set(sql, s);
    }
    return s;
  }

  private async idle(): Promise<void> {
    while (this.current) await this.current;
  }

  async all<T>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    if (this.current) await this.idle();
    return this.stmt(sql, params).all(...params) as T[];
  }

  async get<T>(sql: string, params: readonly SqlValue[] = []): Promise<T | undefined> {
    if (this.current) await this.idle();
    return this.stmt(sql, params).get(...params) as T | undefined;
  }

  async run(sql: string, params: readonly SqlValue[] = []): Promise<number> {
    if (this.current) await this.idle();
    return this.stmt(sql, params).run(...params).changes;
  }

  bytesOf(expr: string): string {
    return `LENGTH(CAST(${expr} AS BLOB))`;
  }

  async tx<T>(fn: (q: Sql) => Promise<T>): Promise<T> {
    await this.idle();
    let done!: () => void;
    this.current = new Promise<void>((r) => (done = r));
    try {
      this.handle.exec('BEGIN IMMEDIATE');
      try {
        const value = await fn(this.direct);
        this.handle.exec('COMMIT');
        return value;
      } catch (e) {
        if (this.handle.inTransaction) this.handle.exec('ROLLBACK');
        throw e;
      }
    } finally {
      this.current = undefined;
      done();
    }
  }

  async exclusive<T>(name: string, fn: () => Promise<T>): Promise<{ ran: true; value: T } | { ran: false }> {
    if (this.held.has(name)) return { ran: false };
    this.held.add(name);
    try {
      return { ran: true, value: await fn() };
    } finally {
      this.held.delete(name);
    }
  }

  async close(): Promise<void> {
    await this.idle();
    this.handle.close();
  }
}
