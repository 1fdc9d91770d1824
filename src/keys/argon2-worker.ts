/**
 * One Argon2id derivation, in a thread of its own (argon2.ts): libsodium's
 * WebAssembly memory grows to the KDF's memlimit (256 MiB by default) and
 * never shrinks, so the thread that grew it ends with the derivation and
 * takes that memory with it.
 */
import { answerJob } from '../util/worker-thread.ts';
import { getSodium } from './sodium.ts';
import type { Argon2Job } from './argon2.ts';

answerJob(
  async (job: Argon2Job) => {
    const s = await getSodium();
    // A copy of its own (not a view of the WebAssembly memory), so that it can be handed over.
    return new Uint8Array(s.crypto_pwhash(job.bytes, job.password, job.salt, job.opslimit, job.memlimit, s.crypto_pwhash_ALG_ARGON2ID13));
  },
  (key) => [key.buffer as ArrayBuffer],
);
