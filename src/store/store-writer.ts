/**
 * One capture's writing side of the chunk store: the worker threads that
 * turn file bytes into sealed chunks, the two pack writers (data, trees),
 * the uploader, and the local index — shared by every folder and
 * repository bundle of the capture, so small folders share packs.
 *
 * Order (folder-capture.ts walks; this file stores):
 *   open: clean temp files → list the account's blobs → upload this
 *         machine's pending packs → learn other machines' packs (their
 *         tables of contents) → forget packs the server no longer has
 *   each folder: walk → chunks into data packs, sealed as they fill and
 *         uploaded meanwhile → a directory's tree object once its chunks'
 *         packs are sealed
 *   finish: seal the last data pack → the remaining tree objects → seal the
 *         tree pack → one tree root per folder → wait for every upload
 *
 * A chunk already stored (this run, or in the index) is never stored again;
 * tree objects likewise, so an unchanged directory costs nothing.
 */
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, existsSync, fstatSync, mkdirSync, openSync, readSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DriveClient } from '../drive/client.ts';
import { pool } from '../drive/retry.ts';
import { CapturePool } from './capture-pool.ts';
import { CHUNK_DATA, CHUNK_TREE, sealChunk, type ChunkType, type Zstd } from './chunk-crypto.ts';
import { gearTable } from './chunker.ts';
import { chunkId, chunkKey, treeKey, type DataKeys } from './keys.ts';
import type { LocalIndex } from './local-index.ts';
import { readPackToc } from './pack-reader.ts';
import { PackWriter, type SealedPack } from './pack-writer.ts';
import { encodeRootBlob, type TreeLocation, type TreeRoot } from './root-blob.ts';
import { encodeTreeObject, MAX_ENTRIES, packsOf, type ChunkRef, type ObjectRef, type TreeNode } from './tree-object.ts';
import { TreeReader, type BlobBytes } from './tree-reader.ts';
import { Uploader, type UploadEvents } from './uploader.ts';
import { zstdContext } from './zstd.ts';

export interface StoreWriterOptions {
  keys: DataKeys;
  index: LocalIndex;
  /** `<cache>`: packs are written to `<cache>/v2/packs/`. */
  cacheDir: string;
  /** Absent: a dry run (nothing uploaded; packs stay pending). */
  client?: DriveClient;
  level?: number;
  workers?: number;
  packBytes?: number;
  signal?: AbortSignal;
  uploadEvents?: UploadEvents;
  warn?: (m: string) => void;
}

/** A stored tree object: how its parent names it, and where it is. */
export interface StoredObject {
  ref: ObjectRef;
  loc: TreeLocation;
}

/** What a folder's capture gives the manifest entry. */
export interface FolderStored {
  /** Nothing changed since the parent snapshot's tree (same root tree object): keep its entry; no root was written. */
  unchanged: boolean;
  /** Address of the tree root blob. */
  tree: string;
  /** base64 of the 16-byte nonce its key derives from. */
  nonce: string;
  /** Every pack the folder's trees reference, sorted. */
  packs: string[];
  root: TreeRoot;
}

/**
 * Blob bytes read from a local copy when there is one (this machine's tree
 * packs, kept after upload; a pack still waiting for its upload), else from
 * the server: an incremental capture reads its parent's trees from a few
 * local files instead of one request — or one small file — per directory.
 */
export function localFirstBytes(remote: BlobBytes, dirs: string[]): BlobBytes {
  return {
    read: async (hex, start, end) => {
      for (const d of dirs) {
        const path = join(d, hex);
        let fd: number;
        try {
          fd = openSync(path, 'r');
        } catch {
          continue;
        }
        try {
          const size = fstatSync(fd).size;
          const from = start ?? 0;
          const to = Math.min(end ?? size - 1, size - 1);
          const buf = Buffer.allocUnsafe(Math.max(0, to - from + 1));
          for (let got = 0; got < buf.length; ) {
            const n = readSync(fd, buf, got, buf.length - got, from + got);
            if (n === 0) break;
            got += n;
          }
          return buf;
        } finally {
          closeSync(fd);
        }
      }
      return remote.read(hex, start, end);
    },
  };
}

