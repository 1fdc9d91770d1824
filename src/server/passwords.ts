/**
 * User password hashes: Argon2id via libsodium's `crypto_pwhash_str` (the
 * encoded string carries its own salt and cost), verified in constant time by
 * `crypto_pwhash_str_verify`.
 */
import sodium from 'libsodium-wrappers-sumo';

let ready: Promise<void> | undefined;
async function lib() {
  ready ??= sodium.ready;
  await ready;
  return sodium;
}

export async function hashPassword(password: string): Promise<string> {
  const s = await lib();
  return s.crypto_pwhash_str(password, s.crypto_pwhash_OPSLIMIT_INTERACTIVE, s.crypto_pwhash_MEMLIMIT_INTERACTIVE);
}

export async function verifyPassword(hash: string, password: string): Promise<boolean> {
  const s = await lib();
  try {
    return s.crypto_pwhash_str_verify(hash, password);
  } catch {
    return false;
  }
}

let dummy: Promise<string> | undefined;
/** Spends the same time as a real verification (unknown user names). */
export async function burnVerify(password: string): Promise<false> {
  dummy ??= hashPassword('koder-dummy-password');
  await verifyPassword(await dummy, password);
  return false;
}
