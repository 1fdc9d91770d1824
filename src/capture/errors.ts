/**
 * Typed errors of capture, each with a stable `code` a caller can switch on
 * (the CLI maps them to exit codes). A collector never throws for a missing
 * tool or an unreadable item: it reports a warning and goes on. These are for
 * what stops a capture.
 */
export type CaptureErrorCode =
  /** config.toml is not valid TOML or has a wrong key/value. */
  | 'CONFIG'
  /** No identity to sign with (run `koder-snapshot init`). */
  | 'NO_IDENTITY'
  /** Another capture holds the cache lock. */
  | 'LOCKED'
  /** A blob could not be built (I/O error on the cache dir, zstd failure). */
  | 'BLOB'
  /** A tool we rely on failed in an unexpected way (git bundle, …). */
  | 'TOOL'
  /** The server refused the snapshot or a blob. */
  | 'UPLOAD'
  /** `init`: this machine's identity and the account's vault disagree. */
  | 'INIT_CONFLICT';

export class CaptureError extends Error {
  override name = 'CaptureError';
  constructor(
    readonly code: CaptureErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A config.toml problem, naming the file and the key path. */
export class ConfigError extends CaptureError {
  override name = 'ConfigError';
  constructor(
    readonly file: string,
    readonly field: string,
    readonly reason: string,
  ) {
    super('CONFIG', `${file}${field ? ` ${field}` : ''}: ${reason}`);
  }
}

export { errMessage } from '../util/fs.ts';
