/**
 * A user's public keys (PUT replaces the set, GET lists it). Each entry is the
 * shape `publicIdentity()` of src/keys produces: `{ key_id, ed25519, x25519 }`
 * with strict base64 of raw 32-byte keys and key_id = hex sha256(ed25519).
 * Posted manifests must be signed by one of these Ed25519 keys.
 */
import type { Database } from '../db/database.ts';
import type { Clock } from '../clock.ts';
import { BadRequestError } from '../errors.ts';
import { fromB64 } from '../../keys/b64.ts';
import { keyIdOf } from '../../keys/ed25519.ts';
import type { PublicIdentity } from '../../keys/identity.ts';

/** A registered public key: the shape `publicIdentity()` (src/keys) produces. */
export type PublicKeyEntry = PublicIdentity;

export const MAX_KEYS = 32;

export function validateKeys(body: unknown): PublicKeyEntry[] {
  const list = Array.isArray(body) ? body : (body as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(list)) throw new BadRequestError('invalid_keys', 'expected a JSON array of { key_id, ed25519, x25519 } (or { keys: [...] })');
  if (list.length > MAX_KEYS) throw new BadRequestError('invalid_keys', `at most ${MAX_KEYS} keys`);
  const seen = new Set<string>();
  return list.map((k, i) => {
    const e = k as Partial<PublicKeyEntry> | null;
    const ed = typeof e?.ed25519 === 'string' ? fromB64(e.ed25519) : undefined;
    const x = typeof e?.x25519 === 'string' ? fromB64(e.x25519) : undefined;
    if (!ed || ed.length !== 32) throw new BadRequestError('invalid_keys', `keys[${i}].ed25519: base64 of 32 bytes expected`);
    if (!x || x.length !== 32) throw new BadRequestError('invalid_keys', `keys[${i}].x25519: base64 of 32 bytes expected`);
    const id = keyIdOf(ed);
    if (e!.key_id !== id) throw new BadRequestError('invalid_keys', `keys[${i}].key_id: must be the hex sha256 of the Ed25519 key (${id})`);
    if (seen.has(id)) throw new BadRequestError('invalid_keys', `keys[${i}]: duplicate key ${id}`);
    seen.add(id);
    return { key_id: id, ed25519: e!.ed25519!, x25519: e!.x25519! };
  });
}

export class KeyStore {
  constructor(
    private db: Database,
    private clock: Clock,
  ) {}

  list(userId: string): Promise<PublicKeyEntry[]> {
    return this.db.all<PublicKeyEntry>('SELECT key_id, ed25519, x25519 FROM keys WHERE user_id = ? ORDER BY added_at, key_id', [userId]);
  }

  /** Raw Ed25519 public keys, for signature verification. */
  async trusted(userId: string): Promise<Uint8Array[]> {
    return (await this.list(userId)).map((k) => fromB64(k.ed25519)!);
  }

  /** Replaces the set; a key kept keeps the time it was first added. */
  async replace(userId: string, keys: PublicKeyEntry[]): Promise<void> {
    const now = this.clock.now();
    await this.db.tx(async (q) => {
      const old = new Map((await q.all<{ key_id: string; added_at: number }>('SELECT key_id, added_at FROM keys WHERE user_id = ?', [userId])).map((r) => [r.key_id, r.added_at]));
      await q.run('DELETE FROM keys WHERE user_id = ?', [userId]);
      for (const k of keys) await q.run('INSERT INTO keys (user_id, key_id, ed25519, x25519, added_at) VALUES (?, ?, ?, ?, ?)', [userId, k.key_id, k.ed25519, k.x25519, old.get(k.key_id) ?? now]);
    }, `keys:${userId}`);
  }
}
