/**
 * The one place that loads libsodium. It must be the *sumo* build: the plain
 * `libsodium-wrappers` type-checks `crypto_pwhash` but has no such function at
 * run time, and the key vault needs it (Argon2id).
 */
import sodium from 'libsodium-wrappers-sumo';

export type Sodium = typeof sodium;

/** libsodium, after its WebAssembly module is ready (awaiting again is free). */
export async function getSodium(): Promise<Sodium> {
  await sodium.ready;
  return sodium;
}
