/**
 * The key vault: an identity's private keys, encrypted so a server can hold
 * them without being able to use them (as restic's key slots).
 *
 *   box   = secretbox(vault key, ed25519 seed ‖ ed25519 public ‖ x25519 private ‖ x25519 public)
 *   slot  = AEAD(KEK, vault key), KEK from the slot's secret:
 *           passphrase → Argon2id(passphrase, salt, opslimit, memlimit)
 *           recovery   → keyed BLAKE2b(recovery key, salt)
 *
 * Adding or removing a slot rewraps only the 32-byte vault key; the box is
 * never re-encrypted. Each slot's AEAD binds, as associated data, the vault's
 * key_id, the slot's own header (id, kind, KDF parameters) and a digest of the
 * box, so a slot moved into another vault or with edited parameters fails to
 * open instead of handing out a key for the wrong box.
 */
import { argon2id } from './argon2.ts';
import { KeyError } from './errors.ts';
import { fromB64, toB64 } from './b64.ts';
import { identityFromParts, type Identity } from './identity.ts';
import { generateRecoveryKey, parseRecoveryKey } from './recovery.ts';
import { getSodium, type Sodium } from './sodium.ts';

export const VAULT_VERSION = 1;

// Sizes fixed by the algorithms (libsodium constants, written out so that
// parseVault can stay synchronous).
const KEY_BYTES = 32; // crypto_secretbox_KEYBYTES = crypto_aead_xchacha20poly1305_ietf_KEYBYTES
const SALT_BYTES = 16; // crypto_pwhash_SALTBYTES
const BOX_NONCE_BYTES = 24; // crypto_secretbox_NONCEBYTES
const WRAP_NONCE_BYTES = 24; // crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
const TAG_BYTES = 16; // crypto_secretbox_MACBYTES = crypto_aead_xchacha20poly1305_ietf_ABYTES
const PLAIN_BYTES = 4 * 32;

/**
 * Bounds on stored Argon2id parameters. The vault comes from a server: without
 * a ceiling a hostile one could make the client allocate gigabytes or spin for
 * hours. The ceiling is libsodium's SENSITIVE memory (1 GiB).
 */
const OPSLIMIT_MIN = 1; // crypto_pwhash_OPSLIMIT_MIN for Argon2id
const OPSLIMIT_MAX = 64;
const MEMLIMIT_MIN = 8192; // crypto_pwhash_MEMLIMIT_MIN
const MEMLIMIT_MAX = 1 << 30;
/** Each passphrase slot costs one Argon2id run on open; keep the list short. */
const MAX_SLOTS = 32;

export interface PassphraseKdf {
  alg: 'argon2id13';
  opslimit: number;
  /** bytes */
  memlimit: number;
  salt: string;
}
export interface RecoveryKdf {
  alg: 'blake2b-keyed';
  salt: string;
}
interface SlotCommon {
  /** 16 lowercase hex characters, unique in the vault. */
  id: string;
  /** XChaCha20-Poly1305 nonce (base64). */
  nonce: string;
  /** The vault key encrypted under this slot's KEK (base64, 48 bytes). */
  wrapped_key: string;
}
export interface PassphraseSlot extends SlotCommon {
  kind: 'passphrase';
  kdf: PassphraseKdf;
}
export interface RecoverySlot extends SlotCommon {
  kind: 'recovery';
  kdf: RecoveryKdf;
}
export type VaultSlot = PassphraseSlot | RecoverySlot;

export interface Vault {
  version: 1;
  /** key_id of the identity inside (public; lets a client pick the right vault). */
  key_id: string;
  slots: VaultSlot[];
  /** XSalsa20-Poly1305 (crypto_secretbox) of the four 32-byte keys. */
  box: { nonce: string; ciphertext: string };
}

/**
 * Argon2id strength. Default 'moderate' (3 passes, 256 MiB; ≈1 s measured on
 * the 2-core reference box): the vault lives on a server, so if it leaks each
 * passphrase guess costs an attacker 256 MiB for a second, while the person
 * pays that second once per restore. 'sensitive' (1 GiB, ≈7.5 s) risks
 * running out of memory in a live installer session. 'min' is for tests only.
 */
