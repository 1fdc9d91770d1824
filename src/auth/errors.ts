/**
 * Typed errors of the login layer: an AuthError (a CodedError,
 * util/coded-error.ts) with one of the codes below.
 */
import { CodedError } from '../util/coded-error.ts';

export type AuthErrorCode =
  | 'insecure_url' // plain http to a non-loopback host
  | 'oidc_discovery' // the server's OpenID configuration could not be read
  | 'not_logged_in' // no token file for this server
  | 'refresh_failed' // the refresh token was refused (log in again)
  | 'device_start'; // the device authorization request failed

export class AuthError extends CodedError {
  override name = 'AuthError';
  declare readonly code: AuthErrorCode;
  constructor(code: AuthErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, {}, options);
  }
}
