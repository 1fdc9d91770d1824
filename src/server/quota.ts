/**
 * Per-user storage quota: bytes of stored blobs plus manifest texts, plus the
 * bytes of uploads still streaming — in any process: each upload reserves
 * its bytes in `upload_reservations` (so parallel uploads through several
 * processes cannot overshoot). Reserving runs in a transaction under a lock
 * per user; a reservation left by a killed process lapses after
 * RESERVATION_TTL_MS without news. Past the limit the server answers 413.
 * With no limit nothing is counted and nothing is written.
 */
import { randomBytes } from 'node:crypto';
import type { Database, Sql } from './db/database.ts';
import type { Clock } from './clock.ts';
import { QuotaExceededError } from './errors.ts';

/** A reservation not renewed for this long is no longer counted (its upload died with its process). */
export const RESERVATION_TTL_MS = 10 * 60_000;
/** Bodies of unknown length reserve ahead in steps of this much (fewer transactions). */
const STEP = 1024 * 1024;

export interface Reservation {
  /**
   * Counts `bytes` more of this upload; throws QuotaExceededError when they
   * do not fit. `exact`: reserve just these (a declared length), not ahead.
   */
  add(bytes: number, exact?: boolean): Promise<void>;
  /** Gives the reservation back (the upload ended, stored or not). */
  release(): Promise<void>;
}

const noReservation: Reservation = { add: async () => {}, release: async () => {} };

export class Quota {
  constructor(
    private db: Database,
    /** Bytes per user; Infinity for none. */
    readonly limit: number,
    private clock: Clock,
  ) {}

  /** Bytes stored (blobs and manifests). */
  async used(userId: string, q: Sql = this.db): Promise<number> {
    const row = await q.get<{ used: number }>(
      `SELECT (SELECT COALESCE(SUM(size), 0) FROM blobs WHERE user_id = ?)
            + (SELECT COALESCE(SUM(${this.db.bytesOf('text')}), 0) FROM snapshots WHERE user_id = ?) AS used`,
      [userId, userId],
    );
    return row?.used ?? 0;
  }

  /** Stored bytes plus live reservations (but `exceptId`'s). */
  private async committed(q: Sql, userId: string, exceptId = ''): Promise<number> {
    const row = await q.get<{ n: number }>('SELECT COALESCE(SUM(bytes), 0) AS n FROM upload_reservations WHERE user_id = ? AND expires_at > ? AND id <> ?', [userId, this.clock.now(), exceptId]);
    return (await this.used(userId, q)) + (row?.n ?? 0);
  }

  /** Throws QuotaExceededError if `bytes` more would not fit. */
  async check(userId: string, bytes: number): Promise<void> {
    if (!Number.isFinite(this.limit)) return;
    const used = await this.committed(this.db, userId);
    if (used + bytes > this.limit) throw new QuotaExceededError(used, this.limit, bytes);
  }

  /** Starts counting an upload in flight (see Reservation). */
  begin(userId: string): Reservation {
    if (!Number.isFinite(this.limit)) return noReservation;
    const id = randomBytes(12).toString('hex');
    let counted = 0;
    let reserved = 0;
    let renewedAt = 0;
    let written = false;
    const reserve = (total: number) =>
      this.db.tx(async (q) => {
        const others = await this.committed(q, userId, id);
        if (others + total > this.limit) return others;
        const now = this.clock.now();
        await q.run(
          `INSERT INTO upload_reservations (id, user_id, bytes, expires_at) VALUES (?, ?, ?, ?)
           ON CONFLICT (id) DO UPDATE SET bytes = excluded.bytes, expires_at = excluded.expires_at`,
          [id, userId, total, now + RESERVATION_TTL_MS],
        );
        written = true;
        reserved = total;
        renewedAt = now;
        return undefined;
      }, `quota:${userId}`);
    return {
      add: async (bytes: number, exact = false) => {
        counted += bytes;
        if (counted <= reserved) {
          // a long upload renews its reservation now and then
          if (this.clock.now() - renewedAt > RESERVATION_TTL_MS / 2) await reserve(reserved);
          return;
        }
        // ahead by a step when it fits, else exactly what came
        if (!exact && (await reserve(Math.max(counted, reserved + STEP))) === undefined) return;
        const others = await reserve(counted);
        if (others !== undefined) {
          counted -= bytes;
          throw new QuotaExceededError(others + reserved, this.limit, bytes);
        }
      },
      release: async () => {
        if (written) await this.db.run('DELETE FROM upload_reservations WHERE id = ?', [id]);
        written = false;
        reserved = counted = 0;
      },
    };
  }

  /** Forgets reservations whose process is gone (maintenance). */
  async sweep(): Promise<number> {
    return this.db.run('DELETE FROM upload_reservations WHERE expires_at <= ?', [this.clock.now()]);
  }
}
