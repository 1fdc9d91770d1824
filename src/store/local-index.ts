/**
 * The capturing machine's memory of the account's chunk store:
 * `<cache>/v2/<user id>.sqlite` (SQLite, WAL).
 *
 * - chunks: id → where it is stored (pack, offset, sealed length, raw length, type)
 * - packs:  every blob of the account seen: a pack (uploaded), one of this
 *           machine's packs written but not uploaded yet ('pending', its file
 *           in `<cache>/v2/packs/`), or a blob that is not a pack (v1 blobs,
 *           tree roots) so its tail is not fetched again
 * - objects: plaintext tree objects and tree roots already read or written,
 *           so an incremental capture reads the parent's trees from disk
 *
 * It is a cache, never the truth: lost, it is rebuilt from the packs' tables
 * of contents (sync-index.ts); a chunk is recorded only once its pack file
 * is complete on disk, so it never names a pack that does not exist. Two
 * machines of one account each keep their own; neither writes the other's.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ChunkType } from './chunk-crypto.ts';
import type { PackEntry } from './pack-format.ts';

export interface ChunkLocation {
  type: ChunkType;
  pack: string;
  offset: number;
  length: number;
  raw: number;
}

export type PackState = 'pending' | 'uploaded' | 'not-a-pack';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS chunks (id BLOB PRIMARY KEY, type INTEGER NOT NULL, pack TEXT NOT NULL, offset INTEGER NOT NULL, length INTEGER NOT NULL, raw INTEGER NOT NULL) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS chunks_pack ON chunks (pack);
CREATE TABLE IF NOT EXISTS packs (hex TEXT PRIMARY KEY, state TEXT NOT NULL, size INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS objects (key TEXT PRIMARY KEY, body BLOB NOT NULL) WITHOUT ROWID;
`;

export class LocalIndex {
  private readonly getChunk: Database.Statement;
  private readonly putChunk: Database.Statement;
  private readonly putPack: Database.Statement;
  private readonly getObject: Database.Statement;
  private readonly putObject: Database.Statement;

  private constructor(readonly db: Database.Database) {
    this.getChunk = db.prepare('SELECT type, pack, offset, length, raw FROM chunks WHERE id = ?');
    this.putChunk = db.prepare('INSERT OR IGNORE INTO chunks (id, type, pack, offset, length, raw) VALUES (?, ?, ?, ?, ?, ?)');
    this.putPack = db.prepare('INSERT INTO packs (hex, state, size) VALUES (?, ?, ?) ON CONFLICT(hex) DO UPDATE SET state = excluded.state, size = excluded.size');
    this.getObject = db.prepare('SELECT body FROM objects WHERE key = ?');
    this.putObject = db.prepare('INSERT OR IGNORE INTO objects (key, body) VALUES (?, ?)');
  }

  static open(cacheDir: string, userId: string): LocalIndex {
    const dir = join(cacheDir, 'v2');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const safe = userId.replace(/[^A-Za-z0-9_.-]/g, '_');
    const db = new Database(join(dir, `${safe}.sqlite`));
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('busy_timeout = 5000');
    db.exec(SCHEMA);
    return new LocalIndex(db);
  }

  close(): void {
    this.db.close();
  }

  chunk(id: Buffer): ChunkLocation | undefined {
    return this.getChunk.get(id) as ChunkLocation | undefined;
  }

  /** Records a complete pack and its chunks, in one transaction. */
  addPack(hex: string, state: PackState, size: number, entries: readonly PackEntry[]): void {
    this.db.transaction(() => {
      this.putPack.run(hex, state, size);
      for (const e of entries) this.putChunk.run(e.id, e.type, hex, e.offset, e.length, e.rawLength);
    })();
  }

  setPackState(hex: string, state: PackState, size: number): void {
    this.putPack.run(hex, state, size);
  }

  packs(state?: PackState): { hex: string; state: PackState; size: number }[] {
    return (state ? this.db.prepare('SELECT hex, state, size FROM packs WHERE state = ?').all(state) : this.db.prepare('SELECT hex, state, size FROM packs').all()) as {
      hex: string;
      state: PackState;
      size: number;
    }[];
  }

  /** Forgets packs (gone from the server) and every chunk they held. */
  dropPacks(hexes: readonly string[]): void {
    const delChunks = this.db.prepare('DELETE FROM chunks WHERE pack = ?');
    const delPack = this.db.prepare('DELETE FROM packs WHERE hex = ?');
    this.db.transaction(() => {
      for (const h of hexes) {
        delChunks.run(h);
        delPack.run(h);
      }
    })();
  }

  object(key: string): Buffer | undefined {
    return (this.getObject.get(key) as { body: Buffer } | undefined)?.body;
  }

  putObjectBody(key: string, body: Buffer): void {
    this.putObject.run(key, body);
  }
}
