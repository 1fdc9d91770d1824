/**
 * Every failure of the drive client is a DriveError: `status` is the HTTP
 * status (0 when no response came), `code` the server's error code (or one of
 * ours: 'network', 'hash_mismatch', 'insecure_url', 'aborted', 'invalid_path_segment').
 */
export class DriveError extends Error {
  override name = 'DriveError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

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
  const why = err.status ? `HTTP ${err.status} ${err.code}` : err.code;
  const prefix = `blob ${hex}: `;
  const told = err.message.startsWith(prefix) ? err.message.slice(prefix.length) : err.message;
  return new DriveError(err.status, err.code, `blob ${hex} could not be fetched from ${path} (${why}): ${told}`, err.details, { cause: err });
}

export async function errorFromResponse(res: Response): Promise<DriveError> {
  return errorFromBody(res.status, res.statusText, await res.text().catch(() => ''));
}

/** A DriveError from an error answer: the server's `{ error: { code, message, ... } }` when the body is that JSON. */
export function errorFromBody(status: number, statusText: string, body: string): DriveError {
  let code = `http_${status}`;
  let message = `${status} ${statusText}`.trim();
  let details: Record<string, unknown> = {};
  try {
    const parsed = JSON.parse(body) as { error?: { code?: string; message?: string } & Record<string, unknown> };
    if (parsed?.error) {
      const { code: c, message: m, ...rest } = parsed.error;
      if (typeof c === 'string') code = c;
      if (typeof m === 'string') message = m;
      details = rest;
    }
  } catch {
    // not JSON
  }
  return new DriveError(status, code, message, details);
}
