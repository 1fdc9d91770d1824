/**
 * The data keys of an account, derived from its identity (the key the vault
 * opens): the passphrase or recovery key that opens secrets opens data too,
 * and no new secret is asked of the person. HKDF-SHA256 (RFC 5869) over the
 * identity's 32-byte Ed25519 seed, one `info` string per key:
 *
 *   idKey        "koder-snapshot/v2 chunk-id"   chunk id = HMAC-SHA256(idKey, plaintext)
 *   chunkKeyRoot "koder-snapshot/v2 chunk-key"  chunk key = HMAC-SHA256(chunkKeyRoot, chunk id)
 *   chunkerKey   "koder-snapshot/v2 chunker"    seeds the chunker's gear table
 *   tocKey       "koder-snapshot/v2 pack-toc"   encrypts each pack's table of contents
 *   treeKeyRoot  "koder-snapshot/v2 tree-key"   tree key = HMAC-SHA256(treeKeyRoot, tree nonce)
 *
 * salt = "koder-snapshot data v2". Everything here is pure and synchronous.
 */
import { createHmac, hkdfSync } from 'node:crypto';

export const HKDF_SALT = 'koder-snapshot data v2';
export const HKDF_INFO = {
  idKey: 'koder-snapshot/v2 chunk-id',
  chunkKeyRoot: 'koder-snapshot/v2 chunk-key',
  chunkerKey: 'koder-snapshot/v2 chunker',
  tocKey: 'koder-snapshot/v2 pack-toc',
  treeKeyRoot: 'koder-snapshot/v2 tree-key',
} as const;

export interface DataKeys {
  idKey: Buffer;
  chunkKeyRoot: Buffer;
  chunkerKey: Buffer;
  tocKey: Buffer;
  treeKeyRoot: Buffer;
}

const hkdf = (ikm: Uint8Array, info: string) => Buffer.from(hkdfSync('sha256', ikm, HKDF_SALT, info, 32));

/** The account's data keys from its identity's Ed25519 seed (32 bytes). */
export function deriveDataKeys(seed: Uint8Array): DataKeys {
  if (seed.length !== 32) throw new RangeError(`an identity seed is 32 bytes, got ${seed.length}`);
  return {
    idKey: hkdf(seed, HKDF_INFO.idKey),
    chunkKeyRoot: hkdf(seed, HKDF_INFO.chunkKeyRoot),
    chunkerKey: hkdf(seed, HKDF_INFO.chunkerKey),
    tocKey: hkdf(seed, HKDF_INFO.tocKey),
    treeKeyRoot: hkdf(seed, HKDF_INFO.treeKeyRoot),
  };
}

const hmac = (key: Uint8Array, data: Uint8Array) => createHmac('sha256', key).update(data).digest();

/** A chunk's id: HMAC-SHA256 of its plaintext under the account's id key. */
export const chunkId = (idKey: Uint8Array, plain: Uint8Array): Buffer => hmac(idKey, plain);

/** A chunk's encryption key: HMAC-SHA256(chunkKeyRoot, id). The same plaintext always gets the same key (dedup). */
export const chunkKey = (chunkKeyRoot: Uint8Array, id: Uint8Array): Buffer => hmac(chunkKeyRoot, id);

/** A tree's key from the nonce its manifest entry records. */
export const treeKey = (treeKeyRoot: Uint8Array, nonce: Uint8Array): Buffer => hmac(treeKeyRoot, nonce);
