/**
 * The provider's secrets, generated on first start and kept in the settings
 * table: an Ed25519 signing key (JWKS; access tokens and ID tokens are EdDSA
 * JWTs) and the keys that sign its cookies. Every process sharing the
 * database uses the same ones (the first to start makes them), so a token or
 * cookie from one is good on all.
 */
import { generateKeyPairSync, randomBytes, createHash } from 'node:crypto';
import type { JWK } from 'jose';
import { settingOnce } from '../db/open.ts';
import type { Database } from '../db/database.ts';

export interface ProviderSecrets {
  /** Private JWK set given to oidc-provider. */
  jwks: { keys: JWK[] };
  /** The same keys without their private parts (what /jwks publishes). */
  publicJwks: { keys: JWK[] };
  cookieKeys: string[];
}

export async function loadOrCreateSecrets(db: Database): Promise<ProviderSecrets> {
  const jwksText = await settingOnce(db, 'oidc.jwks', () => {
    const jwk = generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' }) as JWK;
    const kid = createHash('sha256').update(jwk.x!).digest('base64url').slice(0, 16);
    return JSON.stringify({ keys: [{ ...jwk, kid, alg: 'EdDSA', use: 'sig' }] });
  });
  const cookieText = await settingOnce(db, 'oidc.cookie_keys', () => JSON.stringify([randomBytes(32).toString('base64url')]));
  const jwks = JSON.parse(jwksText) as { keys: JWK[] };
  const publicJwks = { keys: jwks.keys.map(({ d: _d, ...pub }) => pub) };
  return { jwks, publicJwks, cookieKeys: JSON.parse(cookieText) as string[] };
}
