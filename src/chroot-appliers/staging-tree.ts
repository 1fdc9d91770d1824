/**
 * Turning tar entries into files in a fresh staging directory, and refusing
 * what must not be created (tar-extract.ts drives it, entry by entry; the
 * caller removes the directory on any failure).
 *
 * Refused with UnsafeTarError: absolute names, `..` components, symlinks
 * whose target is absolute or climbs out of the staging root (checked
 * lexically per entry, then — `checkSymlinks` — by a real in-root
 * resolution of every symlink once the tree is complete), hardlinks to
 * anything but a regular file extracted earlier from the same archive,
 * character/block devices, FIFOs, unknown entry types, setuid/setgid bits,
 * entries whose path goes through a symlink, a directory replaced by
 * anything else, names the kernel cannot take (a component over 255 bytes,
 * a path or link target over 4095) and files larger than the file system
 * takes. Otherwise tar semantics: missing parents are created (0755), the
 * last entry of a name wins.
 *
 * Names are bytes (a Latin-1 or EUC-JP name is created as it is): paths
 * are handled as latin1 strings of their bytes inside (one char per byte, so
 * `/`, `.` and `..` read as themselves) and as Buffers at the system calls.
 * Sparse files get their data regions written and their holes left as holes
 * (the file is extended to its real size with ftruncate).
 *
 * Metadata calls (open, mkdir, chown, chmod, utimes, close, symlink, link)
 * are synchronous on purpose: microseconds each on a fresh tree, whereas a
 * libuv pool round trip per call made small files ~5x slower than GNU tar.
 * File data up to `syncUpTo` bytes is written synchronously too; larger
 * files through the pool with a bounded window in flight (write-window.ts).
 * Owners in the archive are ignored: everything created gets `uid`/`gid`;
 * directory modes and times are set last (`finishDirs`), deepest first.
 */
import {
  chownSync,
  closeSync,
  constants as fsc,
  fchmodSync,
  fchownSync,
  ftruncateSync,
  futimesSync,
  lchownSync,
  linkSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  openSync,
  symlinkSync,
  unlinkSync,
} from 'node:fs';
import { chmod, utimes } from 'node:fs/promises';
import { isAbsolute } from 'node:path';
import { PathEscapeError, resolveInRootBytesSync } from './safe-path.ts';
import { UnsafeTarError } from './tar-errors.ts';
import type { TarHeader } from './tar-reader.ts';
import { DataPlacer } from './tar-sparse.ts';
import { FileWrites, writeAllSync, writeAt, type WriteWindow } from './write-window.ts';

/** Longest file name component Linux takes (NAME_MAX). */
const NAME_MAX = 255;
/** Longest path or symlink target Linux takes, its NUL excluded (PATH_MAX - 1). */
const PATH_MAX = 4095;

/** Splits an archive name into safe components or throws UnsafeTarError. */
export function safeComponents(name: string, entryForError = name): string[] {
  if (name.startsWith('/')) throw new UnsafeTarError(entryForError, 'absolute-path');
  const parts = name.split('/').filter((c) => c !== '' && c !== '.');
  if (parts.includes('..')) throw new UnsafeTarError(entryForError, 'dotdot');
  return parts;
}

/** A time for fs calls: Node takes a negative number for "now", a numeric string as it is (pre-1970 files). */
const fsTime = (t: number): number | string => (t < 0 ? String(t) : t);

/** A path's bytes held as a latin1 string, as a Buffer for a system call. */
const bytesOf = (s: string) => Buffer.from(s, 'latin1');

interface DeferredDir {
  path: Buffer;
  mode: number;
  mtime: number;
}

export interface StagingTreeOptions {
  /** Owner of everything created. */
  uid: number;
  gid: number;
  /** Files with up to this many data bytes are written synchronously. */
  syncUpTo: number;
  /** Where larger files' writes are tracked. */
  window: WriteWindow;
  /** Called as file data is written (bytes so far). */
  onData?: () => void;
  signal?: AbortSignal;
}

