/** A public key's fingerprint to read aloud and compare: the first 16 bytes of its sha256, in groups of 4 hex digits. */
import { createHash } from 'node:crypto';

export function fingerprint(publicKey: Uint8Array): string {
  return (createHash('sha256').update(publicKey).digest('hex').slice(0, 32).match(/.{4}/g) ?? []).join(' ');
}
