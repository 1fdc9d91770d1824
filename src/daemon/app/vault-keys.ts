/**
 * The vault's slots from the app (src/keys/vault.ts: the box is never
 * re-encrypted, only the 32-byte vault key is wrapped anew):
 *  - change the passphrase: the slot the current one opens is replaced by a
 *    slot of the new one (other passphrase slots stay);
 *  - a new recovery key: a recovery slot is added and every older one
 *    removed, so the old key stops working; the new key is answered once,
 *    with its QR code, and kept nowhere.
 * Written with If-Match: a vault changed meanwhile (another computer) is a
 * conflict, never a lost update.
 */
import { fingerprint } from '../../keys/fingerprint.ts';
import { KeyError } from '../../keys/errors.ts';
import { addSlot, openVault, parseVault, removeSlot, type Vault } from '../../keys/vault.ts';
import { qrSvg } from '../../util/qr.ts';
import { CodedError } from '../../util/coded-error.ts';
import type { KeysInfo, RecoveryKeyView, SlotView } from './contract.ts';
import type { AppSession } from './session.ts';

/** A new passphrase must be at least this long. */
export const MIN_PASSPHRASE = 8;

const slotsOf = (v: Vault): SlotView[] => v.slots.map((x) => ({ id: x.id, kind: x.kind }));

async function vaultOf(s: AppSession): Promise<{ vault: Vault; etag: string }> {
  const stored = await (await s.client()).getVault();
  if (!stored) throw new CodedError('app_keys_not_ready', 'this account has no key vault yet: set up this computer first');
  return { vault: parseVault(stored.doc), etag: stored.etag };
}

export async function keysInfo(s: AppSession): Promise<KeysInfo> {
  const me = s.identity();
  const { vault } = await vaultOf(s);
  return { keyId: me.keyId, fingerprint: fingerprint(me.sealing.publicKey), slots: slotsOf(vault) };
}

function text(x: unknown, what: string): string {
  if (typeof x !== 'string' || x.length === 0) throw new CodedError('app_bad_request', `${what}: give it`);
  return x;
}

/** The passphrase slot `passphrase` opens (each is tried: one Argon2id run each). */
async function slotOpenedBy(vault: Vault, passphrase: string): Promise<string> {
  const candidates = vault.slots.filter((x) => x.kind === 'passphrase');
  if (!candidates.length) throw new KeyError('slot_not_found', 'this vault has no passphrase slot');
  for (const slot of candidates) {
    try {
      await openVault(vault, { passphrase, slotId: slot.id });
      return slot.id;
    } catch (e) {
      if (!(e instanceof KeyError) || e.code !== 'wrong_secret') throw e;
    }
  }
  throw new KeyError('wrong_secret', 'that passphrase does not open your vault');
}

export async function changePassphrase(s: AppSession, body: { current?: unknown; next?: unknown }): Promise<{ slots: SlotView[] }> {
  const current = text(body?.current, 'current');
  const next = text(body?.next, 'next');
  if (next.length < MIN_PASSPHRASE) throw new CodedError('app_bad_request', `next: at least ${MIN_PASSPHRASE} characters`);
  if (next === current) throw new CodedError('app_bad_request', 'next: the same as the current one');
  const { vault, etag } = await vaultOf(s);
  const old = await slotOpenedBy(vault, current);
  const added = await addSlot(vault, { passphrase: current, slotId: old }, { kind: 'passphrase', passphrase: next, ...(s.cfg.kdf ? { kdf: s.cfg.kdf } : {}) });
  const out = removeSlot(added.vault, old);
  await (await s.client()).putVault(out, etag);
  s.bump();
  return { slots: slotsOf(out) };
}

export async function newRecoveryKey(s: AppSession, body: { passphrase?: unknown }): Promise<RecoveryKeyView & { slots: SlotView[] }> {
  const passphrase = text(body?.passphrase, 'passphrase');
  const { vault, etag } = await vaultOf(s);
  const opened = await slotOpenedBy(vault, passphrase);
  const added = await addSlot(vault, { passphrase, slotId: opened }, { kind: 'recovery' });
  let out = added.vault;
  for (const old of vault.slots.filter((x) => x.kind === 'recovery')) out = removeSlot(out, old.id);
  await (await s.client()).putVault(out, etag);
  s.bump();
  return { recoveryKey: added.recoveryKey!, qrSvg: qrSvg(added.recoveryKey!), slots: slotsOf(out) };
}
