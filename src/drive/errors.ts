/**
 * Every failure of the drive client is a DriveError, a CodedError
 * (util/coded-error.ts): `status` is the HTTP status (0 when no response
 * came), `code` the server's error code when the catalogue has it, or one of
 * ours ('network', 'hash_mismatch', 'insecure_url', 'aborted',
 * 'invalid_path_segment', …), `serverCode` the code as the server wrote it
 * (an answer with a code the catalogue does not know is 'http_error').
 */
import { CodedError, isErrorCode, type ErrorCode } from '../util/coded-error.ts';

export class DriveError extends CodedError {
  override name = 'DriveError';
  constructor(
    readonly status: number,
    code: ErrorCode,
    message: string,
    details: Record<string, unknown> = {},
    options?: { cause?: unknown; serverCode?: string },
  ) {
    super(code, message, details, options?.cause !== undefined ? { cause: options.cause } : undefined);
    if (options?.serverCode !== undefined) this.serverCode = options.serverCode;
  }

  /** The error code of the server's answer, as written (undefined when no answer said one). */
  readonly serverCode?: string;

  /** Worth trying again: no response, or the server was temporarily unable. */
  get transient(): boolean {
    return this.code === 'network' || this.status === 408 || this.status === 429 || this.status === 502 || this.status === 503 || this.status === 504 || this.status === 500;
  }
}

/** Throws DriveError 'invalid_blob_address' unless `hex` is a bare sha256 hex address. */
export function checkBlobHex(hex: string): void {
  if (!/^[0-9a-f]{64}$/.test(hex)) throw new DriveError(0, 'invalid_blob_address', `not a sha256 hex address: ${hex}`);
}

/**
 * The error a blob transfer gives up with, saying which blob, where it was
 * asked for (the path names whose storage: `/v1/me/…` or the owner's
 * `/v1/users/<id>/…`) and what the server answered. Status, code and details
 * are kept: callers (and the restore's stop on verification errors) still
 * switch on the code. An abort, or a message that already says all that,
 * passes as it is.
 */
export function blobFetchError(err: DriveError, hex: string, path: string): DriveError {
  if (err.code === 'aborted' || err.code === 'hash_mismatch') return err;
  const why = err.status ? `HTTP ${err.status} ${err.serverCode ?? err.code}` : err.code;
  const prefix = `blob ${hex}: `;
  const told = err.message.startsWith(prefix) ? err.message.slice(prefix.length) : err.message;
  return new DriveError(err.status, err.code, `blob ${hex} could not be fetched from ${path} (${why}): ${told}`, err.details, { cause: err, ...(err.serverCode !== undefined ? { serverCode: err.serverCode } : {}) });
}

export async function errorFromResponse(res: Response): Promise<DriveError> {
  return errorFromBody(res.status, res.statusText, await res.text().catch(() => ''));
}

/**
 * A DriveError from an error answer: the server's `{ error: { code, message, ... } }`
 * when the body is that JSON; a code the catalogue does not know (or none) is
 * 'http_error', the server's own kept as `serverCode`.
 */
export function errorFromBody(status: number, statusText: string, body: string): DriveError {
  let serverCode: string | undefined;
  let message = `${status} ${statusText}`.trim();
  let details: Record<string, unknown> = {};
  try {
    const parsed = JSON.parse(body) as { error?: { code?: string; message?: string } & Record<string, unknown> };
    if (parsed?.error) {
      const { code: c, message: m, ...rest } = parsed.error;
      if (typeof c === 'string') serverCode = c;
      if (typeof m === 'string') message = m;
      details = rest;
    }
  } catch {
    // not JSON
  }
  return new DriveError(status, isErrorCode(serverCode) ? serverCode : 'http_error', message, details, serverCode !== undefined ? { serverCode } : {});
}
