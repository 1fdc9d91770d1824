/**
 * Password guessing brake: after 5 failures for one user name (from any
 * address) or 20 from one address within 15 minutes, further attempts are
 * refused without checking the password until the window passes. The
 * failures are rows of `login_failures`, so every process sharing the
 * database counts the same ones, and a restart forgets nothing.
 */
import type { Database } from '../db/database.ts';

/** The login_failures key of a user name (erasure deletes it with the user). */
export function loginFailureKey(name: string): string {
  // no U+0000 in a TEXT value (a typed name may hold anything)
  return `u:${name.toLowerCase().replace(/\0/g, '')}`;
}

const ipKey = (ip: string | null) => `ip:${ip ?? '-'}`;

export class LoginThrottle {
  constructor(
    private db: Database,
    private max = 5,
    private windowMs = 15 * 60_000,
  ) {}

  private async count(key: string, now: number): Promise<number> {
    return (await this.db.get<{ n: number }>('SELECT COUNT(*) AS n FROM login_failures WHERE key = ? AND at > ?', [key, now - this.windowMs]))?.n ?? 0;
  }

  async blocked(user: string, ip: string | null, now = Date.now()): Promise<boolean> {
    return (await this.count(loginFailureKey(user), now)) >= this.max || (await this.count(ipKey(ip), now)) >= this.max * 4;
  }

  async fail(user: string, ip: string | null, now = Date.now()): Promise<void> {
    await this.db.run('INSERT INTO login_failures (key, at) VALUES (?, ?), (?, ?)', [loginFailureKey(user), now, ipKey(ip), now]);
  }

  async succeed(user: string): Promise<void> {
    await this.db.run('DELETE FROM login_failures WHERE key = ?', [loginFailureKey(user)]);
  }

  /** Forgets failures older than the window (maintenance). */
  async sweep(now = Date.now()): Promise<number> {
    return this.db.run('DELETE FROM login_failures WHERE at <= ?', [now - this.windowMs]);
  }
}