export class StagingTree {
  /** Bytes of file data written so far. */
  bytes = 0;
  /** The staging root's path bytes (latin1 string). */
  private readonly root: string;
  /** fds of large files still being written in the background. */
  private readonly openFds = new Set<number>();
  /** Archive paths (components joined, as byte strings) of symlinks we created. */
  private readonly symlinks = new Set<string>();
  /** Archive paths of directories known to exist as real directories. */
  private readonly knownDirs = new Set<string>(['']);
  /** Directories whose mode/mtime is set at the end (insertion order = creation order). */
  private readonly dirs = new Map<string, DeferredDir>();

  /** `staging`: an existing, empty directory (absolute). */
  constructor(
    staging: string,
    private readonly opts: StagingTreeOptions,
  ) {
    this.root = Buffer.from(staging).toString('latin1');
  }

  private host(parts: string[]): Buffer {
    return bytesOf(parts.length === 0 ? this.root : `${this.root}/${parts.join('/')}`);
  }

  private checkAbort(): void {
    if (this.opts.signal?.aborted) throw this.opts.signal.reason ?? new Error('aborted');
  }

  /** Creates one entry (see the file header for what is refused). */
  async add(h: TarHeader, body: () => AsyncGenerator<Buffer, void, undefined>): Promise<void> {
    const name = h.name;
    switch (h.type) {
      case 'character-device':
      case 'block-device':
        throw new UnsafeTarError(name, 'device-node');
      case 'fifo':
        throw new UnsafeTarError(name, 'fifo');
      case 'unsupported':
        throw new UnsafeTarError(name, 'unsupported-type', `typeflag ${JSON.stringify(h.typeflag)}`);
      default:
        break;
    }
    if ((h.mode & 0o6000) !== 0) throw new UnsafeTarError(name, 'setuid-setgid', `mode ${h.mode.toString(8)}`);
    const parts = this.componentsOf(h);
    if (parts.length === 0) {
      if (h.type === 'directory') return; // "./": the staging root itself
      throw new UnsafeTarError(name, 'empty-name');
    }
    this.ensureParents(name, parts);
    if (h.type === 'directory') return this.directory(h, parts);
    if (h.type === 'symlink') return this.symlink(h, parts);
    if (h.type === 'hardlink') return this.hardlink(h, parts);
    return this.file(h, parts, body);
  }

  /** The components of an entry's path; refuses what the kernel could not create. */
  private componentsOf(h: TarHeader): string[] {
    const parts = safeComponents(h.path.toString('latin1'), h.name);
    const long = parts.find((c) => c.length > NAME_MAX);
    if (long !== undefined) throw new UnsafeTarError(h.name, 'name-too-long', `a component of ${long.length} bytes`);
    if (this.root.length + 1 + parts.join('/').length > PATH_MAX) throw new UnsafeTarError(h.name, 'name-too-long', 'path over 4095 bytes');
    return parts;
  }

  /** Refuses a path whose parent chain holds a symlink we created; creates
   *  missing parents (0755, owned by uid/gid). */
  private ensureParents(name: string, parts: string[]): void {
    let key = '';
    for (let i = 0; i < parts.length - 1; i++) {
      key = i === 0 ? parts[0]! : `${key}/${parts[i]!}`;
      if (this.knownDirs.has(key)) continue;
      if (this.symlinks.has(key)) throw new UnsafeTarError(name, 'through-symlink', bytesOf(key).toString('utf8'));
      const p = this.host(parts.slice(0, i + 1));
      const st = lstatSync(p, { throwIfNoEntry: false });
      if (st && !st.isDirectory()) throw new UnsafeTarError(name, 'parent-not-directory', bytesOf(key).toString('utf8'));
      if (!st) {
        // An implicit parent (tar creates missing ones): 0755, owned by the user.
        mkdirSync(p, { mode: 0o700 });
        chownSync(p, this.opts.uid, this.opts.gid);
        this.dirs.set(key, { path: p, mode: 0o755, mtime: Date.now() / 1000 });
      }
      this.knownDirs.add(key);
    }
  }