export function driveBytes(client: DriveClient, owner?: string): BlobBytes {
  return {
    read: (hex, start, end) => client.readBlob(hex, { ...(owner ? { owner } : {}), ...(start !== undefined ? { start, ...(end !== undefined ? { end } : {}) } : {}) }),
  };
}

export class StoreWriter {
  readonly zstd: Zstd;
  readonly gear: Int32Array;
  readonly reader: TreeReader | undefined;
  readonly uploader: Uploader;
  readonly packDir: string;
  /** This machine's tree packs, kept after their upload (`<cache>/v2/<user>/tree-packs/`). */
  readonly treePackDir: string;
  private pool: CapturePool | undefined;
  private readonly data: PackWriter;
  private readonly trees: PackWriter;
  /** Chunks stored in this run, by id hex (their pack filled in when sealed). */
  private readonly pending = new Map<string, ChunkRef>();
  /** Tree objects stored or seen in this run, by id hex. */
  private readonly objects = new Map<string, TreeLocation>();
  /** Packs that exist (uploaded, or pending here), for "may this old chunk list be reused". */
  readonly livePacks = new Set<string>();
  /** Bytes of chunks and tree objects this run stored anew (before packing). */
  newBytes = 0;

  private constructor(readonly o: StoreWriterOptions) {
    this.zstd = zstdContext(o.level ?? 3);
    this.gear = gearTable(o.keys.chunkerKey);
    this.packDir = join(o.cacheDir, 'v2', 'packs');
    this.treePackDir = join(o.index.dir, 'tree-packs');
    mkdirSync(this.treePackDir, { recursive: true, mode: 0o700 });
    this.uploader = new Uploader(o.client, o.index, { ...(o.signal ? { signal: o.signal } : {}), ...(o.uploadEvents ? { events: o.uploadEvents } : {}) });
    const sealed = (keepIn?: string) => (p: SealedPack) => {
      this.livePacks.add(p.hex);
      this.uploader.add({ hex: p.hex, path: p.path, size: p.size, kind: 'pack', label: `pack ${p.hex.slice(0, 12)}`, ...(keepIn ? { keepAs: join(keepIn, p.hex) } : {}) });
    };
    this.data = new PackWriter(this.packDir, o.keys.tocKey, o.index, sealed(), o.packBytes);
    this.trees = new PackWriter(this.packDir, o.keys.tocKey, o.index, sealed(this.treePackDir), o.packBytes);
    this.reader = o.client ? new TreeReader(localFirstBytes(driveBytes(o.client), [this.treePackDir, this.packDir]), this.zstd, o.index) : undefined;
  }

  static async open(o: StoreWriterOptions): Promise<StoreWriter> {
    PackWriter.cleanTemp(join(o.cacheDir, 'v2', 'packs'));
    const w = new StoreWriter(o);
    await w.sync();
    return w;
  }

  /** Reconciles the local index with the server (see the header). */
  private async sync(): Promise<void> {
    const idx = this.o.index;
    const local = new Map(idx.packs().map((p) => [p.hex, p]));
    const files = new Set(existsSync(this.packDir) ? readdirSync(this.packDir) : []);
    // Files that are neither pending packs nor temp files: roots of a killed run, never referenced.
    for (const f of files) if (!f.startsWith('tmp-') && local.get(f)?.state !== 'pending') rmSync(join(this.packDir, f), { force: true });
    if (!this.o.client) {
      for (const p of local.values()) if (p.state !== 'not-a-pack') this.livePacks.add(p.hex);
      return;
    }
    const server = new Map((await this.o.client.listAllBlobs()).map((b) => [b.hash, b.size]));
    const gone: string[] = [];
    for (const p of local.values()) {
      if (p.state === 'pending') {
        if (server.has(p.hex)) idx.setPackState(p.hex, 'uploaded', p.size);
        else if (files.has(p.hex)) this.uploader.add({ hex: p.hex, path: join(this.packDir, p.hex), size: p.size, kind: 'pack', label: `pack ${p.hex.slice(0, 12)} (from an interrupted capture)` });
        else {
          gone.push(p.hex);
          continue;
        }
        this.livePacks.add(p.hex);
      } else if (p.state === 'uploaded') {
        if (server.has(p.hex)) this.livePacks.add(p.hex);
        else gone.push(p.hex);
      }
    }
    if (gone.length) {
      idx.dropPacks(gone);
      for (const h of gone) rmSync(join(this.treePackDir, h), { force: true });
    }
    const unknown = [...server].filter(([h]) => !local.has(h));
    await pool(unknown, 8, async ([hex, size]) => {
      if (await this.learnPack(hex, size)) this.livePacks.add(hex);
    });
  }

