/**
 * Strict standard base64 (RFC 4648 §4, padded). Buffer.from(s, 'base64') is
 * lenient (skips junk, accepts url-safe and missing padding), which would let
 * two different strings stand for the same key; here a value has one spelling.
 */

const B64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export function toB64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

/** Decodes, or returns undefined when `s` is not canonical base64. */
export function fromB64(s: string): Uint8Array | undefined {
  if (!B64.test(s)) return undefined;
  const bytes = Buffer.from(s, 'base64');
  // Rejects non-zero pad bits ("QQ==" vs "QR=="): only the canonical form round-trips.
  if (bytes.toString('base64') !== s) return undefined;
  return new Uint8Array(bytes);
}
