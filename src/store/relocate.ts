/**
 * Finding chunks that moved (data v2, the owner only). Trees record where
 * each chunk was stored; a prune repacks half-empty packs (prune.ts), so a
 * chunk may since live in another pack. A reader that meets a location in a
 * pack the server no longer has asks here: the account's packs are listed
 * once, and their tables of contents read (tocKey) until every chunk asked
 * for is found — once per restore, and only after a prune.
 *
 * A moved chunk is the same sealed bytes (a repack copies them verbatim):
 * it still opens only with the key and id its tree gives.
 */
import { CodedError } from '../util/coded-error.ts';
import { readPackToc } from './pack-reader.ts';
import type { BlobBytes } from './tree-reader.ts';

export interface Location {
  pack: string;
  offset: number;
  length: number;
}

export interface BlobLister {
  /** Every blob of the account: address and size. */
  list(): Promise<{ hash: string; size: number }[]>;
}

export class Relocator {
  private live: Map<string, number> | undefined;
  private readonly found = new Map<string, Location>();
  private readonly scanned = new Set<string>();

  constructor(
    private readonly lister: BlobLister,
    private readonly bytes: BlobBytes,
    private readonly tocKey: Uint8Array,
  ) {}

  private async blobs(): Promise<Map<string, number>> {
    this.live ??= new Map((await this.lister.list()).map((b) => [b.hash, b.size]));
    return this.live;
  }

  /**
   * Of these (id hex, the pack a tree names), the ones whose pack the account
   * no longer stores, with where they are now; the rest are not in the map.
   */
  async moved(items: Iterable<{ id: string; pack: string }>): Promise<Map<string, Location>> {
    const live = await this.blobs();
    const gone = new Set<string>();
    for (const it of items) if (!live.has(it.pack)) gone.add(it.id);
    return gone.size ? this.locate(gone) : new Map();
  }

  /** Where these chunks are now (by id hex); throws chunk_missing for any not found in any pack. */
  async locate(ids: Iterable<string>): Promise<Map<string, Location>> {
    const want = new Set([...ids].filter((id) => !this.found.has(id)));
    if (want.size) {
      for (const [hex, size] of await this.blobs()) {
        if (!want.size) break;
        if (this.scanned.has(hex)) continue;
        this.scanned.add(hex);
        for (const e of (await readPackToc(this.bytes, hex, size, this.tocKey)) ?? []) {
          const id = e.id.toString('hex');
          if (!this.found.has(id)) this.found.set(id, { pack: hex, offset: e.offset, length: e.length });
          want.delete(id);
        }
      }
    }
    const out = new Map<string, Location>();
    for (const id of ids) {
      const l = this.found.get(id);
      if (!l) throw new CodedError('chunk_missing', `chunk ${id.slice(0, 16)}… is in no pack the account stores`, { id });
      out.set(id, l);
    }
    return out;
  }
}
