/**
 * The capturing machine's memory of the account's chunk store, in
 * `<cache>/v2/<user id>/` — plain files, no database (the client ships to
 * Debian's Node 18, where only Node-API addons load):
 *
 *   packs.log      one line per change: "<pack hex> <state> <size>" (the last line of a pack wins):
 *                  'uploaded' (the server has it), 'pending' (sealed here, its file in
 *                  `<cache>/v2/packs/`, not uploaded yet) or 'not-a-pack' (a v1 blob, a tree
 *                  root: its tail is not fetched again)
 *   tocs/<hex>     the plaintext table of contents of each pack (pack-format.ts entries)
 *   objects/<aa>/<key>  plaintext tree roots already read or written
 *   tree-packs/<hex>  this machine's tree packs, kept after their upload (store-writer.ts),
 *                  so an incremental capture reads its parent's tree objects from a few local
 *                  files (the server for the rest)
 *
 * In memory, the chunks of every live pack sit in one open-addressing hash
 * table over a flat buffer (≈ 55 bytes a chunk: a million chunks, 55 MB).
 *
 * It is a cache, never the truth: lost, it is rebuilt from the packs'
 * tables of contents on the server (store-writer.ts sync). A pack's TOC is
 * written before the pack is logged, so the log never names a pack whose
 * chunks are unknown. Two machines of one account each keep their own;
 * neither writes the other's.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChunkType } from './chunk-crypto.ts';
import { decodeToc, encodeToc, type PackEntry } from './pack-format.ts';

export interface ChunkLocation {
  type: ChunkType;
  pack: string;
  offset: number;
  length: number;
  raw: number;
}

export type PackState = 'pending' | 'uploaded' | 'not-a-pack';
const STATES: readonly string[] = ['pending', 'uploaded', 'not-a-pack'];

/** One record: id (32) ‖ type (1) ‖ pack index (4) ‖ offset (4) ‖ length (4) ‖ raw (4). */
const REC = 49;

export class LocalIndex {
  private readonly packState = new Map<string, { state: PackState; size: number }>();
  private readonly packNames: string[] = [];
  private readonly packIndex = new Map<string, number>();
  private recs = Buffer.alloc(0);
  private count = 0;
  private slots = new Uint32Array(0);
  private loaded = false;

  private constructor(readonly dir: string) {}

  static open(cacheDir: string, userId: string): LocalIndex {
    const dir = join(cacheDir, 'v2', userId.replace(/[^A-Za-z0-9_.-]/g, '_'));
    mkdirSync(join(dir, 'tocs'), { recursive: true, mode: 0o700 });
    const ix = new LocalIndex(dir);
    const log = join(dir, 'packs.log');
    if (existsSync(log)) {
      for (const line of readFileSync(log, 'latin1').split('\n')) {
        const [hex, state, size] = line.split(' ');
        if (!hex || !/^[0-9a-f]{64}$/.test(hex) || !STATES.includes(state ?? '') || !/^[0-9]+$/.test(size ?? '')) continue;
        ix.packState.set(hex, { state: state as PackState, size: Number(size) });
      }
      // Compact a long log to its last word on each pack.
      if (ix.packState.size * 2 < readFileSync(log, 'latin1').split('\n').length) ix.rewriteLog();
    }
    return ix;
  }

  close(): void {
    // Nothing held open: every change is on disk when its method returns.
  }

  private rewriteLog(): void {
    const tmp = join(this.dir, 'packs.log.tmp');
    writeFileSync(tmp, [...this.packState].map(([h, p]) => `${h} ${p.state} ${p.size}\n`).join(''));
    renameSync(tmp, join(this.dir, 'packs.log'));
  }

  private log(hex: string, state: PackState, size: number): void {
    this.packState.set(hex, { state, size });
    appendFileSync(join(this.dir, 'packs.log'), `${hex} ${state} ${size}\n`);
  }

  /** Loads the chunks of every pack the log names (once, after stale packs were dropped). */
  private load(): void {
    if (this.loaded) return;
    this.loaded = true;
    for (const [hex, p] of this.packState) {
      if (p.state === 'not-a-pack') continue;
      let toc: Buffer;
      try {
        toc = readFileSync(join(this.dir, 'tocs', hex));
      } catch {
        continue; // a pack logged without its TOC cannot be used for dedup: as if unknown
      }
      try {
        this.insertAll(hex, decodeToc(toc, `local index ${hex.slice(0, 12)}`, 0xffff_ffff));
      } catch {
        rmSync(join(this.dir, 'tocs', hex), { force: true });
      }
    }
  }

  private packNo(hex: string): number {
    let n = this.packIndex.get(hex);
    if (n === undefined) {
      n = this.packNames.length;
      this.packNames.push(hex);
      this.packIndex.set(hex, n);
    }
    return n;
  }

