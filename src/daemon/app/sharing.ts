/**
 * Sharing from the app, as `koder-snapshot share` does it: the snapshot's
 * chain is granted read-only to another Koder ID user (by user name), and
 * its data v2 tree keys — that snapshot's only, never the account's — are
 * sealed to their X25519 public key (src/store/share-keys.ts). The app shows
 * that key's fingerprint (src/keys/fingerprint.ts) for the person to compare
 * with what the other one's app shows. Revoking stops further reads (their
 * server answers 404); what they already fetched cannot be taken back.
 */
import { fingerprint } from '../../keys/fingerprint.ts';
import { sealShareKeys, treeKeysOf } from '../../store/share-keys.ts';
import { CodedError } from '../../util/coded-error.ts';
import type { ShareView, UserLookup } from './contract.ts';
import type { AppSession } from './session.ts';
import { checkId } from './snapshots.ts';

function checkUser(name: unknown): string {
  if (typeof name !== 'string' || !/^[A-Za-z0-9._-]{1,64}$/.test(name)) throw new CodedError('app_bad_request', 'user: a Koder ID user name (letters, digits, . _ -)');
  return name;
}

export async function lookupUser(s: AppSession, name: string): Promise<UserLookup> {
  const them = await (await s.client()).lookupUser(checkUser(name));
  const key = them.keys[0];
  return { name: them.name, ...(key ? { fingerprint: fingerprint(new Uint8Array(Buffer.from(key.x25519, 'base64'))) } : {}) };
}

async function mine(s: AppSession, id: string): Promise<void> {
  if (!(await (await s.client()).listSnapshots()).some((x) => x.id === id)) throw new CodedError('app_share_not_owner', 'only its owner shares a snapshot (this one is not yours)');
}

export async function shareSnapshot(s: AppSession, id: string, user: unknown): Promise<{ user: string; created: boolean; fingerprint?: string }> {
  checkId(id);
  const name = checkUser(user);
  await mine(s, id);
  const c = await s.client();
  const { folded } = await s.chains.get(id, undefined);
  const keys = treeKeysOf(folded, s.identity());
  let sealed: string | undefined;
  let print: string | undefined;
  if (keys.size) {
    const key = (await c.lookupUser(name)).keys[0];
    if (!key) throw new CodedError('app_recipient_without_key', `${name} has no public key yet: they sign in to their Backup app (or run \`koder-snapshot init\`) once, then share again`);
    const x25519 = new Uint8Array(Buffer.from(key.x25519, 'base64'));
    print = fingerprint(x25519);
    sealed = await sealShareKeys(id, keys, x25519);
  }
  const r = await c.share(id, name, sealed);
  s.bump();
  return { user: name, created: r.created, ...(print ? { fingerprint: print } : {}) };
}

export async function sharesOf(s: AppSession, id: string): Promise<{ shares: ShareView[] }> {
  checkId(id);
  const shares = await (await s.client()).sharesOf(id);
  return { shares: shares.map((x) => ({ user: x.user, sharedAt: x.shared_at })) };
}

export async function revokeShare(s: AppSession, id: string, user: string): Promise<{ revoked: boolean }> {
  checkId(id);
  await (await s.client()).unshare(id, checkUser(user));
  s.bump();
  return { revoked: true };
}