  /** Runs `create`; on EEXIST makes room (tar semantics: the last entry wins;
   *  a directory is never replaced by a non-directory) and retries once. */
  private createReplacing<T>(name: string, parts: string[], create: () => T): T {
    try {
      return create();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const p = this.host(parts);
      const st = lstatSync(p, { throwIfNoEntry: false });
      if (st?.isDirectory()) throw new UnsafeTarError(name, 'replaces-directory');
      if (st) unlinkSync(p);
      this.symlinks.delete(parts.join('/'));
      return create();
    }
  }

  private directory(h: TarHeader, parts: string[]): void {
    const p = this.host(parts);
    const key = parts.join('/');
    try {
      mkdirSync(p, { mode: 0o700 });
      chownSync(p, this.opts.uid, this.opts.gid);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      if (!lstatSync(p).isDirectory()) {
        // A file or symlink by that name came earlier: replace it.
        unlinkSync(p);
        this.symlinks.delete(key);
        mkdirSync(p, { mode: 0o700 });
        chownSync(p, this.opts.uid, this.opts.gid);
      }
    }
    this.knownDirs.add(key);
    this.dirs.set(key, { path: p, mode: h.mode & 0o1777, mtime: h.mtime });
  }

  private symlink(h: TarHeader, parts: string[]): void {
    const name = h.name;
    const target = h.linkpath.toString('latin1');
    if (target === '' || isAbsolute(target)) throw new UnsafeTarError(name, 'symlink-escapes', `-> ${h.linkname}`);
    if (target.length > PATH_MAX) throw new UnsafeTarError(name, 'name-too-long', `a link target of ${target.length} bytes`);
    // Lexical check from the link's directory; the full resolution through
    // other links is checked once the tree is complete (checkSymlinks).
    const stack = parts.slice(0, -1);
    for (const c of target.split('/')) {
      if (c === '' || c === '.') continue;
      if (c === '..') {
        if (stack.length === 0) throw new UnsafeTarError(name, 'symlink-escapes', `-> ${h.linkname}`);
        stack.pop();
      } else stack.push(c);
    }
    const p = this.host(parts);
    this.createReplacing(name, parts, () => symlinkSync(h.linkpath, p));
    lchownSync(p, this.opts.uid, this.opts.gid);
    lutimesSync(p, fsTime(h.mtime), fsTime(h.mtime));
    this.symlinks.add(parts.join('/'));
  }

  private hardlink(h: TarHeader, parts: string[]): void {
    const name = h.name;
    let targetParts: string[];
    try {
      targetParts = safeComponents(h.linkpath.toString('latin1'), name);
    } catch {
      throw new UnsafeTarError(name, 'hardlink-escapes', `=> ${h.linkname}`);
    }
    if (targetParts.length === 0) throw new UnsafeTarError(name, 'hardlink-target-invalid', `=> ${h.linkname}`);
    for (let i = 1; i <= targetParts.length; i++) {
      if (this.symlinks.has(targetParts.slice(0, i).join('/'))) {
        throw new UnsafeTarError(name, 'hardlink-target-invalid', `=> ${h.linkname} (through or to a symlink)`);
      }
    }
    const tp = this.host(targetParts);
    const st = targetParts.some((c) => c.length > NAME_MAX) || tp.length > PATH_MAX ? undefined : lstatSync(tp, { throwIfNoEntry: false });
    if (!st || !st.isFile()) throw new UnsafeTarError(name, 'hardlink-target-invalid', `=> ${h.linkname} (not a file extracted before)`);
    const p = this.host(parts);
    if (tp.equals(p)) return;
    this.createReplacing(name, parts, () => linkSync(tp, p));
  }

