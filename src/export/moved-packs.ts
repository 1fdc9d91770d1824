/**
 * The packs a pruned snapshot's data lives in now. A snapshot's manifest
 * names the packs its data v2 trees were written to; a prune (store/prune.ts)
 * may since have repacked some of them, and the server no longer has those.
 * An export must then carry the packs the moved chunks and tree objects went
 * to: the snapshot's trees are walked with the owner's relocator (the packs'
 * tables of contents, relocate.ts), as a restore from the server finds them,
 * and every current location whose pack is not among the manifest's is
 * returned. Only after a prune: the walk reads every tree object.
 */
import type { Identity } from '../keys/identity.ts';
import type { Manifest } from '../manifest/types.ts';
import { deriveDataKeys, treeKey } from '../store/keys.ts';
import { treesOf } from '../store/prune.ts';
import { Relocator } from '../store/relocate.ts';
import type { BlobBytes } from '../store/tree-reader.ts';
import { TreeReader } from '../store/tree-reader.ts';
import type { ObjectRef } from '../store/tree-object.ts';
import { zstdContext } from '../store/zstd.ts';

/**
 * Packs (hex) that hold `folded`'s moved chunks and tree objects, given the
 * account's blobs (`live`: hex → size) and the manifest's packs that are gone.
 */
export async function movedPacks(folded: Manifest, identity: Identity, bytes: BlobBytes, live: Map<string, number>, gone: ReadonlySet<string>): Promise<Set<string>> {
  const keys = deriveDataKeys(identity.signing.seed);
  const relocator = new Relocator({ list: async () => [...live].map(([hash, size]) => ({ hash, size })) }, bytes, keys.tocKey);
  const reader = new TreeReader(bytes, zstdContext(), undefined, relocator);
  const ids = new Set<string>();
  for (const t of treesOf(folded)) {
    const hex = t.tree.slice('sha256:'.length);
    if (!live.has(hex)) continue; // the tree root itself is missing: the export reports it (blob_missing)
    const root = await reader.root(hex, treeKey(keys.treeKeyRoot, Buffer.from(t.nonce, 'base64')));
    for (const [id, l] of root.trees) if (gone.has(l.pack)) ids.add(id);
    const stack: ObjectRef[] = [root.root];
    while (stack.length) {
      for (const e of await reader.entries(stack.pop()!, root)) {
        if (e.type === 'dir') stack.push(e.tree);
        else if (e.type === 'file') for (const c of e.chunks) if (gone.has(c.pack)) ids.add(c.id.toString('hex'));
      }
    }
  }
  const out = new Set<string>();
  if (ids.size) for (const l of (await relocator.locate(ids)).values()) out.add(l.pack);
  return out;
}
