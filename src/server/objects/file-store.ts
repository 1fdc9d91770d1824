/**
 * Objects as files under one folder (`ROOT/<key>`), the embedded default.
 * put: a temp file in TMP (same filesystem) is opened first, the body
 * streams into it, then fsync, close, rename into place, fsync of the
 * folder. Any failure closes, then unlinks the temp file — it exists from
 * the start, so no late open can create it again after the unlink. A temp
 * file left by a killed process is listed by `unfinished()` and removed at
 * the next start or maintenance once it has not been written for a while.
 */
import { createReadStream, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { open, readdir, rename, rm, stat, unlink, type FileHandle } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { dirname, join, relative, sep } from 'node:path';
import { Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fsyncDir } from '../../util/fs.ts';
import { assertObjectKey, ObjectMissingError, type ByteRange, type ObjectStore, type StoredObject, type UnfinishedWrite } from './object-store.ts';

/** A temp file not written for this long belongs to no live upload (the idle timeout is 60 s). */
export const STALE_TMP_MS = 15 * 60_000;

export class FileObjectStore implements ObjectStore {
  readonly kind = 'file' as const;
  readonly description: string;
  readonly staleAfterMs = STALE_TMP_MS;

  /** `tmp` must be on the same filesystem as `root` (default ROOT/.tmp). */
  constructor(
    readonly root: string,
    readonly tmp = join(root, '.tmp'),
  ) {
    this.description = `file:${root}`;
    mkdirSync(root, { recursive: true, mode: 0o700 });
    mkdirSync(tmp, { recursive: true, mode: 0o700 });
    const now = Date.now();
    for (const f of readdirSync(tmp)) {
      const p = join(tmp, f);
      try {
        if (now - statSync(p).mtimeMs > STALE_TMP_MS) rmSync(p, { force: true, recursive: true });
      } catch {
        // gone meanwhile
      }
    }
  }

  path(key: string): string {
    assertObjectKey(key);
    return join(this.root, key);
  }

  async put(key: string, body: Readable, _size?: number): Promise<void> {
    const dest = this.path(key);
    const tmpPath = join(this.tmp, randomBytes(12).toString('hex'));
    let fh: FileHandle | undefined;
    try {
      // the body may fail while the file opens: pipeline() below still sees that error, nothing else must throw it
      const later = () => {};
      body.on('error', later);
      try {
        fh = await open(tmpPath, 'wx', 0o600);
      } finally {
        body.off('error', later);
      }
      await pipeline(body, fileSink(fh));
      await fh.sync();
      await fh.close();
      fh = undefined;
      const dir = dirname(dest);
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      await rename(tmpPath, dest);
      await fsyncDir(dir);
    } catch (e) {
      body.destroy();
      await fh?.close().catch(() => {});
      await unlink(tmpPath).catch(() => {});
      throw e;
    }
  }

  async get(key: string, range?: ByteRange): Promise<Readable> {
    const p = this.path(key);
    const fh = await open(p, 'r').catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') throw new ObjectMissingError(key, this.description);
      throw e;
    });
    return fh.createReadStream(range ? { start: range.start, end: range.end } : {});
  }

  async head(key: string): Promise<number | undefined> {
    try {
      return (await stat(this.path(key))).size;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
  }

  async delete(keys: string[]): Promise<void> {
    for (const k of keys) await rm(this.path(k), { force: true });
  }

  async deletePrefix(prefix: string): Promise<number> {
    let n = 0;
    for await (const _ of this.list(prefix)) n++;
    // a whole user's tree at once (the usual prefix, `<userId>/`); else file by file
    if (prefix.endsWith('/')) await rm(this.path(prefix.slice(0, -1)), { recursive: true, force: true });
    else for await (const o of this.list(prefix)) await rm(this.path(o.key), { force: true });
    return n;
  }

  async *list(prefix = ''): AsyncIterable<StoredObject> {
    const out: StoredObject[] = [];
    const walk = async (dir: string) => {
      let names: string[];
      try {
        names = await readdir(dir);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw e;
      }
      for (const name of names) {
        const p = join(dir, name);
        if (p === this.tmp) continue;
        const st = await stat(p).catch(() => undefined);
        if (!st) continue;
        if (st.isDirectory()) await walk(p);
        else {
          const key = relative(this.root, p).split(sep).join('/');
          if (key.startsWith(prefix)) out.push({ key, size: st.size, modified: st.mtimeMs });
        }
      }
    };
    // walk only the part of the tree the prefix can be in
    const dirPart = prefix.includes('/') ? prefix.slice(0, prefix.lastIndexOf('/')) : '';
    await walk(dirPart ? this.path(dirPart) : this.root);
    out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    yield* out;
  }

  async unfinished(): Promise<UnfinishedWrite[]> {
    const out: UnfinishedWrite[] = [];
    for (const f of await readdir(this.tmp).catch(() => [] as string[])) {
      const st = await stat(join(this.tmp, f)).catch(() => undefined);
      if (st) out.push({ id: f, at: st.mtimeMs });
    }
    return out;
  }

  async discard(ids: string[]): Promise<void> {
    for (const id of ids) {
      if (id.includes('/') || id.includes('\\') || id === '..' || id === '.') continue;
      await rm(join(this.tmp, id), { force: true, recursive: true });
    }
  }

  async close(): Promise<void> {}
}

/**
 * Writes into an open FileHandle and leaves it open (the caller syncs and
 * closes it). Not fh.createWriteStream({ autoClose: false }): on Node 20 that
 * stream keeps a reference on the handle, and fh.close() then never settles.
 */
function fileSink(fh: FileHandle): Writable {
  const writeAll = async (chunks: Buffer[]) => {
    let left = chunks;
    while (left.length) {
      const { bytesWritten } = await fh.writev(left);
      left = skipBytes(left, bytesWritten);
    }
  };
  return new Writable({
    writev(chunks, cb) {
      writeAll(chunks.map((c) => c.chunk as Buffer)).then(() => cb(), cb);
    },
  });
}

function skipBytes(chunks: Buffer[], n: number): Buffer[] {
  const out: Buffer[] = [];
  for (const c of chunks) {
    if (n >= c.length) n -= c.length;
    else {
      out.push(n ? c.subarray(n) : c);
      n = 0;
    }
  }
  return out;
}
