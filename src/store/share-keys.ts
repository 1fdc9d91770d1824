/**
 * What a share hands over (data v2): the tree keys of one snapshot — the
 * keys of its folders' and bundles' tree roots — sealed to the recipient's
 * X25519 public key (libsodium crypto_box_seal, as secrets are). Only those
 * trees open with them: the account's own keys never leave it, and another
 * snapshot's new trees have other keys. What the recipient already read
 * cannot be taken back by revoking; revoking stops further reads (the server
 * answers 404).
 *
 *   sealed = base64(crypto_box_seal(JSON {"v":2,"snapshot":ID,"trees":{"sha256:…":"base64 key"}}, recipient x25519))
 */
import { openSealed, seal } from '../keys/seal.ts';
import type { SealingKeyPair } from '../keys/identity.ts';
import type { Identity } from '../keys/identity.ts';
import { isV2Files, type Manifest } from '../manifest/types.ts';
import { CodedError } from '../util/coded-error.ts';
import { deriveDataKeys, treeKey } from './keys.ts';

/** Whether a folded manifest has data v2 trees (folders or bundles). */
export function hasTrees(folded: Manifest): boolean {
  return (folded.files?.entry ?? []).some(isV2Files) || (folded.repos?.entry ?? []).some((r) => r.bundle_tree !== undefined);
}

/** The tree keys of a folded manifest, by tree root address. */
export function treeKeysOf(folded: Manifest, owner: Identity): Map<string, Buffer> {
  const root = deriveDataKeys(owner.signing.seed).treeKeyRoot;
  const out = new Map<string, Buffer>();
  for (const f of folded.files?.entry ?? []) if (isV2Files(f)) out.set(f.tree, treeKey(root, Buffer.from(f.tree_nonce, 'base64')));
  for (const r of folded.repos?.entry ?? []) if (r.bundle_tree && r.bundle_tree_nonce) out.set(r.bundle_tree, treeKey(root, Buffer.from(r.bundle_tree_nonce, 'base64')));
  return out;
}

export async function sealShareKeys(snapshotId: string, keys: Map<string, Buffer>, recipientX25519: Uint8Array): Promise<string> {
  const trees = Object.fromEntries([...keys].map(([t, k]) => [t, k.toString('base64')]));
  const plain = Buffer.from(JSON.stringify({ v: 2, snapshot: snapshotId, trees }), 'utf8');
  return Buffer.from(await seal(plain, recipientX25519)).toString('base64');
}

/** Opens a share's keys with my sealing key; they must be for `snapshotId`. */
export async function openShareKeys(sealed: string, snapshotId: string, mine: SealingKeyPair): Promise<Map<string, Uint8Array>> {
  let plain: Uint8Array;
  try {
    plain = await openSealed(new Uint8Array(Buffer.from(sealed, 'base64')), mine);
  } catch {
    throw new CodedError('share_keys_unreadable', 'the share\'s keys do not open with my key (sealed to another key, or altered)');
  }
  let o: { v?: unknown; snapshot?: unknown; trees?: unknown };
  try {
    o = JSON.parse(Buffer.from(plain).toString('utf8')) as typeof o;
  } catch {
    throw new CodedError('share_keys_unreadable', 'the share\'s keys are not readable');
  }
  if (o.v !== 2 || o.snapshot !== snapshotId || typeof o.trees !== 'object' || o.trees === null) {
    throw new CodedError('share_keys_unreadable', `the share's keys are not for snapshot ${snapshotId}`);
  }
  const out = new Map<string, Uint8Array>();
  for (const [t, k] of Object.entries(o.trees as Record<string, unknown>)) {
    if (!/^sha256:[0-9a-f]{64}$/.test(t) || typeof k !== 'string') continue;
    const key = Buffer.from(k, 'base64');
    if (key.length === 32) out.set(t, key);
  }
  return out;
}
