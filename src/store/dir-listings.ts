/**
 * A capture walk's directory listings, read ahead: from the folders the walk
 * names (`want`), this lists them in libuv's pool a few at a time, and goes
 * on into their sub-folders (by the listing's file type) in the order the
 * depth-first walk will enter them; the walk takes each listing when it gets
 * there (`take`) and lists a folder itself when none was read for it.
 *
 * Why: on a cold cache each listing is a disk read, and the walk, one
 * directory after the other, waits for each alone; several in flight
 * overlap (2,276 folders of real files, page cache dropped: 0.6–0.7 s one by
 * one, 0.25 s eight at a time; bench/README.md, peer-restic). lstat does
 * not gain the same way (measured: slower in the pool), so it stays
 * synchronous in the walk.
 *
 * Order: the walk's. Of the folders found and not read yet, the one the
 * walk will enter first is read first (depth first, names in byte order =
 * paths compared part by part: a heap keyed by the path with '/' as the
 * lowest byte); a stack instead lets the reads run ahead in subtrees the walk
 * reaches last (measured: 8 % of the listings read in time). At most
 * IN_FLIGHT reads at a time and AHEAD listings read but not taken yet:
 * memory is bounded whatever the tree. A listing that fails is not kept: the
 * walk lists that folder itself and reports what it finds.
 */
import type { Dirent } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { compareBytes } from './tree-object.ts';

const IN_FLIGHT = 8;
const AHEAD = 256;

/** A folder's entries, sorted by the bytes of their names. */
export type Listing = Dirent<Buffer>[];

const SLASH = Buffer.from('/');
const key = (abs: Buffer) => abs.toString('latin1');

export function sortListing(l: Listing): Listing {
  return l.sort((a, b) => compareBytes(a.name, b.name));
}

/** The walk's order: the path's bytes, '/' sorting before any byte of a name (compare two with Buffer.compare). */
export function orderKey(abs: Buffer): Buffer {
  const k = Buffer.from(abs);
  for (let i = 0; i < k.length; i++) if (k[i] === 0x2f) k[i] = 0;
  return k;
}

/** A binary min-heap of paths in the walk's order. */
class PathHeap {
  private readonly items: { key: Buffer; abs: Buffer }[] = [];
  get size(): number {
    return this.items.length;
  }
  push(abs: Buffer): void {
    const a = this.items;
    const it = { key: orderKey(abs), abs };
    let i = a.push(it) - 1;
    while (i > 0) {
      const up = (i - 1) >> 1;
      if (Buffer.compare(a[up]!.key, it.key) <= 0) break;
      a[i] = a[up]!;
      i = up;
    }
    a[i] = it;
  }
  pop(): Buffer | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (!top || a.length === 0) return top?.abs;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= a.length) break;
      const c = l + 1 < a.length && Buffer.compare(a[l + 1]!.key, a[l]!.key) < 0 ? l + 1 : l;
      if (Buffer.compare(a[c]!.key, last!.key) >= 0) break;
      a[i] = a[c]!;
      i = c;
    }
    a[i] = last!;
    return top.abs;
  }
}

export class DirListings {
  private readonly heap = new PathHeap();
  /** Keys of the folders in the heap still wanted (one the walk reached first is not read again). */
  private readonly wanted = new Set<string>();
  private readonly ready = new Map<string, Promise<Listing | undefined>>();
  private active = 0;

  /** `skip(abs, name)`: a folder the walk leaves out (not read ahead, nor what is under it). */
  constructor(private readonly skip?: (abs: string, name: string) => boolean) {}

  /** The sub-folders of `abs` (by `list`'s types, sorted) will be entered: read them ahead, and on down. */
  want(abs: Buffer, list: Listing): void {
    for (const d of list) {
      if (!d.isDirectory()) continue;
      const sub = Buffer.concat([abs, SLASH, d.name]);
      if (this.skip?.(sub.toString(), d.name.toString())) continue;
      this.heap.push(sub);
      this.wanted.add(key(sub));
    }
    this.pump();
  }

  /** The listing read ahead for `abs`, sorted (undefined when none was, or it failed: the walk lists it itself). */
  take(abs: Buffer): Promise<Listing | undefined> | undefined {
    const k = key(abs);
    const p = this.ready.get(k);
    this.wanted.delete(k);
    if (p) {
      this.ready.delete(k);
      this.pump();
    }
    return p;
  }

  private pump(): void {
    while (this.active < IN_FLIGHT && this.ready.size < AHEAD && this.heap.size) {
      const abs = this.heap.pop()!;
      const k = key(abs);
      if (!this.wanted.delete(k)) continue;
      this.active++;
      const p = readdir(abs, { encoding: 'buffer', withFileTypes: true }).then(
        (l) => {
          sortListing(l);
          this.want(abs, l);
          return l;
        },
        () => undefined,
      );
      this.ready.set(k, p);
      void p.then(() => {
        this.active--;
        this.pump();
      });
    }
  }
}
