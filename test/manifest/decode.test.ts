/** decodeManifest: a manifest's bytes are UTF-8, strictly, with the position of the first bad byte. */
import { describe, expect, it } from 'vitest';
import { ManifestParseError, decodeManifest, parse } from '../../src/manifest/index.ts';
import { SNAPSHOT_HEADER } from '../helpers/hostile-manifests.ts';

function refusal(bytes: Uint8Array): ManifestParseError {
  try {
    decodeManifest(bytes, 'm.kvg');
  } catch (e) {
    expect(e).toBeInstanceOf(ManifestParseError);
    return e as ManifestParseError;
  }
  throw new Error('expected a ManifestParseError, but it decoded');
}

const bytes = (...parts: (string | number[])[]) => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : Buffer.from(p))));

describe('decodeManifest', () => {
  it('decodes UTF-8 as is', () => {
    expect(decodeManifest(bytes('a = "é中😀"\n'), 'm.kvg')).toBe('a = "é中😀"\n');
  });

  it.each([
    ['a lone continuation byte', [0x80]],
    ['a truncated sequence', [0xe4, 0xb8]],
    ['an overlong form', [0xc0, 0xaf]],
    ['a UTF-16 surrogate (CESU)', [0xed, 0xa0, 0x80]],
    ['beyond U+10FFFF', [0xf4, 0x90, 0x80, 0x80]],
    ['Latin-1', [0xe9]],
  ])('refuses %s with its line and UTF-16 column', (_, bad) => {
    // Line 2, after `b = "é😀` (é: 1 column, 😀: 2, as TOML errors count).
    const e = refusal(bytes('a = 1\nb = "é😀', bad, 'x"\n'));
    expect(e.position).toEqual({ line: 2, column: 9 });
    expect(e.message).toMatch(/^m\.kvg:2:9: invalid UTF-8 \(byte 0x[0-9a-f]{2} at offset 17\)/);
  });

  it('refuses invalid UTF-8 in a comment, where a lenient decoder would let it through', () => {
    const text = bytes(SNAPSHOT_HEADER, '# caf', [0xe9], '\n');
    expect(() => parse(new TextDecoder().decode(text), 'm.kvg')).not.toThrow(); // U+FFFD in a comment: the old way
    expect(refusal(text).position).toEqual({ line: 6, column: 6 });
  });

  it('keeps one leading BOM (parse allows it) and refuses a second', () => {
    const text = decodeManifest(bytes([0xef, 0xbb, 0xbf], SNAPSHOT_HEADER), 'm.kvg');
    expect(text.charCodeAt(0)).toBe(0xfeff);
    expect(parse(text, 'm.kvg').snapshot.hostname).toBe('h');
    const twice = decodeManifest(bytes([0xef, 0xbb, 0xbf, 0xef, 0xbb, 0xbf], SNAPSHOT_HEADER), 'm.kvg');
    expect(() => parse(twice, 'm.kvg')).toThrow(/m\.kvg:1:2: invalid TOML: expected a key/);
  });

  it('refuses UTF-16 text', () => {
    expect(refusal(Buffer.from('\ufeffa = 1\n', 'utf16le')).position).toEqual({ line: 1, column: 1 });
  });
});
