/**
 * Capture's side of data v2 (src/store): one StoreWriter for the whole
 * capture, opened with the account's data keys (derived from the identity),
 * and the trees of folders and repository bundles. A collector asks for a
 * tree and gets the manifest fields back once `finish()` has sealed and
 * uploaded everything (the walk itself runs during the collector).
 *
 * A folder whose root tree object is the parent snapshot's keeps the
 * parent's fields (same tree, same packs): the delta does not list it and
 * nothing is uploaded for it.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { DriveClient } from '../drive/client.ts';
import type { Identity } from '../keys/identity.ts';
import type { BlobRef } from '../manifest/types.ts';
import { captureFolder } from '../store/folder-capture.ts';
import { deriveDataKeys, treeKey, type DataKeys } from '../store/keys.ts';
import { LocalIndex } from '../store/local-index.ts';
import type { TreeRoot } from '../store/root-blob.ts';
import { StoreWriter } from '../store/store-writer.ts';
import type { UploadEvents } from '../store/uploader.ts';

export interface TreeFields {
  tree: BlobRef;
  tree_nonce: string;
  packs: BlobRef[];
  size: number;
  files: number;
}

export interface DataV2 {
  writer: StoreWriter;
  keys: DataKeys;
  /** Runs after the writer finished: fills the entries. */
  fillers: (() => Promise<void>)[];
  finish(): Promise<void>;
  close(e?: unknown): Promise<void>;
}

export interface OpenDataV2 {
  cacheDir: string;
  userId: string;
  client?: DriveClient;
  /** Absent in a dry run before `init`: a throwaway key (sizes are right, nothing is kept). */
  identity?: Identity;
  level: number;
  workers: number;
  packMib: number;
  /** A dry run keeps its packs and tree roots in `<cache>/v2/packs/` (as pending uploads). */
  keep?: boolean;
  signal?: AbortSignal;
  uploadEvents?: UploadEvents;
  warn: (m: string) => void;
}

export async function openDataV2(o: OpenDataV2): Promise<DataV2> {
  const keys = deriveDataKeys(o.identity ? o.identity.signing.seed : randomBytes(32));
  // A dry run (no client) packs into a scratch cache removed at close: it changes nothing a real
  // capture sees — unless asked to keep what it packs (cache.keep_blobs: the demo's seed uploads it).
  const scratch = !o.client && !o.keep;
  const cacheDir = scratch ? await mkdtemp(join(o.cacheDir, 'dry-run-')) : o.cacheDir;
  const index = LocalIndex.open(cacheDir, scratch ? 'dry-run' : o.userId);
  let writer: StoreWriter;
  try {
    writer = await StoreWriter.open({
      keys,
      index,
      cacheDir,
      ...(o.client ? { client: o.client } : {}),
      level: o.level,
      workers: o.workers,
      packBytes: o.packMib * 1024 * 1024,
      ...(o.signal ? { signal: o.signal } : {}),
      ...(o.uploadEvents ? { uploadEvents: o.uploadEvents } : {}),
      warn: o.warn,
    });
  } catch (e) {
    index.close();
    if (scratch) await rm(cacheDir, { recursive: true, force: true });
    throw e;
  }
  const fillers: (() => Promise<void>)[] = [];
  let closed = false;
  return {
    writer,
    keys,
    fillers,
    async finish() {
      await writer.finish();
      for (const f of fillers) await f();
    },
    async close(e?: unknown) {
      if (closed) return;
      closed = true;
      await writer.close(e);
      index.close();
      if (scratch) await rm(cacheDir, { recursive: true, force: true });
    },
  };
}

export interface TreeCaptureOptions {
  /** The parent snapshot's fields for this folder (unchanged files are not read again). */
  parent?: { tree: BlobRef; tree_nonce: string } & Partial<TreeFields>;
  skips?: (abs: string, name: string) => boolean;
  fixedMeta?: boolean;
  warn: (m: string) => void;
  onProgress?: (bytes: number) => void;
  signal?: AbortSignal;
}

/**
 * Walks `dir` into the store. `fields` (filled after `finish()`) is the
 * entry's data: new, or the parent's when nothing changed.
 */
export async function captureTree(v2: DataV2, dir: string, label: string, o: TreeCaptureOptions): Promise<{ fields: TreeFields; parentBytes?: number }> {
  let parentRoot: TreeRoot | undefined;
  if (o.parent && v2.writer.reader) {
    try {
      parentRoot = await v2.writer.reader.root(o.parent.tree.slice('sha256:'.length), treeKey(v2.keys.treeKeyRoot, Buffer.from(o.parent.tree_nonce, 'base64')));
    } catch (e) {
      o.warn(`${label}: the parent snapshot's tree could not be read (${(e as Error).message}); every file is read again`);
    }
  }
  const fields: TreeFields = { tree: 'sha256:' as BlobRef, tree_nonce: '', packs: [], size: 0, files: 0 };
  const box = await captureFolder(v2.writer, dir, label, {
    ...(parentRoot ? { parent: parentRoot } : {}),
    ...(o.skips ? { skips: o.skips } : {}),
    ...(o.fixedMeta ? { fixedMeta: true } : {}),
    warn: o.warn,
    ...(o.onProgress ? { onProgress: o.onProgress } : {}),
    ...(o.signal ? { signal: o.signal } : {}),
  });
  v2.fillers.push(async () => {
    const s = await box.later;
    if (s.unchanged && o.parent?.packs && o.parent.size !== undefined && o.parent.files !== undefined) {
      Object.assign(fields, { tree: o.parent.tree, tree_nonce: o.parent.tree_nonce, packs: o.parent.packs, size: o.parent.size, files: o.parent.files });
      return;
    }
    if (s.unchanged) throw new Error(`${label}: unchanged but the parent entry has no packs`);
    Object.assign(fields, { tree: `sha256:${s.tree}`, tree_nonce: s.nonce, packs: s.packs.map((p) => `sha256:${p}`), size: s.root.bytes, files: s.root.files });
  });
  return { fields, ...(parentRoot ? { parentBytes: parentRoot.bytes } : {}) };
}