export type KdfStrength = 'min' | 'interactive' | 'moderate' | 'sensitive' | { opslimit: number; memlimit: number };
export const DEFAULT_KDF: KdfStrength = 'moderate';

export type Unlock = { passphrase: string; slotId?: string } | { recoveryKey: string; slotId?: string };
export type NewSlot = { kind: 'passphrase'; passphrase: string; kdf?: KdfStrength } | { kind: 'recovery' };

export interface CreateVaultOptions {
  passphrase?: string;
  /** Also add a recovery-key slot; the key is returned once, never stored. */
  recovery?: boolean;
  kdf?: KdfStrength;
}

export interface VaultResult {
  vault: Vault;
  /** Present when a recovery slot was made: show it to the person, then forget it. */
  recoveryKey?: string;
}

// ---------------------------------------------------------------- create

export async function createVault(identity: Identity, opts: CreateVaultOptions): Promise<VaultResult> {
  if (opts.passphrase === undefined && !opts.recovery) {
    throw new KeyError('bad_argument', 'a vault needs at least one slot: give a passphrase, a recovery key, or both');
  }
  const sodium = await getSodium();
  const plain = new Uint8Array(PLAIN_BYTES);
  plain.set(identity.signing.seed, 0);
  plain.set(identity.signing.publicKey, 32);
  plain.set(identity.sealing.privateKey, 64);
  plain.set(identity.sealing.publicKey, 96);
  const vaultKey = sodium.crypto_secretbox_keygen();
  const nonce = sodium.randombytes_buf(BOX_NONCE_BYTES);
  const box = { nonce: toB64(nonce), ciphertext: toB64(sodium.crypto_secretbox_easy(plain, nonce, vaultKey)) };
  sodium.memzero(plain); // best effort: JS may have copied it, but do not keep it around ourselves

  let vault: Vault = { version: 1, key_id: identity.keyId, slots: [], box };
  let recoveryKey: string | undefined;
  try {
    if (opts.passphrase !== undefined) {
      vault = { ...vault, slots: [...vault.slots, await makeSlot(sodium, vault, vaultKey, { kind: 'passphrase', passphrase: opts.passphrase, kdf: opts.kdf })] };
    }
    if (opts.recovery) {
      recoveryKey = generateRecoveryKey();
      vault = { ...vault, slots: [...vault.slots, makeRecoverySlot(sodium, vault, vaultKey, recoveryKey)] };
    }
  } finally {
    sodium.memzero(vaultKey);
  }
  return recoveryKey === undefined ? { vault } : { vault, recoveryKey };
}

// ---------------------------------------------------------------- open

/**
 * Opens the vault with one slot's secret. Errors: WRONG_SECRET (no slot of
 * that kind opens), SLOT_NOT_FOUND (no slot of that kind / id), VAULT_DAMAGED
 * (a slot opened but the box did not, or holds keys that do not match),
 * VAULT_FORMAT, RECOVERY_KEY_FORMAT / RECOVERY_KEY_CHECKSUM (a typo).
 */
export async function openVault(vault: Vault, unlock: Unlock): Promise<Identity> {
  const sodium = await getSodium();
  const v = parseVault(vault);
  const vaultKey = await unwrapVaultKey(sodium, v, unlock);
  try {
    return await openBox(sodium, v, vaultKey);
  } finally {
    sodium.memzero(vaultKey);
  }
}

// ---------------------------------------------------------------- slots

/**
 * Adds a slot, unlocking with an existing one. The box is carried over
 * unchanged (same bytes). Returns the new vault (the input is not modified).
 */
