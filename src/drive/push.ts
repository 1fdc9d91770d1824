/**
 * push: signed manifests and their blobs to the server.
 *   parse every file → order parents before children → for each manifest,
 *   find each referenced blob in the blob folders (file named <hex> or
 *   <hex>.<ext>) → upload the ones the server lacks (HEAD first, N at a
 *   time) → post the manifest (the server verifies signature, parent, blobs).
 * Safe to run again after an interruption: uploads and posts are idempotent.
 */
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { blobHex, blobRefs, decodeManifest, parse, snapshotId, type Manifest } from '../manifest/index.ts';
import type { DriveClient } from './client.ts';
import { DriveError } from './errors.ts';
import type { PostedSnapshot } from './types.ts';

export interface PushOptions {
  /** Folders holding blob files; default: each manifest's folder and its `blobs/`. */
  blobDirs?: string[];
  parallel?: number;
  onEvent?: (e: { kind: 'blob'; hex: string; sent: boolean; size: number } | { kind: 'manifest'; file: string; result: PostedSnapshot }) => void;
}

export interface PushResult {
  file: string;
  id: string;
  created: boolean;
  blobsSent: number;
  blobsSkipped: number;
}

export async function pushManifests(c: DriveClient, files: string[], o: PushOptions = {}): Promise<PushResult[]> {
  const items: { file: string; text: string; m: Manifest; id: string }[] = [];
  for (const file of files) {
    const text = decodeManifest(await readFile(file), file);
    const m = parse(text, file);
    items.push({ file, text, m, id: snapshotId(m) });
  }
  const ordered = parentsFirst(items);
  const index = new Map<string, string>();
  const dirs = o.blobDirs ?? [...new Set(files.flatMap((f) => [dirname(f), join(dirname(f), 'blobs')]))];
  for (const d of dirs) {
    let names: string[];
    try {
      names = await readdir(d);
    } catch {
      continue;
    }
    for (const n of names) {
      const hex = /^([0-9a-f]{64})(?:\..+)?$/.exec(n)?.[1];
      if (hex && !index.has(hex)) index.set(hex, join(d, n));
    }
  }
  const results: PushResult[] = [];
  for (const it of ordered) {
    const hexes = blobRefs(it.m).map(blobHex);
    const missing = hexes.filter((h) => !index.has(h));
    const upload: { hex: string; file: string }[] = [];
    for (const h of hexes) if (index.has(h)) upload.push({ hex: h, file: index.get(h)! });
    // a blob not found locally may already be on the server
    for (const h of missing) if ((await c.headBlob(h)) === undefined) throw new DriveError(0, 'blob_not_found', `${it.file}: blob sha256:${h} is neither in ${dirs.join(', ')} nor on the server`);
    const up = await c.uploadBlobs(upload, { parallel: o.parallel ?? 4 });
    for (const u of up) o.onEvent?.({ kind: 'blob', hex: u.hex, sent: u.sent, size: u.size });
    const result = await c.postManifest(it.text);
    o.onEvent?.({ kind: 'manifest', file: it.file, result });
    results.push({ file: it.file, id: result.id, created: result.created, blobsSent: up.filter((u) => u.sent).length, blobsSkipped: up.filter((u) => !u.sent).length + missing.length });
  }
  return results;
}

function parentsFirst<T extends { id: string; m: Manifest }>(items: T[]): T[] {
  const byId = new Map(items.map((i) => [i.id, i]));
  const out: T[] = [];
  const seen = new Set<string>();
  const visit = (i: T, depth: number) => {
    if (seen.has(i.id) || depth > 10_000) return;
    const p = i.m.snapshot.parent ? byId.get(i.m.snapshot.parent) : undefined;
    if (p) visit(p, depth + 1);
    seen.add(i.id);
    out.push(i);
  };
  for (const i of items) visit(i, 0);
  return out;
}