  private async file(h: TarHeader, parts: string[], body: () => AsyncGenerator<Buffer, void, undefined>): Promise<void> {
    const { uid, gid, window } = this.opts;
    const name = h.name;
    const tooLarge = (e: unknown) =>
      (e as NodeJS.ErrnoException).code === 'EFBIG' ? new UnsafeTarError(name, 'file-too-large', `${h.size} bytes: ${(e as Error).message}`) : e;
    /** Owner, mode, times; a sparse file is extended to its real size (the holes). */
    const finish = (fd: number) => {
      if (h.sparse) ftruncateSync(fd, h.size);
      fchownSync(fd, uid, gid);
      fchmodSync(fd, h.mode & 0o777);
      futimesSync(fd, fsTime(h.mtime), fsTime(h.mtime));
    };
    const p = this.host(parts);
    // O_EXCL|O_NOFOLLOW: never write through anything.
    const fd = this.createReplacing(name, parts, () => openSync(p, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | fsc.O_NOFOLLOW, 0o600));
    const placer = new DataPlacer(h.sparse);
    const dataBytes = h.sparse ? h.sparse.reduce((n, r) => n + r.length, 0) : h.size;
    if (dataBytes <= this.opts.syncUpTo) {
      // Small file: written right away (a page-cache copy), no pool round trip.
      try {
        for await (const chunk of body()) {
          this.checkAbort();
          for (const [piece, pos] of placer.place(chunk)) writeAllSync(fd, piece, pos);
          this.bytes += chunk.length;
        }
        finish(fd);
      } catch (e) {
        throw tooLarge(e);
      } finally {
        closeSync(fd);
      }
      return;
    }
    // Large file: positional writes in the pool, a bounded window in flight,
    // finished (owner, mode, times, close) when its last write landed.
    this.openFds.add(fd);
    const writes = new FileWrites();
    try {
      for await (const chunk of body()) {
        this.checkAbort();
        for (const [piece, pos] of placer.place(chunk)) {
          await window.room();
          window.track(writes.add(writeAt(fd, piece, pos).catch((e: unknown) => Promise.reject(tooLarge(e)))), piece.length);
        }
        this.bytes += chunk.length;
        this.opts.onData?.();
      }
    } catch (e) {
      // Let the writes already issued land before the fd is closed.
      await writes.all().catch(() => undefined);
      this.openFds.delete(fd);
      closeSync(fd);
      throw e;
    }
    const done = writes.all().then(
      () => {
        try {
          finish(fd);
        } catch (e) {
          throw tooLarge(e);
        } finally {
          this.openFds.delete(fd);
          closeSync(fd);
        }
      },
      (e: unknown) => {
        this.openFds.delete(fd);
        closeSync(fd);
        throw e;
      },
    );
    await window.room();
    window.track(done, 0);
  }

  /** Every symlink, resolved for real through the finished tree, must stay inside. */
  checkSymlinks(): void {
    for (const s of this.symlinks) {
      const display = bytesOf(s).toString('utf8');
      try {
        resolveInRootBytesSync(bytesOf(this.root), bytesOf(s), { followFinal: true });
      } catch (e) {
        if (e instanceof PathEscapeError) throw new UnsafeTarError(display, 'symlink-escapes', e.reason);
        if ((e as NodeJS.ErrnoException).code === 'ENAMETOOLONG') throw new UnsafeTarError(display, 'name-too-long', 'its resolution is over 4095 bytes');
        throw e;
      }
    }
  }

  /** Directory modes and times, last (children change mtime; a read-only
   *  directory must stay writable while we fill it). Deepest first. */
  async finishDirs(): Promise<void> {
    for (const d of [...this.dirs.values()].reverse()) {
      await chmod(d.path, d.mode);
      await utimes(d.path, fsTime(d.mtime), fsTime(d.mtime));
    }
  }

  /** After a failure (and the write window settled): closes what is still open. */
  closeAll(): void {
    for (const fd of this.openFds) {
      try {
        closeSync(fd);
      } catch {
        /* already closed */
      }
    }
    this.openFds.clear();
  }
}