export async function addSlot(vault: Vault, unlockWith: Unlock, newSlot: NewSlot): Promise<VaultResult & { slotId: string }> {
  const sodium = await getSodium();
  const v = parseVault(vault);
  if (v.slots.length >= MAX_SLOTS) throw new KeyError('bad_argument', `a vault holds at most ${MAX_SLOTS} slots`);
  const vaultKey = await unwrapVaultKey(sodium, v, unlockWith);
  try {
    // Open the box too: never wrap a key that does not open this vault.
    await openBox(sodium, v, vaultKey);
    let slot: VaultSlot;
    let recoveryKey: string | undefined;
    if (newSlot.kind === 'passphrase') {
      slot = await makeSlot(sodium, v, vaultKey, newSlot);
    } else {
      recoveryKey = generateRecoveryKey();
      slot = makeRecoverySlot(sodium, v, vaultKey, recoveryKey);
    }
    const out: Vault = { ...v, slots: [...v.slots, slot] };
    return recoveryKey === undefined ? { vault: out, slotId: slot.id } : { vault: out, slotId: slot.id, recoveryKey };
  } finally {
    sodium.memzero(vaultKey);
  }
}

/**
 * Removes a slot; needs no secret (whoever holds the vault can drop a slot
 * anyway). Refuses to remove the last one: that would lock the keys away.
 */
export function removeSlot(vault: Vault, slotId: string): Vault {
  const v = parseVault(vault);
  if (!v.slots.some((s) => s.id === slotId)) throw new KeyError('slot_not_found', `no slot with id ${slotId} in this vault`);
  if (v.slots.length === 1) throw new KeyError('last_slot', `slot ${slotId} is the vault's last slot; add another before removing it`);
  return { ...v, slots: v.slots.filter((s) => s.id !== slotId) };
}

export function serializeVault(vault: Vault): string {
  return JSON.stringify(parseVault(vault), null, 2) + '\n';
}

// ---------------------------------------------------------------- internals

function kdfParams(sodium: Sodium, strength: KdfStrength = DEFAULT_KDF): { opslimit: number; memlimit: number } {
  switch (strength) {
    case 'min':
      return { opslimit: sodium.crypto_pwhash_OPSLIMIT_MIN, memlimit: sodium.crypto_pwhash_MEMLIMIT_MIN };
    case 'interactive':
      return { opslimit: sodium.crypto_pwhash_OPSLIMIT_INTERACTIVE, memlimit: sodium.crypto_pwhash_MEMLIMIT_INTERACTIVE };
    case 'moderate':
      return { opslimit: sodium.crypto_pwhash_OPSLIMIT_MODERATE, memlimit: sodium.crypto_pwhash_MEMLIMIT_MODERATE };
    case 'sensitive':
      return { opslimit: sodium.crypto_pwhash_OPSLIMIT_SENSITIVE, memlimit: sodium.crypto_pwhash_MEMLIMIT_SENSITIVE };
    default:
      checkKdfBounds(strength.opslimit, strength.memlimit, 'kdf');
      return { opslimit: strength.opslimit, memlimit: strength.memlimit };
  }
}

function checkKdfBounds(opslimit: unknown, memlimit: unknown, where: string, code: 'bad_argument' | 'vault_format' = 'bad_argument'): void {
  if (!Number.isSafeInteger(opslimit) || (opslimit as number) < OPSLIMIT_MIN || (opslimit as number) > OPSLIMIT_MAX) {
    throw new KeyError(code, `${where}.opslimit: expected an integer from ${OPSLIMIT_MIN} to ${OPSLIMIT_MAX}`, `${where}.opslimit`);
  }
  if (!Number.isSafeInteger(memlimit) || (memlimit as number) < MEMLIMIT_MIN || (memlimit as number) > MEMLIMIT_MAX) {
    throw new KeyError(code, `${where}.memlimit: expected an integer from ${MEMLIMIT_MIN} to ${MEMLIMIT_MAX} (bytes)`, `${where}.memlimit`);
  }
}

/**
 * One spelling of a passphrase: the same words typed on the old desktop and in
 * the installer may arrive in different Unicode normal forms.
 */
