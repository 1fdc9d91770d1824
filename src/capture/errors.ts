/**
 * Typed errors of capture: a CaptureError is a CodedError
 * (util/coded-error.ts) with one of the codes below, whose meaning and CLI
 * exit status the catalogue there gives. A collector never throws for a
 * missing tool or an unreadable item: it reports a warning and goes on. These
 * are for what stops a capture.
 */
import { CodedError } from '../util/coded-error.ts';

export type CaptureErrorCode =
  | 'config_invalid'
  | 'no_identity'
  | 'capture_locked'
  | 'capture_blob_failed'
  | 'tool_failed'
  | 'upload_failed'
  | 'init_conflict';

export class CaptureError extends CodedError {
  override name = 'CaptureError';
  declare readonly code: CaptureErrorCode;
  constructor(code: CaptureErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, {}, options);
  }
}

/** A config.toml problem, naming the file and the key path (code `config_invalid`). */
export class ConfigError extends CaptureError {
  override name = 'ConfigError';
  constructor(
    readonly file: string,
    readonly field: string,
    readonly reason: string,
  ) {
    super('config_invalid', `${file}${field ? ` ${field}` : ''}: ${reason}`);
  }
}

export { errMessage } from '../util/fs.ts';
