/**
 * Argon2id off the calling thread (src/keys/argon2.ts): the same key as
 * libsodium in this thread, and the KDF's memory gone with its thread — a
 * 256 MiB derivation in the calling thread kept the process 266 MiB larger
 * for the rest of its life (a whole restore in the installer).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { argon2id } from '../../src/keys/argon2.ts';
import { getSodium } from '../../src/keys/sodium.ts';
import { createVault, openVault } from '../../src/keys/vault.ts';
import { generateIdentity } from '../../src/keys/identity.ts';

const rssMiB = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))![1]) / 1024;

describe('Argon2id in its own thread', () => {
  it('gives the key libsodium gives in this thread', async () => {
    const s = await getSodium();
    const job = { bytes: 32, password: new TextEncoder().encode('correct horse'), salt: new Uint8Array(16).fill(7), opslimit: 1, memlimit: 32 * 1024 * 1024 };
    const here = s.crypto_pwhash(32, job.password, job.salt, 1, job.memlimit, s.crypto_pwhash_ALG_ARGON2ID13);
    expect(Buffer.from(await argon2id(job)).equals(Buffer.from(here))).toBe(true);
    // Another password, another key (the worker really derives it).
    expect(Buffer.from(await argon2id({ ...job, password: new TextEncoder().encode('wrong horse') })).equals(Buffer.from(here))).toBe(false);
  });

  it("a vault with the default KDF (256 MiB) opens, and the process keeps none of the KDF's memory", async () => {
    const identity = await generateIdentity();
    await getSodium();
    const before = rssMiB();
    const { vault } = await createVault(identity, { passphrase: 'a long passphrase', kdf: 'moderate' });
    const opened = await openVault(vault, { passphrase: 'a long passphrase' });
    expect(opened.keyId).toBe(identity.keyId);
    await new Promise((r) => setTimeout(r, 100)); // a thread's memory goes once it has exited
    // In this thread it was +266 MiB, for good.
    expect(rssMiB() - before).toBeLessThan(64);
  }, 60_000);
});