function passphraseBytes(passphrase: string): Uint8Array {
  if (typeof passphrase !== 'string' || passphrase.length === 0) throw new KeyError('bad_argument', 'the passphrase is empty');
  return new TextEncoder().encode(passphrase.normalize('NFC'));
}

async function passphraseKek(passphrase: string, kdf: PassphraseKdf): Promise<Uint8Array> {
  try {
    return await argon2id({ bytes: KEY_BYTES, password: passphraseBytes(passphrase), salt: fromB64(kdf.salt)!, opslimit: kdf.opslimit, memlimit: kdf.memlimit });
  } catch (e) {
    if (e instanceof KeyError) throw e;
    throw new Error(`Argon2id failed (memlimit ${kdf.memlimit} bytes): ${(e as Error).message}`);
  }
}

function recoveryKek(sodium: Sodium, secret: Uint8Array, kdf: RecoveryKdf): Uint8Array {
  const msg = new Uint8Array([...new TextEncoder().encode('koder-snapshot recovery slot v1\0'), ...fromB64(kdf.salt)!]);
  return sodium.crypto_generichash(KEY_BYTES, msg, secret);
}

/** Associated data of a slot's AEAD: everything about the slot but the ciphertext, plus what it belongs to. */
function slotAd(sodium: Sodium, v: Vault, s: Pick<VaultSlot, 'id' | 'kind' | 'kdf'>): Uint8Array {
  const boxDigest = sodium.crypto_generichash(32, new Uint8Array([...fromB64(v.box.nonce)!, ...fromB64(v.box.ciphertext)!]), null);
  const kdf = s.kind === 'passphrase' ? (s.kdf as PassphraseKdf) : undefined;
  // An array, not an object: its serialization does not depend on key order.
  const header = [
    'koder-snapshot vault slot',
    VAULT_VERSION,
    v.key_id,
    toB64(boxDigest),
    s.id,
    s.kind,
    s.kdf.alg,
    s.kdf.salt,
    kdf?.opslimit ?? null,
    kdf?.memlimit ?? null,
  ];
  return new TextEncoder().encode(JSON.stringify(header));
}

function newSlotId(sodium: Sodium, v: Vault): string {
  for (;;) {
    const id = sodium.to_hex(sodium.randombytes_buf(8));
    if (!v.slots.some((s) => s.id === id)) return id;
  }
}

function wrap(sodium: Sodium, v: Vault, vaultKey: Uint8Array, kek: Uint8Array, head: Pick<VaultSlot, 'id' | 'kind' | 'kdf'>): SlotCommon {
  const nonce = sodium.randombytes_buf(WRAP_NONCE_BYTES);
  const ct = sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(vaultKey, slotAd(sodium, v, head), null, nonce, kek);
  sodium.memzero(kek);
  return { id: head.id, nonce: toB64(nonce), wrapped_key: toB64(ct) };
}

async function makeSlot(
  sodium: Sodium,
  v: Vault,
  vaultKey: Uint8Array,
  spec: { kind: 'passphrase'; passphrase: string; kdf?: KdfStrength | undefined },
): Promise<PassphraseSlot> {
  const { opslimit, memlimit } = kdfParams(sodium, spec.kdf);
  const kdf: PassphraseKdf = { alg: 'argon2id13', opslimit, memlimit, salt: toB64(sodium.randombytes_buf(SALT_BYTES)) };
  const head = { id: newSlotId(sodium, v), kind: 'passphrase' as const, kdf };
  const { id, nonce, wrapped_key } = wrap(sodium, v, vaultKey, await passphraseKek(spec.passphrase, kdf), head);
  return { id, kind: 'passphrase', kdf, nonce, wrapped_key };
}

function makeRecoverySlot(sodium: Sodium, v: Vault, vaultKey: Uint8Array, recoveryKey: string): RecoverySlot {
  const kdf: RecoveryKdf = { alg: 'blake2b-keyed', salt: toB64(sodium.randombytes_buf(SALT_BYTES)) };
  const head = { id: newSlotId(sodium, v), kind: 'recovery' as const, kdf };
  const { id, nonce, wrapped_key } = wrap(sodium, v, vaultKey, recoveryKek(sodium, parseRecoveryKey(recoveryKey), kdf), head);
  return { id, kind: 'recovery', kdf, nonce, wrapped_key };
}

