/**
 * Argon2id (libsodium's crypto_pwhash) for the key vault. A derivation with
 * much memory runs in a short-lived worker thread (argon2-worker.ts):
 * libsodium's WebAssembly memory only grows, and a 256 MiB derivation in
 * the calling thread kept the process 266 MiB larger for the rest of its
 * life — a whole restore in the installer, or the daemon. Small ones (the
 * tests' 'min') run here.
 */
import { oneJob } from '../util/worker-thread.ts';
import { getSodium } from './sodium.ts';

export interface Argon2Job {
  bytes: number;
  password: Uint8Array;
  salt: Uint8Array;
  opslimit: number;
  memlimit: number;
}

/** Up to this much memory the derivation runs in the calling thread. */
const INLINE_MAX = 16 * 1024 * 1024;

export async function argon2id(job: Argon2Job): Promise<Uint8Array> {
  if (job.memlimit <= INLINE_MAX) {
    const s = await getSodium();
    return s.crypto_pwhash(job.bytes, job.password, job.salt, job.opslimit, job.memlimit, s.crypto_pwhash_ALG_ARGON2ID13);
  }
  return new Uint8Array(await oneJob<Uint8Array>('argon2-worker', job));
}
