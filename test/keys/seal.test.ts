import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { generateIdentity } from '../../src/keys/identity.ts';
import { openSealed, seal } from '../../src/keys/seal.ts';
import { rejectsWith } from './helpers.ts';

describe('seal / openSealed', () => {
  test('round trip, including empty and large values', async () => {
    const id = await generateIdentity();
    for (const plain of [new Uint8Array(0), new TextEncoder().encode('machine example.com login me password hunter2'), new Uint8Array(1 << 20).fill(7)]) {
      const sealed = await seal(plain, id.sealing.publicKey);
      expect(sealed.length).toBe(plain.length + 48);
      expect(Buffer.from(await openSealed(sealed, id.sealing)).equals(plain)).toBe(true);
    }
  });

  test('round trip for random values (property)', async () => {
    const id = await generateIdentity();
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 300 }), async (plain) => {
        const opened = await openSealed(await seal(plain, id.sealing.publicKey), id.sealing);
        expect(Buffer.from(opened).equals(plain)).toBe(true);
      }),
      { numRuns: 100 },
    );
  });

  test('sealing twice gives different bytes (ephemeral key)', async () => {
    const id = await generateIdentity();
    const plain = new Uint8Array([1, 2, 3]);
    const a = await seal(plain, id.sealing.publicKey);
    const b = await seal(plain, id.sealing.publicKey);
    expect(Buffer.from(a).equals(b)).toBe(false);
  });

  test('every single-bit flip, anywhere, is refused with SEAL_OPEN_FAILED', async () => {
    const id = await generateIdentity();
    const sealed = await seal(new TextEncoder().encode('secret'), id.sealing.publicKey);
    for (let i = 0; i < sealed.length; i++) {
      for (const mask of [0x01, 0x80]) {
        const t = Uint8Array.from(sealed);
        t[i]! ^= mask;
        await rejectsWith(openSealed(t, id.sealing), 'seal_open_failed');
      }
    }
  });

  test('truncated, extended and empty inputs are refused', async () => {
    const id = await generateIdentity();
    const sealed = await seal(new TextEncoder().encode('secret'), id.sealing.publicKey);
    await rejectsWith(openSealed(sealed.subarray(0, sealed.length - 1), id.sealing), 'seal_open_failed');
    await rejectsWith(openSealed(new Uint8Array([...sealed, 0]), id.sealing), 'seal_open_failed');
    await rejectsWith(openSealed(new Uint8Array(0), id.sealing), 'seal_open_failed');
    await rejectsWith(openSealed(new Uint8Array(47), id.sealing), 'seal_open_failed');
  });

  test('another identity cannot open it', async () => {
    const alice = await generateIdentity();
    const mallory = await generateIdentity();
    const sealed = await seal(new TextEncoder().encode('secret'), alice.sealing.publicKey);
    await rejectsWith(openSealed(sealed, mallory.sealing), 'seal_open_failed');
    // Right public key but wrong private key, and the reverse.
    await rejectsWith(openSealed(sealed, { publicKey: alice.sealing.publicKey, privateKey: mallory.sealing.privateKey }), 'seal_open_failed');
    await rejectsWith(openSealed(sealed, { publicKey: mallory.sealing.publicKey, privateKey: alice.sealing.privateKey }), 'seal_open_failed');
  });

  test('a public key of the wrong length is a BAD_ARGUMENT', async () => {
    await rejectsWith(seal(new Uint8Array(1), new Uint8Array(31)), 'bad_argument');
  });
});
