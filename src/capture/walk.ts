/**
 * A deterministic walk of a folder: the folder itself first, then depth
 * first, siblings sorted by the bytes of their UTF-8 names (as `tar
 * --sort=name`). Symlinks are never followed. Only what a restore can take
 * back is yielded: folders, regular files, and symlinks that stay inside the
 * folder; sockets, FIFOs, devices and symlinks pointing out (absolute, or
 * climbing above the folder) are reported through `onSkip`, as are skipped
 * patterns and unreadable folders. Memory: one directory listing per level.
 */
import type { BigIntStats } from 'node:fs';
import { lstat, opendir, readlink, realpath } from 'node:fs/promises';
import { posix } from 'node:path';
import { isInside } from './paths.ts';
import type { SkipMatcher } from './skips.ts';

export interface WalkEntry {
  abs: string;
  /** Relative to the walked folder, `/`-separated; '' for the folder itself. */
  rel: string;
  kind: 'dir' | 'file' | 'symlink';
  stat: BigIntStats;
  /** Link target, for symlinks. */
  link?: string;
}

export interface WalkOptions {
  skip?: SkipMatcher;
  /** Called for everything left out, with the reason. */
  onSkip?: (abs: string, reason: string) => void;
}

const byUtf8 = (a: string, b: string) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));

export async function* walkTree(root: string, o: WalkOptions = {}): AsyncGenerator<WalkEntry, void, undefined> {
  const st = await lstat(root, { bigint: true });
  const realRoot = await realpath(root);
  yield { abs: root, rel: '', kind: 'dir', stat: st };
  yield* walkDir(root, '', realRoot, o);
}

async function* walkDir(dir: string, rel: string, realRoot: string, o: WalkOptions): AsyncGenerator<WalkEntry, void, undefined> {
  let names: string[];
  try {
    const d = await opendir(dir);
    names = [];
    for await (const e of d) names.push(e.name);
  } catch (e) {
    o.onSkip?.(dir, `cannot list: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    return;
  }
  names.sort(byUtf8);
  for (const name of names) {
    const abs = `${dir}/${name}`;
    const r = rel === '' ? name : `${rel}/${name}`;
    if (o.skip?.skips(abs, name)) {
      o.onSkip?.(abs, 'skip pattern');
      continue;
    }
    let st: BigIntStats;
    try {
      st = await lstat(abs, { bigint: true });
    } catch (e) {
      o.onSkip?.(abs, `cannot stat: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      continue;
    }
    if (st.isDirectory()) {
      yield { abs, rel: r, kind: 'dir', stat: st };
      yield* walkDir(abs, r, realRoot, o);
    } else if (st.isFile()) {
      yield { abs, rel: r, kind: 'file', stat: st };
    } else if (st.isSymbolicLink()) {
      let link: string;
      try {
        link = await readlink(abs);
      } catch (e) {
        o.onSkip?.(abs, `cannot read link: ${(e as Error).message}`);
        continue;
      }
      const why = await symlinkProblem(abs, r, link, realRoot);
      if (why) o.onSkip?.(abs, why);
      else yield { abs, rel: r, kind: 'symlink', stat: st, link };
    } else {
      o.onSkip?.(abs, st.isSocket() ? 'socket' : st.isFIFO() ? 'FIFO' : 'device or special file');
    }
  }
}

/** Why a symlink cannot travel (the restore refuses links out of the folder), or undefined. */
async function symlinkProblem(abs: string, rel: string, link: string, realRoot: string): Promise<string | undefined> {
  if (link === '' || link.includes('\0')) return 'empty symlink';
  if (link.startsWith('/')) return `symlink to an absolute path (${link})`;
  const lexical = posix.normalize(posix.join(posix.dirname(rel), link));
  if (lexical === '..' || lexical.startsWith('../')) return `symlink pointing out of the folder (${link})`;
  // Through other symlinks it may still climb out: resolve it for real when it resolves.
  try {
    const real = await realpath(abs);
    if (!isInside(realRoot, real)) return `symlink resolving out of the folder (${link})`;
  } catch {
    // Dangling: the lexical check above is what a restore applies too.
  }
  return undefined;
}
