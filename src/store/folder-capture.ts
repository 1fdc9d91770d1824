/**
 * Captures one folder into the chunk store (store-writer.ts): a walk in
 * name-byte order that never follows a symlink, one tree object per
 * directory, and the folder's tree root at the end of the capture.
 *
 * Per entry:
 *   directory  → walked (its tree object is stored when all its entries are)
 *   file       → unchanged since the parent snapshot (same size, mtime in ns
 *                and inode, its chunks still stored): the parent's chunk list
 *                is reused, the file is not read; a second link to a file
 *                seen before → a hard link entry; else read by a worker
 *   symlink    → kept as is, absolute or not (never followed)
 *   socket, FIFO, device → left out, reported
 * Names are bytes (non-UTF-8 names are kept). setuid/setgid bits are
 * dropped. A file or folder that cannot be read is reported; when the
 * parent snapshot had it, its previous entry is kept rather than dropped.
 *
 * The walk runs ahead of the workers, bounded by their queue (beforeSubmit).
 * Its file system calls are synchronous: one lstat through libuv's thread
 * pool and back costs ≈ 40 µs here, a direct one ≈ 4 µs (bench/README.md,
 * peer-restic), and the thread has nothing else to do meanwhile but read
 * the workers' output, which waits in their buffers.
 */
import { lstatSync, readdirSync, readlinkSync, type BigIntStats } from 'node:fs';
import { CHUNK_DATA } from './chunk-crypto.ts';
import type { FileSink } from './capture-pool.ts';
import type { TreeLocation, TreeRoot } from './root-blob.ts';
import type { StoreWriter, FolderStored } from './store-writer.ts';
import { compareBytes, type ChunkRef, type FileNode, type ObjectRef, type TreeNode } from './tree-object.ts';

export interface FolderCaptureOptions {
  /** The folder's tree root in the parent snapshot (unchanged files are not read again). */
  parent?: TreeRoot;
  /** Leave out (skip patterns, repositories' .git): absolute path and name, as strings. */
  skips?: (abs: string, name: string) => boolean;
  warn?: (m: string) => void;
  /** Bytes of files looked at so far (read or found unchanged). */
  onProgress?: (bytes: number) => void;
  /**
   * Record files with fixed metadata (mode 0600, mtime 0, inode 0): for a
   * file made anew each time with the same bytes (a repository's bundle),
   * so that the same bytes give the same tree and nothing is uploaded.
   */
  fixedMeta?: boolean;
  signal?: AbortSignal;
}

/** A result that comes later, boxed so that awaiting the box does not wait for it. */
export interface Later<T> {
  later: Promise<T>;
}
const now = <T>(v: T): Later<T> => ({ later: Promise.resolve(v) });

const BATCH_FILES = 64;
const BATCH_BYTES = 8 * 1024 * 1024;
const MAX_WARNINGS = 20;
const SLASH = Buffer.from('/');
const key = (name: Buffer) => name.toString('latin1');
const join = (a: Buffer, b: Buffer) => Buffer.concat([a, SLASH, b]);

class FolderWalk {
  private batch: { path: Buffer; known?: Buffer; sink: FileSink }[] = [];
  private batchBytes = 0;
  private readonly locs = new Map<string, TreeLocation>();
  private readonly packs = new Set<string>();
  private readonly links = new Map<string, Buffer>();
  private stats = { files: 0, dirs: 0, bytes: 0 };
  private done = 0;
  private warnings = 0;

  constructor(
    private readonly w: StoreWriter,
    private readonly label: string,
    private readonly o: FolderCaptureOptions,
  ) {}

  private warn(m: string): void {
    if (++this.warnings <= MAX_WARNINGS) this.o.warn?.(`${this.label}: ${m}`);
    else if (this.warnings === MAX_WARNINGS + 1) this.o.warn?.(`${this.label}: more left out (not listed)`);
  }

  private progress(n: number): void {
    this.done += n;
    this.o.onProgress?.(this.done);
  }

  /** Walks the folder; the boxed result resolves after the writer's finish(). */
  async run(dir: string): Promise<Later<FolderStored>> {
    const abs = Buffer.from(dir);
    if (this.o.parent && this.w.reader) {
      // The parent's tree objects in a few reads (local tree packs first), opened as the walk reaches them.
      try {
        await this.w.reader.prefetch(this.o.parent);
      } catch (e) {
        this.warn(`the parent snapshot's trees could not be read ahead (${(e as Error).message}); reading them one by one`);
      }
    }
    const prev = this.o.parent ? await this.prevEntries(this.o.parent.root) : undefined;
    const root = await this.walkDir(abs, Buffer.alloc(0), prev);
    await this.flushBatch();
    return { later: this.w.folderDone(root.later, this.locs, this.packs, this.stats, this.o.parent) };
  }

  private async prevEntries(ref: ObjectRef | undefined): Promise<Map<string, TreeNode> | undefined> {
    if (!ref || !this.o.parent || !this.w.reader) return undefined;
    try {
      return new Map((await this.w.reader.entries(ref, this.o.parent)).map((e) => [key(e.name), e]));
    } catch (e) {
      this.warn(`the parent snapshot's tree could not be read (${(e as Error).message}); reading the files again`);
      return undefined;
    }
  }

  private async flushBatch(): Promise<void> {
    if (!this.batch.length) return;
    const b = this.batch;
    this.batch = [];
    this.batchBytes = 0;
    await this.w.beforeSubmit();
    this.w.submit(b);
  }

