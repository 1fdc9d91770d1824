/**
 * The key vault: one opaque JSON document per user (the server never looks
 * inside). GET returns it with an ETag; PUT may carry If-Match to refuse a
 * lost update (412).
 */
import { createHash } from 'node:crypto';
import type { Database } from '../db/database.ts';
import type { Clock } from '../clock.ts';
import { ApiError, BadRequestError, NotFoundError } from '../errors.ts';

export const MAX_VAULT_BYTES = 1024 * 1024;

export interface VaultDoc {
  doc: string;
  etag: string;
  updated_at: number;
}

const etagOf = (doc: string) => `"${createHash('sha256').update(doc).digest('hex').slice(0, 32)}"`;

export class VaultStore {
  constructor(
    private db: Database,
    private clock: Clock,
  ) {}

  async get(userId: string): Promise<VaultDoc> {
    const row = await this.db.get<{ doc: string; updated_at: number }>('SELECT doc, updated_at FROM vaults WHERE user_id = ?', [userId]);
    if (!row) throw new NotFoundError('vault');
    return { ...row, etag: etagOf(row.doc) };
  }

  /** `text` must be a JSON object. Returns the new ETag. Concurrent PUTs (any process) are serialised, so If-Match holds. */
  async put(userId: string, text: string, ifMatch?: string): Promise<string> {
    if (Buffer.byteLength(text) > MAX_VAULT_BYTES) throw new ApiError('vault_too_large', `the vault is limited to ${MAX_VAULT_BYTES} bytes`);
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new BadRequestError('invalid_json', 'the vault must be a JSON document');
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new BadRequestError('invalid_json', 'the vault must be a JSON object');
    return this.db.tx(async (q) => {
      if (ifMatch !== undefined) {
        const cur = await q.get<{ doc: string }>('SELECT doc FROM vaults WHERE user_id = ?', [userId]);
        const tag = cur ? etagOf(cur.doc) : undefined;
        if (ifMatch !== '*' ? tag !== ifMatch : !cur) throw new ApiError('precondition_failed', 'the vault changed since it was read (If-Match)');
      }
      await q.run('INSERT INTO vaults (user_id, doc, updated_at) VALUES (?, ?, ?) ON CONFLICT (user_id) DO UPDATE SET doc = excluded.doc, updated_at = excluded.updated_at', [
        userId,
        text,
        this.clock.now(),
      ]);
      return etagOf(text);
    }, `vault:${userId}`);
  }
}
