/**
 * What an export folder holds (a local repository of one account's
 * snapshots, for restores without the network), and the strict readers of
 * its two small documents. Pure: no disk.
 *
 * ```
 * DIR/koder-export.json     the index: format, account, the exported snapshots (newest first)
 * DIR/keys.json             the account's public keys, signed by the identity its vault holds
 * DIR/vault.json            the key vault (as on the server: opened by the passphrase or recovery key)
 * DIR/manifests/<id>.kvg    every link of every exported chain, signed
 * DIR/blobs/<hex>           packs, tree roots, archives, bundles, keyrings — by address
 * DIR/debs/                 with --with-debs (debs.ts): the .deb files and the archive's
 *                           signed indexes they are checked against
 * ```
 *
 * Trust: nothing in the folder is believed for itself. Manifests are
 * checked against keys.json (signature and chain), keys.json against the
 * identity the vault opens (its own signature), the vault opens only with
 * the person's secret, packs and tree objects authenticate per chunk, other
 * blobs hash to their address. A drive found on the street gives nothing
 * without the secret, and an altered file is refused.
 */
import { fromB64, toB64 } from '../keys/b64.ts';
import { ed25519Sign, ed25519Verify, keyIdOf } from '../keys/ed25519.ts';
import type { Identity, PublicIdentity } from '../keys/identity.ts';
import { jcs } from '../manifest/index.ts';
import { CodedError } from '../util/coded-error.ts';

export const INDEX_FILE = 'koder-export.json';
export const KEYS_FILE = 'keys.json';
export const VAULT_FILE = 'vault.json';
export const MANIFESTS_DIR = 'manifests';
export const BLOBS_DIR = 'blobs';
export const DEBS_DIR = 'debs';

export interface ExportedSnapshot {
  id: string;
  hostname: string;
  created_at: string;
  /** Ids from the root to this snapshot. */
  chain: string[];
  /** Bytes of the blobs its folded manifest needs. */
  bytes: number;
  /** ms since epoch. */
  exported_at: number;
  /** The .debs of its apt packages are in debs/ (export --with-debs). */
  debs?: boolean;
}

export interface ExportIndex {
  format: 'koder-export';
  version: 1;
  /** The account's user id. */
  user: string;
  /** The server it was exported from (informative). */
  server: string;
  /** Newest first. */
  snapshots: ExportedSnapshot[];
}

export interface KeysDoc {
  version: 1;
  user: string;
  keys: PublicIdentity[];
  /** key_id of the identity that signed, and its Ed25519 signature (base64) over the JCS of {version, user, keys}. */
  signed_by: string;
  sig: string;
}

const HEX64 = /^[0-9a-f]{64}$/;
const isObj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

function bad(where: string, why: string): CodedError {
  return new CodedError('export_format', `${where}: ${why}`, { where });
}

function json(text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw bad(where, `not JSON (${(e as Error).message})`);
  }
}

/** The index, every field checked. */
export function parseIndex(text: string, where = INDEX_FILE): ExportIndex {
  const x = json(text, where);
  if (!isObj(x) || x.format !== 'koder-export') throw bad(where, 'not a Koder Snapshots export');
  if (x.version !== 1) throw bad(where, `version ${String(x.version)} is not one this program reads (1)`);
  if (typeof x.user !== 'string' || !x.user) throw bad(where, 'no user');
  if (typeof x.server !== 'string') throw bad(where, 'no server');
  if (!Array.isArray(x.snapshots)) throw bad(where, 'no snapshots list');
  const snapshots = x.snapshots.map((s: unknown, i: number): ExportedSnapshot => {
    const at = `${where} snapshots[${i}]`;
    if (!isObj(s)) throw bad(at, 'not an object');
    if (typeof s.id !== 'string' || !HEX64.test(s.id)) throw bad(at, 'id is not a snapshot id');
    if (typeof s.hostname !== 'string' || typeof s.created_at !== 'string') throw bad(at, 'hostname or created_at missing');
    if (!Array.isArray(s.chain) || !s.chain.length || !s.chain.every((c) => typeof c === 'string' && HEX64.test(c)) || s.chain.at(-1) !== s.id) throw bad(at, 'chain is not a list of ids ending with the snapshot');
    if (typeof s.bytes !== 'number' || typeof s.exported_at !== 'number') throw bad(at, 'bytes or exported_at missing');
    return { id: s.id, hostname: s.hostname, created_at: s.created_at, chain: s.chain as string[], bytes: s.bytes, exported_at: s.exported_at, ...(s.debs === true ? { debs: true } : {}) };
  });
  return { format: 'koder-export', version: 1, user: x.user, server: x.server, snapshots };
}

const signedPart = (d: Pick<KeysDoc, 'version' | 'user' | 'keys'>) => new TextEncoder().encode(jcs({ version: d.version, user: d.user, keys: d.keys }));

/** The account's public keys, signed by `identity` (the one its vault holds). */
export function signKeys(user: string, keys: PublicIdentity[], identity: Identity): KeysDoc {
  const doc = { version: 1 as const, user, keys };
  return { ...doc, signed_by: identity.keyId, sig: toB64(ed25519Sign(identity.signing.seed, signedPart(doc))) };
}

/** keys.json read (not yet trusted: `trustKeys` does that once the vault is open). */
export function parseKeys(text: string, where = KEYS_FILE): KeysDoc {
  const x = json(text, where);
  if (!isObj(x) || x.version !== 1 || typeof x.user !== 'string' || !Array.isArray(x.keys) || typeof x.signed_by !== 'string' || typeof x.sig !== 'string') throw bad(where, 'not a signed key list');
  const keys = x.keys.map((k: unknown, i: number): PublicIdentity => {
    if (!isObj(k) || typeof k.key_id !== 'string' || typeof k.ed25519 !== 'string' || typeof k.x25519 !== 'string') throw bad(`${where} keys[${i}]`, 'not a public key');
    const raw = fromB64(k.ed25519);
    if (!raw || raw.length !== 32 || keyIdOf(raw) !== k.key_id) throw bad(`${where} keys[${i}]`, 'the key does not match its key_id');
    return { key_id: k.key_id, ed25519: k.ed25519, x25519: k.x25519 };
  });
  return { version: 1, user: x.user, keys, signed_by: x.signed_by, sig: x.sig };
}

/** The Ed25519 public keys of the list (to check the chains against). */
export function verifyingKeys(doc: KeysDoc): Uint8Array[] {
  return doc.keys.map((k) => fromB64(k.ed25519)!);
}

/**
 * Trusts the key list: it must be signed by `identity` (the one the
 * person's secret opened from the vault) and list it. Throws
 * `export_keys_unsigned` (a verification failure) otherwise.
 */
export function trustKeys(doc: KeysDoc, identity: Identity, user: string): void {
  const sig = fromB64(doc.sig);
  const ok = doc.user === user && doc.signed_by === identity.keyId && sig !== undefined && ed25519Verify(identity.signing.publicKey, signedPart(doc), sig) && doc.keys.some((k) => k.key_id === identity.keyId);
  if (!ok) throw new CodedError('export_keys_unsigned', `${KEYS_FILE} is not signed by the identity this vault opens: the export was altered (or mixes two accounts); nothing of it is used`);
}
