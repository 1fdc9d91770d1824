/** The capture walk's read-ahead of directory listings: in the walk's order, bounded, every folder read once. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DirListings, orderKey, sortListing, type Listing } from '../../src/store/dir-listings.ts';

const root = mkdtempSync(join(tmpdir(), 'koder-listings-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
// Names around '/' (0x2f) in byte order: "a-b" (0x2d) < "a" + "/…" would be wrong part by part; "a.b" (0x2e), "a0" (0x30).
for (const d of ['a/x/deep/deeper', 'a/y', 'a-b/z', 'a.b', 'a0/q/r', 'skipme/inner', 'b']) mkdirSync(join(root, d), { recursive: true });
writeFileSync(join(root, 'a', 'file'), 'f');

/** A depth-first walk in name-byte order, as folder-capture.ts: returns the folders in the order entered, and the read-ahead's hits. */
async function walk(l: DirListings | undefined, skip?: (name: string) => boolean) {
  const order: string[] = [];
  let hits = 0;
  const { readdirSync } = await import('node:fs');
  const visit = async (abs: Buffer) => {
    order.push(abs.toString().slice(root.length) || '/');
    const ahead = l?.take(abs);
    let list: Listing | undefined = ahead && (await ahead);
    if (list) hits++;
    else {
      list = sortListing(readdirSync(abs, { encoding: 'buffer', withFileTypes: true }));
      l?.want(abs, list);
    }
    for (const d of list) if (d.isDirectory() && !skip?.(d.name.toString())) await visit(Buffer.concat([abs, Buffer.from('/'), d.name]));
  };
  await visit(Buffer.from(root));
  return { order, hits };
}

describe('directory listings read ahead', () => {
  it('gives every folder but the first its listing, in the order a walk in name-byte order enters them', async () => {
    const plain = await walk(undefined);
    const ahead = await walk(new DirListings());
    expect(ahead.order).toEqual(plain.order);
    expect(plain.order.slice(0, 4)).toEqual(['/', '/a', '/a/x', '/a/x/deep']);
    // the first is listed by the walk; every other one was read ahead
    expect(ahead.hits).toBe(plain.order.length - 1);
  });

  it('reads first what the walk enters first: the sub-folders of a folder before its next sibling', () => {
    const paths = ['/r/a-b', '/r/a/x/deep', '/r/a0', '/r/a', '/r/a.b', '/r/a/y', '/r/a/x'];
    const sorted = paths.map((p) => Buffer.from(p)).sort((a, b) => Buffer.compare(orderKey(a), orderKey(b)));
    expect(sorted.map(String)).toEqual(['/r/a', '/r/a/x', '/r/a/x/deep', '/r/a/y', '/r/a-b', '/r/a.b', '/r/a0']);
  });

  it('reads nothing under a skipped folder', async () => {
    const skip = (name: string) => name === 'skipme';
    const l = new DirListings((_abs, name) => skip(name));
    const r = await walk(l, skip);
    expect(r.order).not.toContain('/skipme');
    expect(r.hits).toBe(r.order.length - 1);
    expect((l as unknown as { ready: Map<string, unknown> }).ready.size).toBe(0);
  });
});
