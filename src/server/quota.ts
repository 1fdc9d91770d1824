/**
 * Per-user storage quota: bytes of stored blobs plus manifest texts, plus the
 * bytes of uploads still streaming (so parallel uploads cannot overshoot).
 * Past the limit the server answers 413.
 */
import type { Db } from './db/open.ts';
import { QuotaExceededError } from './errors.ts';

export class Quota {
  private inflight = new Map<string, number>();
  constructor(
    private db: Db,
    /** Bytes per user; Infinity for none. */
    readonly limit: number,
  ) {}

  used(userId: string): number {
    const row = this.db
      .prepare(
        `SELECT (SELECT COALESCE(SUM(size), 0) FROM blobs WHERE user_id = ?)
              + (SELECT COALESCE(SUM(LENGTH(CAST(text AS BLOB))), 0) FROM snapshots WHERE user_id = ?) AS used`,
      )
      .get(userId, userId) as { used: number };
    return row.used;
  }

  /** Throws QuotaExceededError if `bytes` more would not fit. */
  check(userId: string, bytes: number): void {
    if (!Number.isFinite(this.limit)) return;
    const used = this.used(userId) + (this.inflight.get(userId) ?? 0);
    if (used + bytes > this.limit) throw new QuotaExceededError(used, this.limit, bytes);
  }

  /**
   * Starts counting an upload in flight: `add(n)` checks and reserves n more
   * bytes (throws QuotaExceededError), `release()` gives them all back.
   */
  begin(userId: string): { add(bytes: number): void; release(): void } {
    let mine = 0;
    return {
      add: (bytes: number) => {
        this.check(userId, bytes);
        mine += bytes;
        this.inflight.set(userId, (this.inflight.get(userId) ?? 0) + bytes);
      },
      release: () => {
        const left = (this.inflight.get(userId) ?? 0) - mine;
        mine = 0;
        if (left <= 0) this.inflight.delete(userId);
        else this.inflight.set(userId, left);
      },
    };
  }
}
