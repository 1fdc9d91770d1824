/**
 * `koder-snapshot prune` (data v2, the owner): packs that deleted snapshots
 * left mostly empty are repacked. In order:
 *
 *   1. every snapshot of the account, verified and folded; every tree of it
 *      read → the chunks still used (data and tree objects)
 *   2. the account's packs and their tables of contents (the local index,
 *      synced with the server as a capture does)
 *   3. a pack whose used bytes are below `threshold` of its size, and that
 *      no shared snapshot references (the person it is shared with finds
 *      chunks by the trees' locations), is a candidate
 *   4. the used chunks of the candidates are fetched and copied verbatim (a
 *      sealed chunk moves without being opened) into new packs, uploaded
 *   5. one request swaps them on the server (every snapshot that referenced
 *      a candidate references the new packs) and deletes the candidates
 *
 * Readers find moved chunks through the packs' tables of contents
 * (relocate.ts). Interrupted before 5: new packs stored that nothing
 * references (collected after 24 h), the old ones untouched.
 */
import type { DriveClient } from '../drive/client.ts';
import type { Identity } from '../keys/identity.ts';
import { resolveChain, blobRefs, blobHex } from '../manifest/index.ts';
import { isV2Files, type Manifest } from '../manifest/types.ts';
import { deriveDataKeys, treeKey } from './keys.ts';
import { LocalIndex } from './local-index.ts';
import { PackWriter, type SealedPack } from './pack-writer.ts';
import type { PackEntry } from './pack-format.ts';
import { Relocator } from './relocate.ts';
import { StoreWriter, driveBytes } from './store-writer.ts';
import { TreeReader } from './tree-reader.ts';
import type { ObjectRef } from './tree-object.ts';
import { zstdContext } from './zstd.ts';

export interface PruneOptions {
  client: DriveClient;
  identity: Identity;
  userId: string;
  cacheDir: string;
  /** Repack packs whose used share is below this (0–1, default 0.5). */
  threshold?: number;
  dryRun?: boolean;
  log?: (line: string) => void;
}

export interface PruneReport {
  snapshots: number;
  packs: number;
  /** Packs repacked (or that would be). */
  candidates: { pack: string; size: number; used: number }[];
  /** Packs kept because a shared snapshot references them. */
  pinned: number;
  newPacks: number;
  /** Bytes the server stores less (removed − added); estimated in a dry run. */
  freed: number;
  /** Snapshots whose references moved to the new packs. */
  rewritten: number;
}

function treesOf(m: Manifest): { tree: string; nonce: string }[] {
  const out: { tree: string; nonce: string }[] = [];
  for (const f of m.files?.entry ?? []) if (isV2Files(f)) out.push({ tree: f.tree, nonce: f.tree_nonce });
  for (const r of m.repos?.entry ?? []) if (r.bundle_tree && r.bundle_tree_nonce) out.push({ tree: r.bundle_tree, nonce: r.bundle_tree_nonce });
  return out;
}

