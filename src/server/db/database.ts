/**
 * The server's SQL database, whichever engine holds it: SQLite (embedded, one
 * process: sqlite.ts) or PostgreSQL (any number of processes: postgres.ts).
 * Stores write one SQL for both, with `?` placeholders, in the subset the two
 * engines share (`INSERT … ON CONFLICT … DO NOTHING / DO UPDATE`, `RETURNING`,
 * recursive CTEs); what differs is asked of the database (`bytesOf`).
 *
 * Numbers: integers (ms timestamps, sizes, counts, sums) come back as JS
 * numbers on both engines.
 */

import { BadRequestError } from '../errors.ts';

export type SqlValue = string | number | null;

/**
 * PostgreSQL TEXT cannot hold U+0000, and no stored text contains it: a
 * parameter with one (a percent-encoded %00 in a path, say) is the client's
 * error, refused the same way on both engines.
 */
export function assertNoNul(params: readonly SqlValue[]): void {
  for (const p of params) if (typeof p === 'string' && p.includes('\0')) throw new BadRequestError('invalid_text', 'a text value contains a NUL character');
}

/** Runs statements; inside `tx` the same calls run in the transaction. */
export interface Sql {
  /** Every row. */
  all<T>(sql: string, params?: readonly SqlValue[]): Promise<T[]>;
  /** The first row, if any. */
  get<T>(sql: string, params?: readonly SqlValue[]): Promise<T | undefined>;
  /** A statement without rows; resolves to the number of rows it changed. */
  run(sql: string, params?: readonly SqlValue[]): Promise<number>;
}

export type Engine = 'sqlite' | 'postgres';

export interface Database extends Sql {
  readonly engine: Engine;
  /** Where it is, without any password (for logs and messages). */
  readonly description: string;
  /** The octet length of a TEXT expression, in this engine's spelling. */
  bytesOf(expr: string): string;
  /**
   * Runs `fn` in one transaction: committed when it resolves, rolled back when
   * it throws. Statements must go through the `Sql` it is given (on SQLite,
   * other statements wait for the transaction to end). With `lockKey`, the
   * transaction first takes a lock on that key that every process sharing
   * the database respects, held until it ends (read-then-write decisions
   * such as quotas).
   */
  tx<T>(fn: (q: Sql) => Promise<T>, lockKey?: string): Promise<T>;
  /**
   * Runs `fn` only if no one — in this process or another on the same
   * database — is running work under `name`; otherwise returns at once with
   * `ran: false`. A process that dies loses its locks (PostgreSQL advisory
   * locks belong to the connection). For maintenance (erasure, GC).
   */
  exclusive<T>(name: string, fn: () => Promise<T>): Promise<{ ran: true; value: T } | { ran: false }>;
  close(): Promise<void>;
}