  private insertAll(hex: string, entries: readonly PackEntry[]): void {
    const p = this.packNo(hex);
    for (const e of entries) this.insert(e, p);
  }

  private insert(e: PackEntry, pack: number): void {
    if (this.find(e.id) >= 0) return;
    if ((this.count + 1) * 2 > this.slots.length) this.grow();
    const at = this.count++;
    const o = at * REC;
    e.id.copy(this.recs, o, 0, 32);
    this.recs[o + 32] = e.type;
    this.recs.writeUInt32LE(pack, o + 33);
    this.recs.writeUInt32LE(e.offset, o + 37);
    this.recs.writeUInt32LE(e.length, o + 41);
    this.recs.writeUInt32LE(e.rawLength, o + 45);
    this.place(at);
  }

  private grow(): void {
    const cap = Math.max(1024, this.slots.length * 2);
    const recs = Buffer.alloc((cap / 2) * REC);
    this.recs.copy(recs, 0, 0, this.count * REC);
    this.recs = recs;
    this.slots = new Uint32Array(cap);
    for (let i = 0; i < this.count; i++) this.place(i);
  }

  /** Slot values are record index + 1 (0 = empty); ids are uniform, so their first bytes hash. */
  private place(rec: number): void {
    const mask = this.slots.length - 1;
    let s = this.recs.readUInt32LE(rec * REC) & mask;
    while (this.slots[s] !== 0) s = (s + 1) & mask;
    this.slots[s] = rec + 1;
  }

  private find(id: Buffer): number {
    if (!this.slots.length) return -1;
    const mask = this.slots.length - 1;
    let s = id.readUInt32LE(0) & mask;
    for (;;) {
      const v = this.slots[s]!;
      if (v === 0) return -1;
      const o = (v - 1) * REC;
      if (this.recs.compare(id, 0, 32, o, o + 32) === 0) return v - 1;
      s = (s + 1) & mask;
    }
  }

  chunk(id: Buffer): ChunkLocation | undefined {
    this.load();
    const r = this.find(id);
    if (r < 0) return undefined;
    const o = r * REC;
    return {
      type: this.recs[o + 32] as ChunkType,
      pack: this.packNames[this.recs.readUInt32LE(o + 33)]!,
      offset: this.recs.readUInt32LE(o + 37),
      length: this.recs.readUInt32LE(o + 41),
      raw: this.recs.readUInt32LE(o + 45),
    };
  }

  /** Records a complete pack and its chunks: the TOC first, then the log line. */
  addPack(hex: string, state: PackState, size: number, entries: readonly PackEntry[]): void {
    const tmp = join(this.dir, 'tocs', `${hex}.tmp`);
    writeFileSync(tmp, encodeToc(entries));
    renameSync(tmp, join(this.dir, 'tocs', hex));
    this.log(hex, state, size);
    if (this.loaded) this.insertAll(hex, entries);
  }

  /** A pack's table of contents as recorded here; undefined when unknown. */
  packEntries(hex: string): PackEntry[] | undefined {
    try {
      return decodeToc(readFileSync(join(this.dir, 'tocs', hex)), `local index ${hex.slice(0, 12)}`, 0xffff_ffff);
    } catch {
      return undefined;
    }
  }

  setPackState(hex: string, state: PackState, size: number): void {
    this.log(hex, state, size);
  }

  packs(state?: PackState): { hex: string; state: PackState; size: number }[] {
    return [...this.packState].filter(([, p]) => !state || p.state === state).map(([hex, p]) => ({ hex, ...p }));
  }

  /** Forgets packs (gone from the server) and every chunk they held. */
  dropPacks(hexes: readonly string[]): void {
    for (const h of hexes) {
      this.packState.delete(h);
      rmSync(join(this.dir, 'tocs', h), { force: true });
    }
    this.rewriteLog();
    if (this.loaded) {
      // Rare (a prune elsewhere, a lost cache): rebuild the table without them.
      this.loaded = false;
      this.packNames.length = 0;
      this.packIndex.clear();
      this.count = 0;
      this.slots = new Uint32Array(0);
      this.recs = Buffer.alloc(0);
    }
  }

  private objectPath(key: string): string {
    const safe = key.replace(/[^A-Za-z0-9_.-]/g, '_');
    return join(this.dir, 'objects', safe.slice(-2), safe);
  }

  object(key: string): Buffer | undefined {
    try {
      return readFileSync(this.objectPath(key));
    } catch {
      return undefined;
    }
  }

  putObjectBody(key: string, body: Buffer): void {
    const p = this.objectPath(key);
    if (existsSync(p)) return;
    mkdirSync(join(p, '..'), { recursive: true, mode: 0o700 });
    const tmp = `${p}.tmp-${process.pid}`;
    writeFileSync(tmp, body, { mode: 0o600 });
    renameSync(tmp, p);
  }
}

