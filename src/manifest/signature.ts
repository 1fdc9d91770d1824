/** Ed25519 signatures over canonical bytes (snapshot.sig = { ed25519, key_id }). */
import { ed25519Sign, ed25519Verify, keyIdOf, publicKeyFromSeed } from '../keys/ed25519.ts';
import { canonicalBytes } from './canonical.ts';
import { VerificationError } from './errors.ts';
import type { Manifest } from './types.ts';

/** Returns a copy of `m` signed with the Ed25519 seed (replacing any signature). */
export function sign(m: Manifest, seed: Uint8Array): Manifest {
  const signature = ed25519Sign(seed, canonicalBytes(m));
  const key_id = keyIdOf(publicKeyFromSeed(seed));
  return { ...m, snapshot: { ...m.snapshot, sig: { ed25519: Buffer.from(signature).toString('base64'), key_id } } };
}

/**
 * Checks the signature against the trusted public keys (raw 32 bytes each).
 * Returns the signer's key_id; throws VerificationError otherwise.
 */
export function verifySignature(m: Manifest, trusted: readonly Uint8Array[], subject?: string): string {
  const sig = m.snapshot?.sig;
  if (!sig || typeof sig.ed25519 !== 'string' || typeof sig.key_id !== 'string') {
    throw new VerificationError('unsigned', `${subject ?? 'manifest'}: not signed (snapshot.sig missing)`, subject);
  }
  const key = trusted.find((k) => keyIdOf(k) === sig.key_id);
  if (!key) {
    throw new VerificationError('unknown-key', `${subject ?? 'manifest'}: signed by key ${sig.key_id.slice(0, 16)}…, which is not one of the ${trusted.length} trusted key(s)`, subject);
  }
  const bytes = Buffer.from(sig.ed25519, 'base64');
  if (bytes.length !== 64 || !ed25519Verify(key, canonicalBytes(m), bytes)) {
    throw new VerificationError('bad-signature', `${subject ?? 'manifest'}: signature does not match its content (tampered or corrupted)`, subject);
  }
  return sig.key_id;
}