  /** Reads a stored blob's table of contents into the index; false when it is not one of our packs. */
  private async learnPack(hex: string, size: number): Promise<boolean> {
    const entries = await readPackToc(driveBytes(this.o.client!), hex, size, this.o.keys.tocKey);
    if (!entries) {
      this.o.index.setPackState(hex, 'not-a-pack', size);
      return false;
    }
    this.o.index.addPack(hex, 'uploaded', size, entries);
    return true;
  }

  private workers(): CapturePool {
    this.pool ??= new CapturePool(this.o.workers ?? 2, {
      idKey: this.o.keys.idKey,
      chunkKeyRoot: this.o.keys.chunkKeyRoot,
      gear: this.gear,
      level: this.o.level ?? 3,
    });
    return this.pool;
  }

  /** Backpressure for a walk: wait until a batch may go to the workers and uploads are not piling up. */
  async beforeSubmit(): Promise<void> {
    this.o.signal?.throwIfAborted();
    await this.workers().ready();
    await this.uploader.below(4);
  }

  submit(files: Parameters<CapturePool['submit']>[0]): void {
    this.workers().submit(files);
  }

  /**
   * The reference of a chunk the workers sealed: stored anew, or found
   * stored. `wait` gets the pack to wait for. An empty `sealed` is a chunk
   * the worker was told is stored (knownIds): it must be.
   */
  chunk(type: ChunkType, id: Buffer, key: Buffer, raw: number, sealed: Uint8Array, wait: (p: Promise<string>) => void): ChunkRef {
    const idHex = id.toString('hex');
    const seen = this.pending.get(idHex);
    if (seen) {
      if (!seen.pack) wait(this.handleOf.get(seen)!.sealed);
      return seen;
    }
    const known = this.o.index.chunk(id);
    if (known && this.livePacks.has(known.pack)) {
      const ref: ChunkRef = { id: Buffer.from(id), key: Buffer.from(key), raw, pack: known.pack, offset: known.offset, length: known.length };
      this.pending.set(idHex, ref);
      return ref;
    }
    if (sealed.length === 0) throw new Error(`chunk ${idHex.slice(0, 12)} was named as stored, but the store does not have it`);
    const at = (type === CHUNK_TREE ? this.trees : this.data).add(type, Buffer.from(id), raw, sealed);
    this.newBytes += sealed.length;
    const ref: ChunkRef = { id: Buffer.from(id), key: Buffer.from(key), raw, pack: '', offset: at.offset, length: at.length };
    at.handle.name(ref);
    this.handleOf.set(ref, at.handle);
    this.pending.set(idHex, ref);
    wait(at.handle.sealed);
    return ref;
  }
  private readonly handleOf = new WeakMap<ChunkRef, { sealed: Promise<string> }>();

  /**
   * Stores a directory's entries as tree object(s); returns the first
   * object's reference and every object's location (`into`). Its files'
   * chunks must have their packs (the caller waited for them).
   */
  storeDir(nodes: TreeNode[], into: Map<string, TreeLocation>, packs: Set<string>, parentTrees?: Map<string, TreeLocation>): ObjectRef {
    let next: ObjectRef | undefined;
    const parts: TreeNode[][] = [];
    for (let i = 0; i < nodes.length || i === 0; i += MAX_ENTRIES) parts.push(nodes.slice(i, i + MAX_ENTRIES));
    for (let p = parts.length - 1; p >= 0; p--) {
      const entries = parts[p]!;
      for (const h of packsOf(entries)) packs.add(h);
      const body = encodeTreeObject(next ? { entries, next } : { entries });
      const id = chunkId(this.o.keys.idKey, body);
      const key = chunkKey(this.o.keys.chunkKeyRoot, id);
      const idHex = id.toString('hex');
      let loc = this.objects.get(idHex);
      if (!loc) {
        const known = this.o.index.chunk(id);
        if (known && known.type === CHUNK_TREE && this.livePacks.has(known.pack)) loc = { pack: known.pack, offset: known.offset, length: known.length, raw: known.raw };
        else if (parentTrees?.get(idHex) && this.livePacks.has(parentTrees.get(idHex)!.pack)) loc = { ...parentTrees.get(idHex)! };
        else {
          const sealed = sealChunk(key, id, CHUNK_TREE, body, this.zstd);
          const at = this.trees.add(CHUNK_TREE, id, body.length, sealed);
          this.newBytes += sealed.length;
          loc = { pack: '', offset: at.offset, length: at.length, raw: body.length };
          at.handle.name(loc);
        }
        this.objects.set(idHex, loc);
      }
      into.set(idHex, loc);
      next = { id, key };
    }
    return next!;
  }

