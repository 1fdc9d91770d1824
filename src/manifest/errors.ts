/** Typed errors of the manifest layer; `code` is stable for callers to switch on. */

export interface SourcePosition {
  line: number;
  column: number;
}

/** The text is not valid TOML, or not a valid manifest. */
export class ManifestParseError extends Error {
  readonly code = 'MANIFEST_PARSE';
  constructor(
    readonly file: string,
    readonly field: string | undefined,
    readonly reason: string,
    readonly position: SourcePosition | undefined,
  ) {
    const where = position ? `${file}:${position.line}:${position.column}` : file;
    super(field ? `${where} ${field}: ${reason}` : `${where}: ${reason}`);
    this.name = 'ManifestParseError';
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

/** A manifest or chain failed verification; restore must refuse it. */
export class VerificationError extends Error {
  readonly code = 'MANIFEST_VERIFY';
  constructor(
    readonly reason: VerificationReason,
    message: string,
    /** The snapshot id (or file) the failure is about. */
    readonly subject?: string,
  ) {
    super(message);
    this.name = 'VerificationError';
  }
}
