/** Every blob a manifest references (keyrings, repo bundles, file archives; data v2: tree roots and packs), deduplicated. */
import type { BlobRef, Manifest } from './types.ts';

export function blobRefs(m: Manifest): BlobRef[] {
  const refs = new Set<BlobRef>();
  for (const s of m.apps?.apt_sources ?? []) if (s.keyring) refs.add(s.keyring);
  for (const r of m.repos?.entry ?? []) {
    if (r.bundle) refs.add(r.bundle);
    if (r.bundle_tree) refs.add(r.bundle_tree);
    for (const p of r.bundle_packs ?? []) refs.add(p);
  }
  for (const f of m.files?.entry ?? []) {
    if (f.tree !== undefined) {
      refs.add(f.tree);
      for (const p of f.packs) refs.add(p);
    } else refs.add(f.blob);
  }
  return [...refs];
}

/** The bare hex digest of a blob address, as used in URLs and on disk. */
export function blobHex(ref: BlobRef): string {
  return ref.slice('sha256:'.length);
}