async function unwrapVaultKey(sodium: Sodium, v: Vault, unlock: Unlock): Promise<Uint8Array> {
  const kind = 'passphrase' in unlock ? 'passphrase' : 'recovery';
  // Parse first: a typo in the recovery key is reported as such, not as "wrong key".
  const recoverySecret = 'recoveryKey' in unlock ? parseRecoveryKey(unlock.recoveryKey) : undefined;
  if ('passphrase' in unlock) passphraseBytes(unlock.passphrase);

  const candidates = v.slots.filter((s) => s.kind === kind && (unlock.slotId === undefined || s.id === unlock.slotId));
  if (candidates.length === 0) {
    throw new KeyError('slot_not_found', unlock.slotId !== undefined ? `no ${kind} slot with id ${unlock.slotId} in this vault` : `this vault has no ${kind} slot`);
  }
  for (const s of candidates) {
    const kek = s.kind === 'passphrase' ? await passphraseKek((unlock as { passphrase: string }).passphrase, s.kdf) : recoveryKek(sodium, recoverySecret!, s.kdf);
    try {
      const key = sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(null, fromB64(s.wrapped_key)!, slotAd(sodium, v, s), fromB64(s.nonce)!, kek);
      if (key.length === KEY_BYTES) return key;
    } catch {
      // Authentication failed: not this slot's secret (or the slot was altered). Try the next.
    } finally {
      sodium.memzero(kek);
    }
  }
  const what = kind === 'passphrase' ? 'passphrase' : 'recovery key';
  throw new KeyError('wrong_secret', `wrong ${what}: it opens no ${kind} slot of this vault (or the vault was altered)`);
}

async function openBox(sodium: Sodium, v: Vault, vaultKey: Uint8Array): Promise<Identity> {
  let plain: Uint8Array;
  try {
    plain = sodium.crypto_secretbox_open_easy(fromB64(v.box.ciphertext)!, fromB64(v.box.nonce)!, vaultKey);
  } catch {
    throw new KeyError('vault_damaged', 'the vault key opened a slot but not the key box: the vault was altered');
  }
  try {
    if (plain.length !== PLAIN_BYTES) throw new KeyError('vault_damaged', `the key box holds ${plain.length} bytes, expected ${PLAIN_BYTES}`);
    const id = await identityFromParts({
      ed25519Seed: plain.slice(0, 32),
      ed25519Public: plain.slice(32, 64),
      x25519Private: plain.slice(64, 96),
      x25519Public: plain.slice(96, 128),
    });
    if (typeof id === 'string') throw new KeyError('vault_damaged', `the key box is inconsistent: ${id}`);
    if (id.keyId !== v.key_id) throw new KeyError('vault_damaged', `the key box holds key ${id.keyId}, but the vault says ${v.key_id}`);
    return id;
  } finally {
    sodium.memzero(plain);
  }
}

// ---------------------------------------------------------------- parse

/**
 * Validates a vault strictly (a JSON string or the parsed value) and returns a
 * fresh copy. Unknown fields are refused: the format is versioned, a reader of
 * version 1 cannot know what an unknown field would change. Errors:
 * VAULT_FORMAT, naming the field.
 */
