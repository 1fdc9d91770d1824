/** Typed errors of the login layer; `code` is stable for callers to switch on. */
export type AuthErrorCode =
  | 'INSECURE_URL' // plain http to a non-loopback host
  | 'DISCOVERY' // the server's OpenID configuration could not be read
  | 'NOT_LOGGED_IN' // no token file for this server
  | 'REFRESH_FAILED' // the refresh token was refused (log in again)
  | 'DEVICE_START'; // the device authorization request failed

export class AuthError extends Error {
  override name = 'AuthError';
  constructor(
    readonly code: AuthErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
