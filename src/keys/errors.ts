/** Typed errors of the keys layer; `code` is stable for callers to switch on. */

export type KeyErrorCode =
  /** No slot of the vault opens with the given passphrase / recovery key. */
  | 'WRONG_SECRET'
  /** A sealed value is damaged, or was sealed to another key. */
  | 'SEAL_OPEN_FAILED'
  /** The vault JSON is malformed (the message names the field). */
  | 'VAULT_FORMAT'
  /** A slot opened, but the key box did not: the vault was altered. */
  | 'VAULT_DAMAGED'
  | 'SLOT_NOT_FOUND'
  /** Removing the last slot would lock the keys away for good. */
  | 'LAST_SLOT'
  /** Identity files missing, unreadable, malformed or inconsistent. */
  | 'IDENTITY_FILES'
  /** saveIdentity found an identity already there and `force` was not given. */
  | 'IDENTITY_EXISTS'
  /** The recovery key text has a bad character or length. */
  | 'RECOVERY_KEY_FORMAT'
  /** The recovery key text parses but its checksum does not match (a typo). */
  | 'RECOVERY_KEY_CHECKSUM'
  /** A caller passed an unusable argument (empty passphrase, key of wrong length, …). */
  | 'BAD_ARGUMENT';

export class KeyError extends Error {
  override name = 'KeyError';
  constructor(
    readonly code: KeyErrorCode,
    message: string,
    /** For VAULT_FORMAT / IDENTITY_FILES: the field or file the problem is in. */
    readonly field?: string,
  ) {
    super(message);
  }
}

export function isKeyError(e: unknown, code?: KeyErrorCode): e is KeyError {
  return e instanceof KeyError && (code === undefined || e.code === code);
}
