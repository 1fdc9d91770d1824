/**
 * First run on a machine (`koder-snapshot init`):
 *
 *   the account has no vault      → an identity (this machine's, if it has
 *                                    one, else a new one) is written to the
 *                                    identity folder, sealed into a vault
 *                                    with a passphrase slot AND a recovery
 *                                    slot, the public keys and the vault are
 *                                    uploaded; the recovery key is returned
 *                                    once, to be shown once
 *   the vault holds this identity → nothing to do (the key is registered)
 *   the vault holds another one,
 *     and this machine has none   → the vault is opened with the passphrase
 *                                    and its identity written here (a second
 *                                    machine of the same person signs and
 *                                    seals with the same keys)
 *     and this machine has one    → refused (init_conflict) unless `force`:
 *                                    then a new identity and vault replace
 *                                    both (secrets sealed before can no
 *                                    longer be opened)
 *
 * The identity is saved before anything is uploaded: if the upload fails,
 * running init again finds it and uploads it. The passphrase and the
 * recovery key are never stored.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { DriveClient } from '../drive/client.ts';
import { generateIdentity, loadIdentity, PRIVATE_FILE, publicIdentity, saveIdentity, type Identity } from '../keys/identity.ts';
import { createVault, openVault, parseVault, type KdfStrength } from '../keys/vault.ts';
import { CaptureError } from './errors.ts';

export interface InitOptions {
  client: DriveClient;
  identityDir: string;
  /** A new passphrase (the CLI asks twice on a terminal). */
  newPassphrase: () => Promise<string>;
  /** The passphrase of the vault already on the account. */
  existingPassphrase: () => Promise<string>;
  force?: boolean;
  kdf?: KdfStrength;
}

export type InitResult =
  | { kind: 'created'; keyId: string; recoveryKey: string; newIdentity: boolean }
  | { kind: 'already'; keyId: string }
  | { kind: 'fetched'; keyId: string };

async function localIdentity(dir: string): Promise<Identity | undefined> {
  try {
    await stat(join(dir, PRIVATE_FILE));
  } catch {
    return undefined;
  }
  return loadIdentity(dir);
}

export async function initIdentity(o: InitOptions): Promise<InitResult> {
  const { client } = o;
  const local = await localIdentity(o.identityDir);
  const stored = await client.getVault();
  const vault = stored ? parseVault(stored.doc) : undefined;

  if (vault && local && vault.key_id === local.keyId && !o.force) {
    await client.addKey(publicIdentity(local));
    return { kind: 'already', keyId: local.keyId };
  }
  if (vault && !o.force) {
    if (local) {
      throw new CaptureError(
        'init_conflict',
        `this machine's identity (${local.keyId.slice(0, 16)}…, in ${o.identityDir}) is not the one in your account's vault (${vault.key_id.slice(0, 16)}…): ` +
          `move ${o.identityDir} away to use the account's identity here, or run init --force to replace the account's (secrets sealed to it will no longer open)`,
      );
    }
    const identity = await openVault(vault, { passphrase: await o.existingPassphrase() });
    await saveIdentity(o.identityDir, identity);
    await client.addKey(publicIdentity(identity));
    return { kind: 'fetched', keyId: identity.keyId };
  }

  const newIdentity = !local || !!o.force;
  const identity = newIdentity ? await generateIdentity() : local!;
  const passphrase = await o.newPassphrase();
  const made = await createVault(identity, { passphrase, recovery: true, ...(o.kdf ? { kdf: o.kdf } : {}) });
  if (newIdentity) await saveIdentity(o.identityDir, identity, { force: !!o.force });
  await client.addKey(publicIdentity(identity));
  await client.putVault(made.vault, stored?.etag);
  return { kind: 'created', keyId: identity.keyId, recoveryKey: made.recoveryKey!, newIdentity };
}
