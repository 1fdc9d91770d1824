/**
 * Who is calling the API: `Authorization: Bearer <JWT access token>` issued by
 * our provider for the API resource, verified with jose against the
 * provider's public JWKS (EdDSA): issuer, audience (the resource indicator),
 * `typ: at+jwt`, expiry, the `snapshots` scope; then the subject must still be
 * an account. Anything else → 401 (with a WWW-Authenticate Bearer challenge).
 */
import type { IncomingMessage } from 'node:http';
import { createLocalJWKSet, errors as joseErrors, jwtVerify, type JSONWebKeySet } from 'jose';
import type { Database } from './db/database.ts';
import { UnauthorizedError } from './errors.ts';
import { findUser, type User } from './users.ts';
import { API_SCOPE } from './oidc/provider.ts';

export type Authenticate = (req: IncomingMessage) => Promise<User>;

export function bearerAuthenticator(o: { db: Database; issuer: string; resource: string; jwks: JSONWebKeySet }): Authenticate {
  const keys = createLocalJWKSet(o.jwks);
  return async (req) => {
    const h = req.headers.authorization;
    const m = h ? /^Bearer\s+([A-Za-z0-9._~+/-]+=*)\s*$/i.exec(h) : null;
    if (!m) throw new UnauthorizedError('authentication required');
    let payload;
    try {
      ({ payload } = await jwtVerify(m[1]!, keys, {
        issuer: o.issuer,
        audience: o.resource,
        typ: 'at+jwt',
        algorithms: ['EdDSA', 'Ed25519'],
        requiredClaims: ['sub', 'exp'],
      }));
    } catch (e) {
      const msg = e instanceof joseErrors.JWTExpired ? 'access token expired' : 'invalid access token';
      throw new UnauthorizedError(msg, 'invalid_token');
    }
    const scopes = String(payload.scope ?? '').split(' ');
    if (!scopes.includes(API_SCOPE)) throw new UnauthorizedError(`access token lacks the '${API_SCOPE}' scope`, 'insufficient_scope');
    const user = await findUser(o.db, payload.sub!);
    if (!user) throw new UnauthorizedError('account no longer exists', 'invalid_token');
    return user;
  };
}
