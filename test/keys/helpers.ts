/** Small helpers shared by the keys tests. */
import { expect } from 'vitest';
import { KeyError, type KeyErrorCode } from '../../src/keys/errors.ts';
import type { Identity } from '../../src/keys/identity.ts';

/** Awaits `p` and asserts it rejects with a KeyError of `code`; returns the error. */
export async function rejectsWith(p: Promise<unknown> | (() => unknown), code: KeyErrorCode): Promise<KeyError> {
  let err: unknown;
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    err = e;
  }
  expect(err, `expected a KeyError ${code}, got no error`).toBeInstanceOf(KeyError);
  expect((err as KeyError).code, (err as Error).message).toBe(code);
  return err as KeyError;
}

/** base64 with byte `i` (mod length) xor-ed with `mask` (default 1). */
export function flipB64(s: string, i: number, mask = 1): string {
  const b = Buffer.from(s, 'base64');
  b[i % b.length]! ^= mask;
  return b.toString('base64');
}

export function expectSameIdentity(a: Identity, b: Identity): void {
  expect(b.keyId).toBe(a.keyId);
  expect(Buffer.from(b.signing.seed).equals(a.signing.seed)).toBe(true);
  expect(Buffer.from(b.signing.publicKey).equals(a.signing.publicKey)).toBe(true);
  expect(Buffer.from(b.sealing.privateKey).equals(a.sealing.privateKey)).toBe(true);
  expect(Buffer.from(b.sealing.publicKey).equals(a.sealing.publicKey)).toBe(true);
}
