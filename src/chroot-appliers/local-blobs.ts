/**
 * Blobs kept as files named by their address (`DIR/HEX`) — data v2 packs and
 * tree roots, v1 archives and bundles — read by the restore instead of the
 * server: the restore's fetch-ahead copies on the target's disk (ahead.ts)
 * and a local repository on a drive (src/export/).
 *
 * - `open` streams a file and, unless the consumer hashes it itself
 *   (`callerVerifies`), fails the stream with `blob_altered` before its end
 *   when the bytes do not hash to the address (the BlobSource contract).
 * - `read` gives bytes of a file (data v2 tree roots and tree objects, which
 *   the caller authenticates with their keys).
 * - `local` names the file, for the readers that open it themselves (the
 *   files restore's worker threads; every data v2 chunk is authenticated
 *   there before a byte of it is written).
 * A blob that is not there is `blob_missing`.
 *
 * `list` names the folder's blobs, where the owner's restore finds chunks a
 * prune moved (an export carries the packs they went to).
 *
 * `withLocal(base, local)` reads a blob from the folder when it is there
 * and from `base` (the server) otherwise; `base` lists the blobs.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { open as openFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import type { BlobRef } from '../manifest/types.ts';
import { blobHex } from '../manifest/index.ts';
import { CodedError } from '../util/coded-error.ts';
import type { BlobOpenOptions, BlobSource } from './applier.ts';

export class LocalBlobs {
  constructor(
    /** The folder holding `HEX` files. */
    readonly dir: string,
    /** What the folder is, for error messages ("the drive's export", "the fetched-ahead copies"). */
    readonly what: string,
  ) {}

  path(ref: BlobRef | string): string {
    return join(this.dir, ref.startsWith('sha256:') ? blobHex(ref as BlobRef) : ref);
  }

  has(ref: BlobRef | string): boolean {
    return existsSync(this.path(ref));
  }

  private missing(ref: BlobRef): CodedError {
    return new CodedError('blob_missing', `${ref} is not in ${this.what} (${this.dir})`, { ref, dir: this.dir });
  }

  async open(ref: BlobRef, o: BlobOpenOptions = {}): Promise<Readable> {
    const hex = blobHex(ref);
    const file = createReadStream(this.path(ref), { highWaterMark: 256 * 1024, ...(o.signal ? { signal: o.signal } : {}) });
    await new Promise<void>((resolve, reject) => {
      file.once('open', () => resolve());
      file.once('error', (e: NodeJS.ErrnoException) => reject(e.code === 'ENOENT' ? this.missing(ref) : e));
    });
    const hash = o.callerVerifies ? undefined : createHash('sha256');
    const what = this.what;
    const check = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        hash?.update(chunk);
        o.onBytes?.(chunk.length);
        cb(null, chunk);
      },
      flush(cb) {
        const actual = hash?.digest('hex');
        if (actual !== undefined && actual !== hex) cb(new CodedError('blob_altered', `${ref} in ${what} is altered: its bytes hash to sha256:${actual}`, { ref, actual }));
        else cb();
      },
    });
    file.on('error', (e) => check.destroy(e));
    return file.pipe(check);
  }

  /** The whole blob, or bytes [start, end] inclusive. */
  async read(ref: BlobRef, start?: number, end?: number): Promise<Buffer> {
    const fh = await openFile(this.path(ref), 'r').catch((e: NodeJS.ErrnoException) => {
      throw e.code === 'ENOENT' ? this.missing(ref) : e;
    });
    try {
      const from = start ?? 0;
      const to = end !== undefined ? end + 1 : (await fh.stat()).size;
      const buf = Buffer.allocUnsafe(Math.max(0, to - from));
      let got = 0;
      while (got < buf.length) {
        const { bytesRead } = await fh.read(buf, got, buf.length - got, from + got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
      if (got < buf.length) throw new CodedError('chunk_missing', `${ref} in ${this.what} ends at byte ${from + got}, bytes up to ${to} were asked for`, { ref });
      return buf;
    } finally {
      await fh.close();
    }
  }

  /** Every blob of the folder (address, size): where a restore looks for chunks a prune moved (store/relocate.ts). */
  async list(): Promise<{ hash: string; size: number }[]> {
    const out: { hash: string; size: number }[] = [];
    for (const name of await readdir(this.dir)) {
      if (!/^[0-9a-f]{64}$/.test(name)) continue; // .part files of an interrupted export
      out.push({ hash: name, size: (await stat(join(this.dir, name))).size });
    }
    return out;
  }

  /** A BlobSource reading only this folder. */
  source(): BlobSource {
    return {
      open: (ref, o) => this.open(ref, o),
      read: (ref, start, end) => this.read(ref, start, end),
      local: (ref) => (this.has(ref) ? this.path(ref) : undefined),
      list: () => this.list(),
    };
  }
}

/** Reads a blob from `local` when the folder has it, else from `base`. */
export function withLocal(base: BlobSource, local: LocalBlobs): BlobSource {
  const src: BlobSource = {
    open: (ref, o) => (local.has(ref) ? local.open(ref, o) : base.open(ref, o)),
    local: (ref) => (local.has(ref) ? local.path(ref) : base.local?.(ref)),
  };
  if (base.read) {
    const read = base.read;
    src.read = (ref, start, end, o) => (local.has(ref) ? local.read(ref, start, end) : read(ref, start, end, o));
  }
  if (base.remote) src.remote = base.remote;
  if (base.fetch) src.fetch = base.fetch;
  if (base.list) src.list = base.list;
  return src;
}
