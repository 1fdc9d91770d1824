/** The identity the CLI signs and unlocks with: `--identity DIR`, else the config's `snapshot.identity`. */
import { expandHome, loadConfig } from '../capture/index.ts';
import { loadIdentity, type Identity } from '../keys/identity.ts';
import { CodedError } from '../util/coded-error.ts';

export async function identityDir(o: { identity?: string; config?: string } = {}): Promise<string> {
  if (o.identity) return expandHome(o.identity, process.env.HOME ?? '/');
  const { config } = await loadConfig(o.config ? { file: o.config } : {});
  return expandHome(config.snapshot.identity, process.env.HOME ?? '/');
}

/** No identity to sign or unlock with (code `no_identity`). */
export class NoIdentityError extends CodedError {
  override name = 'NoIdentityError';
  declare readonly code: 'no_identity';
  constructor(message: string) {
    super('no_identity', message);
  }
}

export async function loadMyIdentity(o: { identity?: string; config?: string } = {}): Promise<Identity> {
  const dir = await identityDir(o);
  try {
    return await loadIdentity(dir);
  } catch (e) {
    throw new NoIdentityError(`no identity in ${dir} (${(e as Error).message}); run \`koder-snapshot init\` first`);
  }
}

export { fingerprint } from '../keys/fingerprint.ts';
