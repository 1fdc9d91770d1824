/** Identity keys, sealing, recovery keys and the key vault: the public API of src/keys/. */
export { getSodium, type Sodium } from './sodium.ts';
export { KeyError, type KeyErrorCode } from './errors.ts';
export { ed25519Sign, ed25519Verify, generateEd25519, keyIdOf, publicKeyFromSeed, type Ed25519KeyPair } from './ed25519.ts';
export {
  generateIdentity,
  loadIdentity,
  publicIdentity,
  saveIdentity,
  PRIVATE_FILE,
  PUBLIC_FILE,
  type Identity,
  type PublicIdentity,
  type SavedIdentity,
  type SealingKeyPair,
} from './identity.ts';
export { openSealed, seal } from './seal.ts';
export { formatRecoveryKey, generateRecoveryKey, normalizeRecoveryKey, parseRecoveryKey, RECOVERY_SECRET_BYTES } from './recovery.ts';
export { qrToSvg, qrToText, recoveryKeyQr, recoveryKeyQrSvg, recoveryKeyQrText, type QrBitmap, type QrTextOptions } from './qr.ts';
export {
  addSlot,
  createVault,
  DEFAULT_KDF,
  openVault,
  parseVault,
  removeSlot,
  serializeVault,
  VAULT_VERSION,
  type CreateVaultOptions,
  type KdfStrength,
  type NewSlot,
  type PassphraseSlot,
  type RecoverySlot,
  type Unlock,
  type Vault,
  type VaultResult,
  type VaultSlot,
} from './vault.ts';