export function parseVault(json: unknown): Vault {
  let data = json;
  if (typeof json === 'string') {
    try {
      data = JSON.parse(json);
    } catch (e) {
      throw new KeyError('vault_format', `vault: not valid JSON (${(e as Error).message})`, '');
    }
  }
  const root = obj(data, 'vault', ['version', 'key_id', 'slots', 'box']);
  if (root.version !== VAULT_VERSION) bad('version', `unsupported version ${JSON.stringify(root.version)} (expected ${VAULT_VERSION})`);
  const keyId = str(root.key_id, 'key_id');
  if (!/^[0-9a-f]{64}$/.test(keyId)) bad('key_id', 'expected 64 lowercase hex characters');
  const boxIn = obj(root.box, 'box', ['nonce', 'ciphertext']);
  const box = { nonce: b64(boxIn.nonce, 'box.nonce', BOX_NONCE_BYTES), ciphertext: b64(boxIn.ciphertext, 'box.ciphertext', PLAIN_BYTES + TAG_BYTES) };
  if (!Array.isArray(root.slots)) bad('slots', 'expected an array');
  const slotsIn = root.slots as unknown[];
  if (slotsIn.length === 0) bad('slots', 'a vault needs at least one slot');
  if (slotsIn.length > MAX_SLOTS) bad('slots', `at most ${MAX_SLOTS} slots`);
  const seen = new Set<string>();
  const slots = slotsIn.map((raw, i): VaultSlot => {
    const at = `slots[${i}]`;
    const s = obj(raw, at, ['id', 'kind', 'kdf', 'nonce', 'wrapped_key']);
    const id = str(s.id, `${at}.id`);
    if (!/^[0-9a-f]{16}$/.test(id)) bad(`${at}.id`, 'expected 16 lowercase hex characters');
    if (seen.has(id)) bad(`${at}.id`, `duplicate slot id ${id}`);
    seen.add(id);
    const common = { id, nonce: b64(s.nonce, `${at}.nonce`, WRAP_NONCE_BYTES), wrapped_key: b64(s.wrapped_key, `${at}.wrapped_key`, KEY_BYTES + TAG_BYTES) };
    if (s.kind === 'passphrase') {
      const k = obj(s.kdf, `${at}.kdf`, ['alg', 'opslimit', 'memlimit', 'salt']);
      if (k.alg !== 'argon2id13') bad(`${at}.kdf.alg`, `expected "argon2id13", got ${JSON.stringify(k.alg)}`);
      checkKdfBounds(k.opslimit, k.memlimit, `${at}.kdf`, 'vault_format');
      const kdf: PassphraseKdf = { alg: 'argon2id13', opslimit: k.opslimit as number, memlimit: k.memlimit as number, salt: b64(k.salt, `${at}.kdf.salt`, SALT_BYTES) };
      return { ...common, kind: 'passphrase', kdf };
    }
    if (s.kind === 'recovery') {
      const k = obj(s.kdf, `${at}.kdf`, ['alg', 'salt']);
      if (k.alg !== 'blake2b-keyed') bad(`${at}.kdf.alg`, `expected "blake2b-keyed", got ${JSON.stringify(k.alg)}`);
      return { ...common, kind: 'recovery', kdf: { alg: 'blake2b-keyed', salt: b64(k.salt, `${at}.kdf.salt`, SALT_BYTES) } };
    }
    return bad(`${at}.kind`, `expected "passphrase" or "recovery", got ${JSON.stringify(s.kind)}`);
  });
  return { version: 1, key_id: keyId, slots, box };
}

function bad(field: string, why: string): never {
  throw new KeyError('vault_format', `vault ${field}: ${why}`, field);
}

function obj(v: unknown, field: string, keys: string[]): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) bad(field, 'expected an object');
  const rec = v as Record<string, unknown>;
  for (const k of Object.keys(rec)) if (!keys.includes(k)) bad(field === 'vault' ? k : `${field}.${k}`, 'unknown field');
  for (const k of keys) if (!(k in rec)) bad(field === 'vault' ? k : `${field}.${k}`, 'missing');
  return rec;
}

function str(v: unknown, field: string): string {
  if (typeof v !== 'string') bad(field, 'expected a string');
  return v as string;
}

function b64(v: unknown, field: string, length: number): string {
  const bytes = fromB64(str(v, field));
  if (!bytes) bad(field, 'expected canonical base64');
  if (bytes!.length !== length) bad(field, `expected ${length} bytes, got ${bytes!.length}`);
  return v as string;
}
