/**
 * Typed errors of the manifest layer, on the one convention
 * (util/coded-error.ts): a caller checks the class, or the code constant.
 */
import { CodedError } from '../util/coded-error.ts';

export interface SourcePosition {
  line: number;
  column: number;
}

/** The text is not valid TOML, or not a valid manifest (code `manifest_parse`). */
export class ManifestParseError extends CodedError {
  override name = 'ManifestParseError';
  declare readonly code: 'manifest_parse';
  constructor(
    readonly file: string,
    readonly field: string | undefined,
    readonly reason: string,
    readonly position: SourcePosition | undefined,
  ) {
    const where = position ? `${file}:${position.line}:${position.column}` : file;
    super('manifest_parse', field ? `${where} ${field}: ${reason}` : `${where}: ${reason}`, { file, field, position });
  }
}

export type VerificationReason =
  | 'unsigned'
  | 'bad-signature'
  | 'unknown-key'
  | 'id-mismatch'
  | 'parent-mismatch'
  | 'missing-parent'
  | 'cycle'
  | 'too-deep'
  | 'not-a-delta-root';

/** A manifest or chain failed verification; restore must refuse it (code `manifest_verify`, a verification failure). */
export class VerificationError extends CodedError {
  override name = 'VerificationError';
  declare readonly code: 'manifest_verify';
  constructor(
    readonly reason: VerificationReason,
    message: string,
    /** The snapshot id (or file) the failure is about. */
    readonly subject?: string,
  ) {
    super('manifest_verify', message, { reason, ...(subject !== undefined ? { subject } : {}) });
  }
}
