/**
 * Sealing a secret to a person's X25519 public key (libsodium
 * `crypto_box_seal`: an ephemeral key pair + XSalsa20-Poly1305). The capturing
 * machine needs only the public key; only the identity's private key opens it.
 */
import { KeyError } from './errors.ts';
import type { SealingKeyPair } from './identity.ts';
import { getSodium } from './sodium.ts';

export async function seal(plain: Uint8Array, x25519PublicKey: Uint8Array): Promise<Uint8Array> {
  if (x25519PublicKey.length !== 32) throw new KeyError('bad_argument', `X25519 public key must be 32 bytes, got ${x25519PublicKey.length}`);
  const sodium = await getSodium();
  return sodium.crypto_box_seal(plain, x25519PublicKey);
}

/**
 * Opens a sealed value. The Poly1305 tag makes any change to the bytes, or the
 * wrong key pair, fail: the result is the original plaintext or a
 * SEAL_OPEN_FAILED error, never altered bytes.
 */
export async function openSealed(sealed: Uint8Array, keyPair: SealingKeyPair): Promise<Uint8Array> {
  const sodium = await getSodium();
  if (sealed.length < sodium.crypto_box_SEALBYTES) {
    throw new KeyError('seal_open_failed', `sealed value is too short (${sealed.length} bytes, at least ${sodium.crypto_box_SEALBYTES} expected)`);
  }
  if (keyPair.publicKey.length !== 32 || keyPair.privateKey.length !== 32) {
    throw new KeyError('bad_argument', 'X25519 key pair must be two 32-byte keys');
  }
  try {
    return sodium.crypto_box_seal_open(sealed, keyPair.publicKey, keyPair.privateKey);
  } catch {
    throw new KeyError('seal_open_failed', 'cannot open sealed value: it was sealed to another key, or it was altered');
  }
}
