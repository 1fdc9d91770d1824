/**
 * The printable recovery key: 128 random bits plus a 32-bit checksum, written
 * as 32 Crockford base32 characters in 8 groups of 4
 * (`7KQ3-…-M0ZD`). 128 bits is beyond brute force, so a recovery slot needs
 * no slow KDF. Crockford's alphabet has no I, L, O or U, so parsing can forgive
 * the usual misreadings (O→0, I/L→1, any case, spaces, dashes); the checksum
 * turns every other typo into an error instead of a "wrong key".
 */
import { createHash, randomBytes } from 'node:crypto';
import { KeyError } from './errors.ts';

export const RECOVERY_SECRET_BYTES = 16;
const CHECK_BYTES = 4;
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
/** 20 bytes = 160 bits = 32 base32 characters, no padding. */
const CHARS = ((RECOVERY_SECRET_BYTES + CHECK_BYTES) * 8) / 5;
const GROUP = 4;

const DECODE = new Map<string, number>();
for (let i = 0; i < ALPHABET.length; i++) DECODE.set(ALPHABET[i]!, i);
// Crockford's decoding aliases: letters a person may read or type for a digit.
DECODE.set('O', 0);
DECODE.set('I', 1);
DECODE.set('L', 1);

function checksum(secret: Uint8Array): Uint8Array {
  // Domain-separated so the check bytes mean nothing outside this format.
  return createHash('sha256').update('koder-snapshot recovery key v1\0').update(secret).digest().subarray(0, CHECK_BYTES);
}

/** A new random recovery key, formatted for printing. */
export function generateRecoveryKey(): string {
  return formatRecoveryKey(new Uint8Array(randomBytes(RECOVERY_SECRET_BYTES)));
}

/** Formats a 16-byte secret as `XXXX-XXXX-…` (with its checksum). */
export function formatRecoveryKey(secret: Uint8Array): string {
  if (secret.length !== RECOVERY_SECRET_BYTES) throw new KeyError('bad_argument', `recovery secret must be ${RECOVERY_SECRET_BYTES} bytes, got ${secret.length}`);
  const bytes = new Uint8Array(RECOVERY_SECRET_BYTES + CHECK_BYTES);
  bytes.set(secret);
  bytes.set(checksum(secret), RECOVERY_SECRET_BYTES);
  let bits = 0n;
  for (const b of bytes) bits = (bits << 8n) | BigInt(b);
  let text = '';
  for (let i = CHARS - 1; i >= 0; i--) text += ALPHABET[Number((bits >> BigInt(i * 5)) & 31n)];
  return text.match(new RegExp(`.{${GROUP}}`, 'g'))!.join('-');
}

/**
 * Parses a recovery key as a person may type it back and returns its 16-byte
 * secret. Errors: RECOVERY_KEY_FORMAT (bad character, wrong length),
 * RECOVERY_KEY_CHECKSUM (a typo).
 */
export function parseRecoveryKey(text: string): Uint8Array {
  const compact = text.replace(/[\s\-]/g, '').toUpperCase();
  let bits = 0n;
  for (let i = 0; i < compact.length; i++) {
    const ch = compact[i]!;
    const v = DECODE.get(ch);
    if (v === undefined) throw new KeyError('recovery_key_format', `recovery key: '${ch}' is not a valid character (allowed: digits and letters except U)`);
    bits = (bits << 5n) | BigInt(v);
  }
  if (compact.length !== CHARS) {
    throw new KeyError('recovery_key_format', `recovery key: expected ${CHARS} characters (${CHARS / GROUP} groups of ${GROUP}), got ${compact.length}`);
  }
  const bytes = new Uint8Array(RECOVERY_SECRET_BYTES + CHECK_BYTES);
  for (let i = bytes.length - 1; i >= 0; i--) {
    bytes[i] = Number(bits & 0xffn);
    bits >>= 8n;
  }
  const secret = bytes.slice(0, RECOVERY_SECRET_BYTES);
  if (!Buffer.from(checksum(secret)).equals(bytes.subarray(RECOVERY_SECRET_BYTES))) {
    throw new KeyError('recovery_key_checksum', 'recovery key: checksum does not match; a character is mistyped');
  }
  return secret;
}

/** The canonical spelling of a recovery key typed in any tolerated form. */
export function normalizeRecoveryKey(text: string): string {
  return formatRecoveryKey(parseRecoveryKey(text));
}