  /** Walks a directory; resolves when walked, to (a box holding) the promise of its tree object. */
  private async walkDir(abs: Buffer, rel: Buffer, prev: Map<string, TreeNode> | undefined): Promise<Later<ObjectRef>> {
    this.o.signal?.throwIfAborted();
    this.stats.dirs++;
    let names: Buffer[];
    try {
      names = readdirSync(abs, { encoding: 'buffer' }).sort(compareBytes);
    } catch (e) {
      this.warn(`cannot list ${abs.toString()} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})${prev ? '; kept as in the parent snapshot' : ''}`);
      return { later: Promise.resolve(this.w.storeDir(prev ? [...prev.values()] : [], this.locs, this.packs, this.o.parent?.trees)) };
    }
    const items: Promise<TreeNode | undefined>[] = [];
    for (const name of names) {
      const childAbs = join(abs, name);
      const childRel = rel.length ? join(rel, name) : name;
      const absText = childAbs.toString();
      if (this.o.skips?.(absText, name.toString())) continue;
      const before = prev?.get(key(name));
      let st: BigIntStats;
      try {
        st = lstatSync(childAbs, { bigint: true });
      } catch (e) {
        this.warn(`cannot stat ${absText} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
        if (before) items.push(Promise.resolve(before));
        continue;
      }
      const base = this.o.fixedMeta && st.isFile() ? { name, mode: 0o600, mtimeNs: 0n } : { name, mode: Number(st.mode & 0o7777n) & ~0o6000, mtimeNs: st.mtimeNs };
      if (st.isDirectory()) {
        const prevSub = before?.type === 'dir' ? await this.prevEntries(before.tree) : undefined;
        const sub = await this.walkDir(childAbs, childRel, prevSub);
        items.push(sub.later.then((tree) => ({ ...base, type: 'dir' as const, tree })));
      } else if (st.isSymbolicLink()) {
        try {
          items.push(Promise.resolve({ ...base, type: 'symlink' as const, target: readlinkSync(childAbs, { encoding: 'buffer' }) }));
        } catch (e) {
          this.warn(`cannot read the link ${absText} (${(e as Error).message})`);
        }
      } else if (st.isFile()) {
        items.push((await this.file(childAbs, childRel, st, base, before)).later);
      } else {
        this.warn(`${absText} left out (${st.isSocket() ? 'socket' : st.isFIFO() ? 'FIFO' : 'device or special file'})`);
      }
    }
    return { later: Promise.all(items).then((nodes) => this.w.storeDir(nodes.filter((n): n is TreeNode => n !== undefined), this.locs, this.packs, this.o.parent?.trees)) };
  }

  private async file(abs: Buffer, rel: Buffer, st: BigIntStats, base: { name: Buffer; mode: number; mtimeNs: bigint }, before: TreeNode | undefined): Promise<Later<TreeNode | undefined>> {
    const size = Number(st.size);
    const ino = this.o.fixedMeta ? '0' : st.ino.toString();
    this.stats.files++;
    if (st.nlink > 1n) {
      const id = `${st.dev}:${st.ino}`;
      const first = this.links.get(id);
      if (first) return now({ ...base, type: 'file', size, ino, chunks: [], link: first });
      this.links.set(id, rel);
    }
    this.stats.bytes += size;
    if (before?.type === 'file' && !before.link && before.size === size && before.mtimeNs === st.mtimeNs && before.ino === ino && this.w.chunksLive(before.chunks)) {
      this.progress(size);
      return now({ ...base, type: 'file', size, ino, chunks: before.chunks });
    }
    if (size === 0) return now({ ...base, type: 'file', size, ino, chunks: [] });
    return this.read(abs, size, { ...base, type: 'file', size, ino, chunks: [] }, before);
  }

  /** Queues a file for the workers; the node resolves once its chunks' packs are sealed. */
  private async read(abs: Buffer, size: number, node: FileNode, before: TreeNode | undefined): Promise<Later<TreeNode | undefined>> {
    const waits: Promise<string>[] = [];
    const chunks: ChunkRef[] = [];
    const result = new Promise<TreeNode | undefined>((resolve) => {
      const sink: FileSink = {
        chunk: (id, k, raw, sealed) => {
          chunks.push(this.w.chunk(CHUNK_DATA, id, k, raw, sealed, (p) => waits.push(p)));
          this.progress(raw);
        },
        done: (r) => {
          if ('error' in r) {
            this.warn(`cannot read ${abs.toString()} (${r.error})${before ? '; kept as in the parent snapshot' : ''}`);
            resolve(before);
            return;
          }
          if (r.size !== size) this.warn(`${abs.toString()} changed while it was read (${size} → ${r.size} bytes)`);
          Promise.all(waits).then(
            () => resolve({ ...node, size: r.size, chunks }),
            () => resolve(before),
          );
        },
      };
      // Its previous version's chunks that are stored: not sealed again (an edit in a large file).
      const known = before?.type === 'file' && !before.link ? this.w.knownIds(before.chunks) : undefined;
      this.batch.push({ path: abs, ...(known ? { known } : {}), sink });
    });
    this.batchBytes += size;
    if (this.batch.length >= BATCH_FILES || this.batchBytes >= BATCH_BYTES) await this.flushBatch();
    return { later: result };
  }
}

/**
 * Walks `dir` into the writer. Resolves when the walk is done, to a box whose
 * promise resolves after `writer.finish()` (a promise cannot be returned
 * unboxed from an async function: it would be awaited).
 */
export function captureFolder(w: StoreWriter, dir: string, label: string, o: FolderCaptureOptions = {}): Promise<Later<FolderStored>> {
  return new FolderWalk(w, label, o).run(dir);
}
