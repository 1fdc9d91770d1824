/**
 * decodeManifest(bytes, file): a manifest's bytes → its text, the one way
 * every reader turns bytes into text (CLI file reads, the server's POST body,
 * the drive client). UTF-8, strictly: an invalid sequence is a
 * ManifestParseError at its line:column, never a U+FFFD that parses. A
 * leading BOM is kept in the text (parse allows one, at the very start only).
 * Too many bytes are refused before decoding.
 */
import { ManifestParseError } from './errors.ts';
import { MAX_MANIFEST_BYTES } from './limits.ts';

const strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const lenient = new TextDecoder('utf-8', { ignoreBOM: true });

export function tooLarge(file: string, bytes: number): ManifestParseError {
  return new ManifestParseError(file, undefined, `the manifest is ${bytes} bytes; the limit is ${MAX_MANIFEST_BYTES} (${MAX_MANIFEST_BYTES / 1048576} MiB)`, undefined);
}

export function decodeManifest(bytes: Uint8Array, file: string): string {
  if (bytes.length > MAX_MANIFEST_BYTES) throw tooLarge(file, bytes.length);
  try {
    return strict.decode(bytes);
  } catch {
    const at = firstInvalidUtf8(bytes);
    const lineStart = at === 0 ? 0 : bytes.lastIndexOf(0x0a, at - 1) + 1; // (a negative fromIndex counts from the end)
    let line = 1;
    for (let k = 0; k < lineStart; k++) if (bytes[k] === 0x0a) line++;
    // Columns count UTF-16 code units, as everywhere else (docs/manifest.md §2).
    const column = lenient.decode(bytes.subarray(lineStart, at)).length + 1;
    const hex = bytes[at]!.toString(16).padStart(2, '0');
    throw new ManifestParseError(file, undefined, `invalid UTF-8 (byte 0x${hex} at offset ${at}): a manifest is UTF-8 text`, { line, column });
  }
}

/** Offset of the first byte that does not start (or continue) a well-formed UTF-8 sequence (RFC 3629). */
function firstInvalidUtf8(b: Uint8Array): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i]!;
    if (c < 0x80) {
      i++;
      continue;
    }
    let need: number, lo = 0x80, hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) need = 1;
    else if (c >= 0xe0 && c <= 0xef) {
      need = 2;
      if (c === 0xe0) lo = 0xa0; // no overlong forms
      if (c === 0xed) hi = 0x9f; // no surrogates
    } else if (c >= 0xf0 && c <= 0xf4) {
      need = 3;
      if (c === 0xf0) lo = 0x90;
      if (c === 0xf4) hi = 0x8f; // ≤ U+10FFFF
    } else return i;
    for (let k = 1; k <= need; k++) {
      const d = b[i + k];
      if (d === undefined || d < (k === 1 ? lo : 0x80) || d > (k === 1 ? hi : 0xbf)) return i;
    }
    i += need + 1;
  }
  return b.length;
}
