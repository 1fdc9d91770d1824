/**
 * The keys that open a snapshot's data v2 trees from the CLI: my identity
 * (the local identity file, or my vault on the server opened with
 * --passphrase-stdin / --recovery-key-stdin / --ask-passphrase), and for a
 * snapshot shared with me, the tree keys the share sealed to me.
 */
import type { DriveClient } from '../drive/client.ts';
import type { Identity } from '../keys/identity.ts';
import { openVault } from '../keys/vault.ts';
import { openShareKeys } from '../store/share-keys.ts';
import type { TreeKeys } from '../store/snapshot-files.ts';
import { CodedError } from '../util/coded-error.ts';
import type { Io } from './command.ts';
import { loadMyIdentity, NoIdentityError } from './identity.ts';
import { firstLineOfStdin, promptHidden } from './prompt.ts';

export const SECRET_OPTIONS = {
  identity: { type: 'string' },
  'passphrase-stdin': { type: 'boolean' },
  'recovery-key-stdin': { type: 'boolean' },
  'ask-passphrase': { type: 'boolean' },
} as const;

export const SECRET_USAGE = `  --identity DIR           my identity (default: the config's snapshot.identity)
  --passphrase-stdin       or open my vault on the server: passphrase from standard input
  --recovery-key-stdin     … or the recovery key from standard input
  --ask-passphrase         … or the passphrase asked on the terminal`;

export interface SecretValues {
  identity?: string;
  'passphrase-stdin'?: boolean;
  'recovery-key-stdin'?: boolean;
  'ask-passphrase'?: boolean;
}

/** My identity: from the vault when a secret was given, else the local identity file. */
export async function myIdentity(client: DriveClient, v: SecretValues, io: Io): Promise<Identity> {
  let unlock: { passphrase: string } | { recoveryKey: string } | undefined;
  if (v['passphrase-stdin']) unlock = { passphrase: await firstLineOfStdin(io) };
  else if (v['recovery-key-stdin']) unlock = { recoveryKey: await firstLineOfStdin(io) };
  else if (v['ask-passphrase']) unlock = { passphrase: await promptHidden('Vault passphrase: ', '--passphrase-stdin') };
  if (unlock) {
    const stored = await client.getVault();
    if (!stored) throw new CodedError('data_keys_locked', 'this account has no key vault on the server (run `koder-snapshot init` on the machine that captures)');
    return openVault(stored.doc as Parameters<typeof openVault>[0], unlock);
  }
  try {
    return await loadMyIdentity(v.identity ? { identity: v.identity } : {});
  } catch (e) {
    if (e instanceof NoIdentityError) throw new CodedError('data_keys_locked', `${e.message}; or give --ask-passphrase / --passphrase-stdin to open your vault`);
    throw e;
  }
}

export async function treeKeysFor(client: DriveClient, snapshotId: string, owner: string | undefined, v: SecretValues, io: Io): Promise<TreeKeys> {
  const me = await myIdentity(client, v, io);
  if (!owner) return { seed: me.signing.seed };
  const sealed = await client.shareKeys(owner, snapshotId);
  return { shared: sealed ? await openShareKeys(sealed, snapshotId, me.sealing) : new Map() };
}
