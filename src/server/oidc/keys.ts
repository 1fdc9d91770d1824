/**
 * The provider's secrets, generated on first start and kept in the settings
 * table: an Ed25519 signing key (JWKS; access tokens and ID tokens are EdDSA
 * JWTs) and the keys that sign its cookies.
 */
import { generateKeyPairSync, randomBytes, createHash } from 'node:crypto';
import type { JWK } from 'jose';
import { getSetting, setSetting, type Db } from '../db/open.ts';

export interface ProviderSecrets {
  /** Private JWK set given to oidc-provider. */
  jwks: { keys: JWK[] };
  /** The same keys without their private parts (what /jwks publishes). */
  publicJwks: { keys: JWK[] };
  cookieKeys: string[];
}

export function loadOrCreateSecrets(db: Db): ProviderSecrets {
  let jwksText = getSetting(db, 'oidc.jwks');
  if (!jwksText) {
    const jwk = generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' }) as JWK;
    const kid = createHash('sha256').update(jwk.x!).digest('base64url').slice(0, 16);
    jwksText = JSON.stringify({ keys: [{ ...jwk, kid, alg: 'EdDSA', use: 'sig' }] });
    setSetting(db, 'oidc.jwks', jwksText);
  }
  let cookieText = getSetting(db, 'oidc.cookie_keys');
  if (!cookieText) {
    cookieText = JSON.stringify([randomBytes(32).toString('base64url')]);
    setSetting(db, 'oidc.cookie_keys', cookieText);
  }
  const jwks = JSON.parse(jwksText) as { keys: JWK[] };
  const publicJwks = { keys: jwks.keys.map(({ d: _d, ...pub }) => pub) };
  return { jwks, publicJwks, cookieKeys: JSON.parse(cookieText) as string[] };
}
