/** Every blob a manifest references (keyrings, repo bundles, file archives), deduplicated. */
import type { BlobRef, Manifest } from './types.ts';

export function blobRefs(m: Manifest): BlobRef[] {
  const refs = new Set<BlobRef>();
  for (const s of m.apps?.apt_sources ?? []) if (s.keyring) refs.add(s.keyring);
  for (const r of m.repos?.entry ?? []) if (r.bundle) refs.add(r.bundle);
  for (const f of m.files?.entry ?? []) refs.add(f.blob);
  return [...refs];
}

/** The bare hex digest of a blob address, as used in URLs and on disk. */
export function blobHex(ref: BlobRef): string {
  return ref.slice('sha256:'.length);
}
