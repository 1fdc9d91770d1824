/**
 * Writes packs (pack-format.ts) into `<cache>/v2/packs/` as chunks come:
 * each sealed chunk is appended to the open pack's temp file and hashed;
 * past the target size (or on flush) the table of contents and trailer are
 * appended, the file is fsync'ed (in libuv's pool: the next pack fills
 * meanwhile) and renamed to its address, the local index records the pack
 * and its chunks ('pending'), and `onSealed` hands it to the uploader. A chunk's location is therefore known only once its
 * pack is sealed: `add` returns the pack's handle, whose `sealed` promise
 * gives the address.
 *
 * Interrupted: a temp file (removed at the next open) or complete packs
 * recorded as pending, which the next capture uploads first.
 */
import { createHash, randomBytes, type Hash } from 'node:crypto';
import { closeSync, fsync, mkdirSync, openSync, readdirSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { ChunkType } from './chunk-crypto.ts';
import type { LocalIndex } from './local-index.ts';
import { sealToc, trailer, type PackEntry } from './pack-format.ts';

export const DEFAULT_PACK_BYTES = 16 * 1024 * 1024;

export class PackHandle {
  hex: string | undefined;
  /** Places that name this pack and learn its address when it is sealed. */
  private readonly refs: { pack: string }[] = [];
  readonly sealed: Promise<string>;
  resolve!: (hex: string) => void;
  reject!: (e: unknown) => void;
  constructor() {
    this.sealed = new Promise((res, rej) => {
      this.resolve = (h) => {
        this.hex = h;
        for (const r of this.refs) r.pack = h;
        this.refs.length = 0;
        res(h);
      };
      this.reject = rej;
    });
    this.sealed.catch(() => undefined);
  }

  /** `ref.pack` gets this pack's address: now if it is sealed (the chunk that filled it sealed it), else when it is. */
  name(ref: { pack: string }): void {
    if (this.hex !== undefined) ref.pack = this.hex;
    else this.refs.push(ref);
  }
}

export interface SealedPack {
  hex: string;
  path: string;
  size: number;
  entries: PackEntry[];
}

interface OpenPack {
  handle: PackHandle;
  tmp: string;
  fd: number;
  hash: Hash;
  size: number;
  entries: PackEntry[];
}

export class PackWriter {
  private open: OpenPack | undefined;
  /** Packs whose fsync is under way. */
  private readonly sealing = new Set<Promise<void>>();
  private failed: unknown;

  constructor(
    readonly dir: string,
    private readonly tocKey: Uint8Array,
    private readonly index: LocalIndex,
    private readonly onSealed: (p: SealedPack) => void,
    readonly target = DEFAULT_PACK_BYTES,
  ) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  }

  /** Removes temp files a killed run left (complete packs stay: they are pending uploads). */
  static cleanTemp(dir: string): void {
    try {
      for (const f of readdirSync(dir)) if (f.startsWith('tmp-')) rmSync(join(dir, f), { force: true });
    } catch {
      // no folder yet
    }
  }

  /** Appends a sealed chunk; returns its pack's handle and place. */
  add(type: ChunkType, id: Buffer, rawLength: number, sealed: Uint8Array): { handle: PackHandle; offset: number; length: number } {
    if (this.failed) throw this.failed;
    const p = (this.open ??= this.start());
    const offset = p.size;
    writeAll(p.fd, sealed);
    p.hash.update(sealed);
    p.size += sealed.length;
    p.entries.push({ type, id, offset, length: sealed.length, rawLength });
    const at = { handle: p.handle, offset, length: sealed.length };
    if (p.size >= this.target) this.seal();
    return at;
  }

  /** Seals the open pack, if any; resolves when every pack is sealed (throws the first failure). */
  async flush(): Promise<void> {
    if (this.open) this.seal();
    await Promise.all([...this.sealing]);
    if (this.failed) throw this.failed;
  }

  /** Abandons the open pack (a failed capture): its temp file goes. */
  abort(e: unknown): void {
    const p = this.open;
    this.open = undefined;
    if (!p) return;
    closeSync(p.fd);
    rmSync(p.tmp, { force: true });
    p.handle.reject(e);
  }

  private start(): OpenPack {
    const tmp = join(this.dir, `tmp-${randomBytes(8).toString('hex')}`);
    return { handle: new PackHandle(), tmp, fd: openSync(tmp, 'wx', 0o600), hash: createHash('sha256'), size: 0, entries: [] };
  }

  private seal(): void {
    const p = this.open!;
    this.open = undefined;
    let closed = false;
    const fail = (e: unknown) => {
      if (!closed) closeSync(p.fd);
      closed = true;
      rmSync(p.tmp, { force: true });
      p.handle.reject(e);
      this.failed ??= e;
    };
    let size: number;
    try {
      const toc = sealToc(this.tocKey, p.entries);
      const tail = Buffer.concat([toc, trailer(toc.length)]);
      writeAll(p.fd, tail);
      p.hash.update(tail);
      size = p.size + tail.length;
    } catch (e) {
      fail(e);
      throw e;
    }
    const done = new Promise<void>((resolve) => {
      fsync(p.fd, (err) => {
        try {
          if (err) throw err;
          closeSync(p.fd);
          closed = true;
          const hex = p.hash.digest('hex');
          const path = join(this.dir, hex);
          renameSync(p.tmp, path);
          this.index.addPack(hex, 'pending', size, p.entries);
          p.handle.resolve(hex);
          this.onSealed({ hex, path, size, entries: p.entries });
        } catch (e) {
          fail(e);
        }
        resolve();
      });
    });
    this.sealing.add(done);
    void done.then(() => this.sealing.delete(done));
  }
}

function writeAll(fd: number, b: Uint8Array): void {
  let off = 0;
  while (off < b.length) off += writeSync(fd, b, off, b.length - off);
}
