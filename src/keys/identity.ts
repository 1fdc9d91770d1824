/**
 * A person's identity: an Ed25519 key that signs manifests and an X25519 key
 * that secrets are sealed to. Kept on disk as one private JSON file (so that
 * writing it is a single atomic rename: a crash never leaves a new signing key
 * beside an old sealing key) plus a public file for convenience.
 */
import { chmod, mkdir, open, readFile, stat } from 'node:fs/promises';
import { writeFileAtomic } from '../util/atomic-write.ts';
import { join } from 'node:path';
import { fromB64, toB64 } from './b64.ts';
import { generateEd25519, keyIdOf, publicKeyFromSeed, type Ed25519KeyPair } from './ed25519.ts';
import { KeyError } from './errors.ts';
import { getSodium } from './sodium.ts';

export interface SealingKeyPair {
  /** 32-byte X25519 public key: what capture seals secrets to. */
  publicKey: Uint8Array;
  /** 32-byte X25519 private key. */
  privateKey: Uint8Array;
}

export interface Identity {
  signing: Ed25519KeyPair;
  sealing: SealingKeyPair;
  /** Lowercase hex sha256 of the Ed25519 public key (the manifests' `sig.key_id`). */
  keyId: string;
}

/** What a server stores and a verifier trusts: public keys only. */
export interface PublicIdentity {
  key_id: string;
  /** base64 of the 32-byte Ed25519 public key. */
  ed25519: string;
  /** base64 of the 32-byte X25519 public key. */
  x25519: string;
}

export const PRIVATE_FILE = 'identity.key';
export const PUBLIC_FILE = 'identity.pub.json';

export async function generateIdentity(): Promise<Identity> {
  const sodium = await getSodium();
  const signing = generateEd25519();
  const box = sodium.crypto_box_keypair();
  return { signing, sealing: { publicKey: box.publicKey, privateKey: box.privateKey }, keyId: keyIdOf(signing.publicKey) };
}

export function publicIdentity(id: Identity): PublicIdentity {
  return { key_id: id.keyId, ed25519: toB64(id.signing.publicKey), x25519: toB64(id.sealing.publicKey) };
}

export interface KeyParts {
  ed25519Seed: Uint8Array;
  ed25519Public: Uint8Array;
  x25519Private: Uint8Array;
  x25519Public: Uint8Array;
}

/**
 * Builds an Identity from stored parts, checking each public key against its
 * private key: a stored public key that does not match would make us sign or
 * advertise with a key we cannot use. Returns the problem as a string.
 */
export async function identityFromParts(p: KeyParts): Promise<Identity | string> {
  for (const [name, v] of Object.entries(p) as [string, Uint8Array][]) {
    if (v.length !== 32) return `${name} must be 32 bytes, got ${v.length}`;
  }
  if (!bytesEqual(publicKeyFromSeed(p.ed25519Seed), p.ed25519Public)) return 'the Ed25519 public key does not match the seed';
  const sodium = await getSodium();
  if (!bytesEqual(sodium.crypto_scalarmult_base(p.x25519Private), p.x25519Public)) return 'the X25519 public key does not match the private key';
  return {
    signing: { seed: p.ed25519Seed, publicKey: p.ed25519Public },
    sealing: { publicKey: p.x25519Public, privateKey: p.x25519Private },
    keyId: keyIdOf(p.ed25519Public),
  };
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);
}

// ---- files ----

interface PrivateFile {
  version: 1;
  key_id: string;
  ed25519_seed: string;
  ed25519_public: string;
  x25519_private: string;
  x25519_public: string;
}

export interface SavedIdentity {
  privatePath: string;
  publicPath: string;
}

/**
 * Writes `DIR/identity.key` (mode 0600) and `DIR/identity.pub.json` (0644) in
 * a directory made 0700. Refuses to replace an existing identity.key unless
 * `force`: the old key may be the only way to open secrets already sealed.
 */
