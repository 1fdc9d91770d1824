/**
 * One Argon2id derivation, in a thread of its own (argon2.ts): libsodium's
 * WebAssembly memory grows to the KDF's memlimit (256 MiB by default) and
 * never shrinks, so the thread that grew it ends with the derivation and
 * takes that memory with it.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { getSodium } from './sodium.ts';
import type { Argon2Job, Argon2Reply } from './argon2.ts';

const job = workerData as Argon2Job;
// No top-level await: in the source tree a worker is loaded as CommonJS (util/worker-thread.ts).
void getSodium().then(
  (s) => {
    let reply: Argon2Reply;
    try {
      // A copy of its own (not a view of the WebAssembly memory), so that it can be handed over.
      const key = new Uint8Array(s.crypto_pwhash(job.bytes, job.password, job.salt, job.opslimit, job.memlimit, s.crypto_pwhash_ALG_ARGON2ID13));
      reply = { key };
    } catch (e) {
      reply = { error: (e as Error).message };
    }
    parentPort!.postMessage(reply, 'key' in reply ? [reply.key.buffer as ArrayBuffer] : []);
  },
  (e: unknown) => parentPort!.postMessage({ error: (e as Error).message } satisfies Argon2Reply),
);
