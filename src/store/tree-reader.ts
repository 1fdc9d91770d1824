/**
 * Reads a folder's trees back: its tree root (root-blob.ts), then tree
 * objects (tree-object.ts) at the locations the root lists, each opened with
 * the key its parent gives and checked against its id. Bytes come from a
 * `BlobBytes` (the server for the owner or a share recipient; a local
 * export later; a capture's reader reads this machine's tree packs from its
 * cache first: store-writer.ts). The last KEEP_DECODED objects are kept
 * decoded; tree roots are kept in the local index's object cache.
 *
 * `prefetch` reads every tree object of a folder in one ranged GET per run
 * of nearby objects of a pack — a folder's objects are written together —
 * instead of one request per directory, and keeps them sealed until asked.
 */
import { CodedError } from '../util/coded-error.ts';
import { CHUNK_TREE, openChunk, type Zstd } from './chunk-crypto.ts';
import type { LocalIndex } from './local-index.ts';
import type { Relocator } from './relocate.ts';
import { decodeRootBlob, type TreeLocation, type TreeRoot } from './root-blob.ts';
import { decodeTreeObject, type ObjectRef, type TreeNode, type TreeObject } from './tree-object.ts';

/** Where stored bytes come from. */
export interface BlobBytes {
  /** The whole blob, or bytes [start, end] inclusive. */
  read(hex: string, start?: number, end?: number): Promise<Buffer>;
}

/** Reads closer than this are merged into one request. */
const MERGE_GAP = 1024 * 1024;

/** Decoded tree objects kept in memory (the most recent; up to 10,000 entries each): a large folder is not held decoded. */
const KEEP_DECODED = 16;

export class TreeReader {
  private readonly objects = new Map<string, TreeObject>();
  /** Sealed tree objects fetched ahead (prefetch), opened when asked for. */
  private readonly sealed = new Map<string, Buffer>();

  constructor(
    private readonly bytes: BlobBytes,
    private readonly zstd: Zstd,
    private readonly cache?: LocalIndex,
    /** The owner's way to find tree objects a prune moved (relocate.ts). */
    private readonly relocator?: Relocator,
  ) {}

  /** Where tree objects are now: as their root says, or where a prune moved them. */
  private async where(found: [string, TreeLocation][]): Promise<[string, TreeLocation][]> {
    if (!this.relocator) return found;
    const now = await this.relocator.moved(found.map(([id, l]) => ({ id, pack: l.pack })));
    if (!now.size) return found;
    return found.map(([id, l]) => [id, now.has(id) ? { ...now.get(id)!, raw: l.raw } : l]);
  }

  async root(hex: string, treeKey: Uint8Array): Promise<TreeRoot> {
    const cached = this.cache?.object(`root:${hex}`);
    const blob = cached ?? (await this.bytes.read(hex));
    const root = decodeRootBlob(treeKey, blob, this.zstd, `tree root ${hex.slice(0, 12)}`);
    if (!cached) this.cache?.putObjectBody(`root:${hex}`, blob);
    return root;
  }

  private open(ref: ObjectRef, loc: TreeLocation, sealed: Buffer): TreeObject {
    const idHex = ref.id.toString('hex');
    const plain = openChunk(ref.key, ref.id, CHUNK_TREE, sealed, loc.raw, this.zstd, `tree object ${idHex.slice(0, 12)}`);
    const t = decodeTreeObject(plain, `tree object ${idHex.slice(0, 12)}`);
    this.keep(idHex, t);
    return t;
  }

  private keep(idHex: string, t: TreeObject): void {
    this.objects.set(idHex, t);
    if (this.objects.size > KEEP_DECODED) this.objects.delete(this.objects.keys().next().value!);
  }

  private cached(idHex: string): TreeObject | undefined {
    return this.objects.get(idHex);
  }

  /** One tree object. */
  async object(ref: ObjectRef, root: TreeRoot): Promise<TreeObject> {
    const idHex = ref.id.toString('hex');
    const have = this.cached(idHex);
    if (have) return have;
    const listed = root.trees.get(idHex);
    if (!listed) throw new CodedError('tree_format', `tree object ${idHex.slice(0, 12)} is not listed in its folder's tree root`);
    const sealed = this.sealed.get(idHex);
    if (sealed) return this.open(ref, listed, sealed);
    const [[, loc]] = (await this.where([[idHex, listed]])) as [[string, TreeLocation]];
    return this.open(ref, loc, await this.bytes.read(loc.pack, loc.offset, loc.offset + loc.length - 1));
  }

  /** A directory's entries (following continuation objects); `ids` gets the hex id of each object read. */
  async entries(ref: ObjectRef, root: TreeRoot, ids?: string[]): Promise<TreeNode[]> {
    const out: TreeNode[] = [];
    const seen = new Set<string>();
    for (let r: ObjectRef | undefined = ref; r; ) {
      const idHex = r.id.toString('hex');
      if (seen.has(idHex)) throw new CodedError('tree_format', `tree object ${idHex.slice(0, 12)} continues into itself`);
      seen.add(idHex);
      ids?.push(idHex);
      const t: TreeObject = await this.object(r, root);
      out.push(...t.entries);
      r = t.next;
    }
    return out;
  }

  /**
   * Fetches the folder's tree objects that are not cached yet, merged into
   * few ranged reads, and keeps them sealed (compact): each is opened when
   * asked for, with the key its parent's entry gives, and checked against
   * the id that entry names.
   */
  async prefetch(root: TreeRoot): Promise<void> {
    const want = await this.where([...root.trees.entries()].filter(([id]) => !this.sealed.has(id) && !this.cached(id)));
    if (!want.length) return;
    const byPack = new Map<string, [string, TreeLocation][]>();
    for (const w of want) {
      const l = byPack.get(w[1].pack) ?? [];
      l.push(w);
      byPack.set(w[1].pack, l);
    }
    for (const [pack, list] of byPack) {
      list.sort((a, b) => a[1].offset - b[1].offset);
      for (let i = 0; i < list.length; ) {
        let j = i;
        let end = list[i]![1].offset + list[i]![1].length;
        while (j + 1 < list.length && list[j + 1]![1].offset - end <= MERGE_GAP) {
          j++;
          end = Math.max(end, list[j]![1].offset + list[j]![1].length);
        }
        const start = list[i]![1].offset;
        const buf = await this.bytes.read(pack, start, end - 1);
        for (let k = i; k <= j; k++) {
          const [id, l] = list[k]!;
          this.sealed.set(id, Buffer.from(buf.subarray(l.offset - start, l.offset - start + l.length)));
        }
        i = j + 1;
      }
    }
  }
}
