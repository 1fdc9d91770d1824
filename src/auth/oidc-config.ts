/** openid-client configuration for a Koder ID server (discovery, public client, EdDSA ID tokens). */
import * as client from 'openid-client';
import { AuthError } from './errors.ts';
import { checkServerUrl } from './secure-url.ts';

export const DEFAULT_CLIENT_ID = 'koder-installer';
export const DEFAULT_SCOPE = 'openid profile offline_access snapshots';

export async function discover(server: string, clientId = DEFAULT_CLIENT_ID): Promise<client.Configuration> {
  const url = checkServerUrl(server);
  try {
    return await client.discovery(url, clientId, { id_token_signed_response_alg: 'EdDSA' }, client.None(), {
      execute: url.protocol === 'http:' ? [client.allowInsecureRequests] : [],
      timeout: 30,
    });
  } catch (e) {
    throw new AuthError('oidc_discovery', `cannot read the OpenID configuration of ${url.origin}: ${(e as Error).message}`, { cause: e });
  }
}
