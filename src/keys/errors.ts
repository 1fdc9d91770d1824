/**
 * Typed errors of the keys layer: a KeyError (a CodedError, util/coded-error.ts)
 * with one of the codes below; the catalogue says what each means.
 */
import { CodedError } from '../util/coded-error.ts';

export type KeyErrorCode =
  | 'wrong_secret'
  | 'seal_open_failed'
  | 'vault_format'
  | 'vault_damaged'
  | 'slot_not_found'
  | 'last_slot'
  | 'identity_files'
  | 'identity_exists'
  | 'recovery_key_format'
  | 'recovery_key_checksum'
  | 'bad_argument';

export class KeyError extends CodedError {
  override name = 'KeyError';
  declare readonly code: KeyErrorCode;
  constructor(
    code: KeyErrorCode,
    message: string,
    /** For vault_format / identity_files: the field or file the problem is in. */
    readonly field?: string,
  ) {
    super(code, message, field !== undefined ? { field } : {});
  }
}