export async function saveIdentity(dir: string, id: Identity, opts: { force?: boolean } = {}): Promise<SavedIdentity> {
  const privatePath = join(dir, PRIVATE_FILE);
  const publicPath = join(dir, PUBLIC_FILE);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const st = await stat(dir);
  if (!st.isDirectory()) throw new KeyError('identity_files', `${dir} is not a directory`, dir);
  // mkdir's mode does not apply to a directory that already existed (nor
  // escape the umask); private keys go in a directory only its owner can list.
  if ((st.mode & 0o777) !== 0o700) await chmod(dir, 0o700);
  if (!opts.force && (await exists(privatePath))) {
    throw new KeyError('identity_exists', `${privatePath} already exists; refusing to overwrite it (use --force to replace it)`, privatePath);
  }
  const priv: PrivateFile = {
    version: 1,
    key_id: id.keyId,
    ed25519_seed: toB64(id.signing.seed),
    ed25519_public: toB64(id.signing.publicKey),
    x25519_private: toB64(id.sealing.privateKey),
    x25519_public: toB64(id.sealing.publicKey),
  };
  // Private first: if we crash before the public file is replaced, loadIdentity
  // reports the stale public file instead of silently using mismatched keys.
  await writeAtomic(privatePath, JSON.stringify(priv, null, 2) + '\n', 0o600, !!opts.force);
  await writeAtomic(publicPath, JSON.stringify(publicIdentity(id), null, 2) + '\n', 0o644, true);
  return { privatePath, publicPath };
}

/** Reads and checks an identity written by saveIdentity. Errors: IDENTITY_FILES. */
export async function loadIdentity(dir: string): Promise<Identity> {
  const privatePath = join(dir, PRIVATE_FILE);
  function fail(why: string, file = privatePath): never {
    throw new KeyError('identity_files', `${file}: ${why}`, file);
  }
  let text: string;
  try {
    const fh = await open(privatePath, 'r');
    try {
      const mode = (await fh.stat()).mode & 0o777;
      // As ssh does: a private key others can read is refused, not used.
      if (mode & 0o077) fail(`private key file is accessible by group/others (mode 0${mode.toString(8)}); run chmod 600 on it`);
      text = await fh.readFile('utf8');
    } finally {
      await fh.close();
    }
  } catch (e) {
    if (e instanceof KeyError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') fail(`missing: no identity in ${dir} (create one with \`koder-snapshot keygen --out ${dir}\`)`);
    fail(`cannot read (${(e as Error).message})`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    fail('not valid JSON');
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return fail('expected a JSON object');
  const rec = data as Record<string, unknown>;
  if (rec.version !== 1) fail(`unsupported version ${JSON.stringify(rec.version)} (expected 1)`);
  const key = (name: keyof PrivateFile): Uint8Array => {
    const v = rec[name];
    const bytes = typeof v === 'string' ? fromB64(v) : undefined;
    if (!bytes) return fail(`${name}: expected base64`);
    if (bytes.length !== 32) return fail(`${name}: expected 32 bytes, got ${bytes.length}`);
    return bytes;
  };
  const id = await identityFromParts({
    ed25519Seed: key('ed25519_seed'),
    ed25519Public: key('ed25519_public'),
    x25519Private: key('x25519_private'),
    x25519Public: key('x25519_public'),
  });
  if (typeof id === 'string') return fail(id);
  if (rec.key_id !== id.keyId) fail('key_id does not match the Ed25519 public key');

  const publicPath = join(dir, PUBLIC_FILE);
  let pubText: string | undefined;
  try {
    pubText = await readFile(publicPath, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  // The public file is optional (derived), but one that disagrees means a
  // half-finished replacement or an edit: say so rather than publish it.
  if (pubText !== undefined) {
    const want = publicIdentity(id);
    let got: Partial<PublicIdentity> | undefined;
    try {
      got = JSON.parse(pubText) as Partial<PublicIdentity>;
    } catch {
      fail('not valid JSON', publicPath);
    }
    if (got?.key_id !== want.key_id || got.ed25519 !== want.ed25519 || got.x25519 !== want.x25519) {
      fail(`does not match ${PRIVATE_FILE} (delete it and run keygen again, or restore the matching key)`, publicPath);
    }
  }
  return id;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
}

/** Atomic write (src/util/atomic-write.ts); an existing file without `overwrite` is IDENTITY_EXISTS. */
async function writeAtomic(path: string, data: string, mode: number, overwrite: boolean): Promise<void> {
  try {
    await writeFileAtomic(path, data, { mode, overwrite });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new KeyError('identity_exists', `${path} already exists; refusing to overwrite it (use --force to replace it)`, path);
    }
    throw e;
  }
}
