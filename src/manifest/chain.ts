/**
 * resolveChain: walk leaf → root by `snapshot.parent`, checking for each link
 * that the fetched text hashes to the id asked for, that it is signed by a
 * trusted key and that it belongs to the same user; then fold root → leaf.
 * Because ids are hashes of content that includes the parent's id, the
 * leaf's verified id pins every ancestor.
 */
import { snapshotId } from './canonical.ts';
import { VerificationError } from './errors.ts';
import { fold } from './fold.ts';
import { parse } from './parse.ts';
import { verifySignature } from './signature.ts';
import type { Manifest } from './types.ts';

export const MAX_CHAIN_DEPTH = 1000;
const ID = /^[0-9a-f]{64}$/;

export interface ChainLink {
  id: string;
  manifest: Manifest;
  text: string;
}

export interface ResolvedChain {
  /** Root first, leaf last. */
  chain: ChainLink[];
  folded: Manifest;
}

export async function resolveChain(
  leafId: string,
  fetchText: (id: string) => Promise<string>,
  trusted: readonly Uint8Array[],
  { maxDepth = MAX_CHAIN_DEPTH }: { maxDepth?: number } = {},
): Promise<ResolvedChain> {
  const links: ChainLink[] = [];
  const seen = new Set<string>();
  let id: string | undefined = leafId;
  while (id !== undefined) {
    if (!ID.test(id)) throw new VerificationError('parent-mismatch', `snapshot id ${JSON.stringify(id)} is not 64 lowercase hex digits`, id);
    if (seen.has(id)) throw new VerificationError('cycle', `snapshot ${id} appears twice in its own chain`, id);
    if (links.length >= maxDepth) throw new VerificationError('too-deep', `chain of ${leafId} is deeper than ${maxDepth} snapshots`, leafId);
    seen.add(id);
    const text = await fetchText(id);
    const manifest = parse(text, `snapshot ${id}`);
    const actual = snapshotId(manifest);
    if (actual !== id) {
      throw new VerificationError(
        links.length === 0 ? 'id-mismatch' : 'parent-mismatch',
        links.length === 0
          ? `snapshot ${id}: content hashes to ${actual} (tampered or wrong file)`
          : `snapshot ${links[links.length - 1]!.id} names parent ${id}, but that content hashes to ${actual}`,
        id,
      );
    }
    verifySignature(manifest, trusted, `snapshot ${id}`);
    const child = links[links.length - 1];
    if (child && child.manifest.snapshot.version !== manifest.snapshot.version) {
      throw new VerificationError('parent-mismatch', `snapshot ${child.id} (version ${child.manifest.snapshot.version}) names parent ${id} of version ${manifest.snapshot.version}: a chain keeps one version`, id);
    }
    if (child && child.manifest.snapshot.koder_user_id !== manifest.snapshot.koder_user_id) {
      throw new VerificationError('parent-mismatch', `snapshot ${child.id} (user ${child.manifest.snapshot.koder_user_id}) names parent ${id} of another user (${manifest.snapshot.koder_user_id})`, id);
    }
    links.push({ id, manifest, text });
    id = manifest.snapshot.parent;
  }
  links.reverse();
  return { chain: links, folded: fold(links.map((l) => l.manifest)) };
}
