/**
 * Every failure of the drive client is a DriveError: `status` is the HTTP
 * status (0 when no response came), `code` the server's error code (or one of
 * ours: 'network', 'hash_mismatch', 'insecure_url', 'aborted').
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

export async function errorFromResponse(res: Response): Promise<DriveError> {
  let code = `http_${res.status}`;
  let message = `${res.status} ${res.statusText}`;
  let details: Record<string, unknown> = {};
  try {
    const body = (await res.json()) as { error?: { code?: string; message?: string } & Record<string, unknown> };
    if (body?.error) {
      const { code: c, message: m, ...rest } = body.error;
      if (typeof c === 'string') code = c;
      if (typeof m === 'string') message = m;
      details = rest;
    }
  } catch {
    // not JSON
  }
  return new DriveError(res.status, code, message, details);
}