export async function prune(o: PruneOptions): Promise<PruneReport> {
  const log = o.log ?? (() => {});
  const keys = deriveDataKeys(o.identity.signing.seed);
  const threshold = o.threshold ?? 0.5;
  const bytes = driveBytes(o.client);
  const relocator = new Relocator({ list: () => o.client.listAllBlobs() }, bytes, keys.tocKey);
  const reader = new TreeReader(bytes, zstdContext(), undefined, relocator);

  // 1. what is used; what is pinned by shares
  const trusted = [...(await o.client.getKeys()).map((k) => new Uint8Array(Buffer.from(k.ed25519, 'base64'))), o.identity.signing.publicKey];
  const snapshots = await o.client.listSnapshots();
  const used = new Set<string>();
  const seenRoots = new Set<string>();
  const pinned = new Set<string>();
  for (const s of snapshots) {
    const { folded, chain } = await resolveChain(s.id, (id) => o.client.getManifest(id), trusted);
    if ((await o.client.sharesOf(s.id)).length) for (const link of chain) for (const r of blobRefs(link.manifest)) pinned.add(blobHex(r));
    for (const t of treesOf(folded)) {
      if (seenRoots.has(t.tree)) continue;
      seenRoots.add(t.tree);
      const root = await reader.root(t.tree.slice('sha256:'.length), treeKey(keys.treeKeyRoot, Buffer.from(t.nonce, 'base64')));
      await reader.prefetch(root);
      for (const id of root.trees.keys()) used.add(id);
      const stack: ObjectRef[] = [root.root];
      while (stack.length) {
        const ref = stack.pop()!;
        for (const e of await reader.entries(ref, root)) {
          if (e.type === 'dir') stack.push(e.tree);
          else if (e.type === 'file') for (const c of e.chunks) used.add(c.id.toString('hex'));
        }
      }
    }
  }
  log(`${snapshots.length} snapshots, ${seenRoots.size} trees, ${used.size} chunks in use`);

  // 2. the packs, as a capture sees them
  const index = LocalIndex.open(o.cacheDir, o.userId);
  const writer = await StoreWriter.open({ keys, index, cacheDir: o.cacheDir, client: o.client });
  try {
    const packs = index.packs('uploaded').filter((p) => writer.livePacks.has(p.hex));
    const candidates: { pack: string; size: number; used: number; keep: PackEntry[] }[] = [];
    let pinnedCount = 0;
    for (const p of packs) {
      const entries = index.packEntries(p.hex);
      if (!entries) continue;
      const keep = entries.filter((e) => used.has(e.id.toString('hex')));
      const usedBytes = keep.reduce((n, e) => n + e.length, 0);
      if (usedBytes >= threshold * p.size || usedBytes === 0) continue; // full enough; or referenced by nothing (the server collects it)
      if (pinned.has(p.hex)) {
        pinnedCount++;
        continue;
      }
      candidates.push({ pack: p.hex, size: p.size, used: usedBytes, keep });
    }
    const report: PruneReport = {
      snapshots: snapshots.length,
      packs: packs.length,
      candidates: candidates.map(({ pack, size, used: u }) => ({ pack, size, used: u })),
      pinned: pinnedCount,
      newPacks: 0,
      freed: candidates.reduce((n, c) => n + c.size - c.used, 0),
      rewritten: 0,
    };
    if (o.dryRun || !candidates.length) return report;

    // 3–4. copy what is used into new packs
    const sealed: SealedPack[] = [];
    const packWriter = new PackWriter(writer.packDir, keys.tocKey, index, (p) => {
      sealed.push(p);
      writer.uploader.add({ hex: p.hex, path: p.path, size: p.size, kind: 'pack', label: `pack ${p.hex.slice(0, 12)} (prune)` });
    });
    for (const c of candidates) {
      const keep = [...c.keep].sort((a, b) => a.offset - b.offset);
      const start = keep[0]!.offset;
      const end = keep[keep.length - 1]!.offset + keep[keep.length - 1]!.length;
      const buf = await bytes.read(c.pack, start, end - 1);
      for (const e of keep) packWriter.add(e.type, e.id, e.rawLength, buf.subarray(e.offset - start, e.offset - start + e.length));
      log(`repacking ${c.pack.slice(0, 12)}: ${keep.length} chunks in use (${c.used} of ${c.size} bytes)`);
    }
    await packWriter.flush();
    await writer.uploader.drain();

    // 5. swap on the server
    const out = await o.client.rewritePacks(candidates.map((c) => c.pack), sealed.map((p) => p.hex));
    index.dropPacks(candidates.map((c) => c.pack));
    report.newPacks = sealed.length;
    report.rewritten = out.snapshots;
    report.freed = out.freed - sealed.reduce((n, p) => n + p.size, 0);
    return report;
  } finally {
    await writer.close();
    index.close();
  }
}