  /**
   * Registers a folder whose walk has returned: `rootRef` resolves once its
   * data packs are sealed (in finish()); the result resolves after finish().
   */
  folderDone(rootRef: Promise<ObjectRef>, locs: Map<string, TreeLocation>, packs: Set<string>, stats: { files: number; dirs: number; bytes: number }, parent?: TreeRoot): Promise<FolderStored> {
    rootRef.catch(() => undefined);
    return new Promise<FolderStored>((resolve, reject) => this.folders.push({ rootRef, locs, packs, stats, resolve, reject, ...(parent ? { parent } : {}) }));
  }
  private readonly folders: {
    rootRef: Promise<ObjectRef>;
    locs: Map<string, TreeLocation>;
    packs: Set<string>;
    stats: { files: number; dirs: number; bytes: number };
    parent?: TreeRoot;
    resolve: (f: FolderStored) => void;
    reject: (e: unknown) => void;
  }[] = [];

  /** Seals everything, writes the tree roots, waits for every upload. */
  async finish(): Promise<void> {
    try {
      if (this.pool) await this.pool.idle();
      // Sealing the last data pack lets the last tree objects be stored (their files waited for it).
      const dataSealed = this.data.flush();
      dataSealed.catch(() => undefined);
      const refs = await Promise.all(this.folders.map((f) => f.rootRef));
      await dataSealed;
      await this.trees.flush();
      this.folders.forEach((f, i) => {
        for (const l of f.locs.values()) {
          if (!l.pack) throw new Error('a tree object has no pack after the tree pack was sealed');
          f.packs.add(l.pack);
        }
        const root: TreeRoot = { root: refs[i]!, trees: f.locs, ...f.stats };
        if (f.parent && f.parent.root.id.equals(root.root.id)) {
          f.resolve({ unchanged: true, tree: '', nonce: '', packs: [...f.packs].sort(), root });
          return;
        }
        const nonce = randomBytes(16);
        const blob = encodeRootBlob(treeKey(this.o.keys.treeKeyRoot, nonce), root, this.zstd);
        const hex = createHash('sha256').update(blob).digest('hex');
        const path = join(this.packDir, hex);
        writeFileSync(path, blob, { mode: 0o600 });
        this.uploader.add({ hex, path, size: blob.length, kind: 'root', label: `tree root ${hex.slice(0, 12)}` });
        f.resolve({ unchanged: false, tree: hex, nonce: nonce.toString('base64'), packs: [...f.packs].sort(), root });
      });
      await this.uploader.drain();
    } catch (e) {
      for (const f of this.folders) f.reject(e);
      throw e;
    }
  }

  async close(e?: unknown): Promise<void> {
    if (e !== undefined) {
      this.data.abort(e);
      this.trees.abort(e);
    }
    await this.pool?.close();
  }

  /**
   * The ids (concatenated) of the chunks of `chunks` the store has in a
   * live pack: a changed file's previous chunks, which the workers then
   * name without sealing again (most of a large file edited in one place).
   */
  knownIds(chunks: readonly ChunkRef[]): Buffer | undefined {
    const ids: Buffer[] = [];
    for (const c of chunks) {
      const k = this.o.index.chunk(c.id);
      if (k && k.type === CHUNK_DATA && this.livePacks.has(k.pack)) ids.push(c.id);
    }
    return ids.length ? Buffer.concat(ids) : undefined;
  }

  /** Whether every chunk of a node's list is in a pack that exists. */
  chunksLive(chunks: readonly ChunkRef[]): boolean {
    return chunks.every((c) => this.livePacks.has(c.pack));
  }
}

