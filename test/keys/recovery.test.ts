import fc from 'fast-check';
import { correction, generate } from 'lean-qr';
import { describe, expect, test } from 'vitest';
import { qrToText, recoveryKeyQr, recoveryKeyQrSvg, recoveryKeyQrText, type QrBitmap } from '../../src/keys/qr.ts';
import { formatRecoveryKey, generateRecoveryKey, normalizeRecoveryKey, parseRecoveryKey } from '../../src/keys/recovery.ts';
import { decodeQr } from './qr-decode.ts';
import { rejectsWith } from './helpers.ts';

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const SHAPE = /^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){7}$/;

describe('recovery key text', () => {
  test('is 8 groups of 4 Crockford characters and carries 128 random bits', () => {
    const keys = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const k = generateRecoveryKey();
      expect(k).toMatch(SHAPE);
      expect(parseRecoveryKey(k).length).toBe(16);
      keys.add(k);
    }
    expect(keys.size).toBe(200);
  });

  test('format → parse round trip for any 16 bytes (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (secret) => {
        const text = formatRecoveryKey(secret);
        expect(text).toMatch(SHAPE);
        expect(Buffer.from(parseRecoveryKey(text)).equals(secret)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  const variantsOf = (k: string) => [
    k.toLowerCase(),
    k.replace(/-/g, ''),
    k.replace(/-/g, ' '),
    `  ${k.replace(/-/g, ' - ')}\n`,
    k.replace(/(.)/g, '$1-'),
    k.replace(/0/g, 'O'),
    k.replace(/0/g, 'o'),
    k.replace(/1/g, 'I'),
    k.replace(/1/g, 'l'),
    k.replace(/1/g, 'L'),
  ];

  test('parsing forgives case, spaces, missing or extra dashes, O/0 and I/L/1', () => {
    const fixture = formatRecoveryKey(Buffer.from('00000000000000000000000000000001', 'hex'));
    expect(fixture).toBe('0000-0000-0000-0000-0000-0000-05GC-11Q0'); // holds both 0 and 1
    for (const k of [fixture, ...Array.from({ length: 20 }, generateRecoveryKey)]) {
      const secret = parseRecoveryKey(k);
      for (const v of variantsOf(k)) {
        expect(Buffer.from(parseRecoveryKey(v)).equals(secret), v).toBe(true);
        expect(normalizeRecoveryKey(v)).toBe(k);
      }
    }
  });

  test('every single-character substitution is rejected by the checksum', () => {
    for (let n = 0; n < 5; n++) {
      const compact = generateRecoveryKey().replace(/-/g, '');
      for (let i = 0; i < compact.length; i++) {
        for (const c of ALPHABET) {
          if (c === compact[i]) continue;
          const typo = compact.slice(0, i) + c + compact.slice(i + 1);
          expect(() => parseRecoveryKey(typo)).toThrowError(expect.objectContaining({ code: 'recovery_key_checksum' }));
        }
      }
    }
  });

  test('every swap of two adjacent different characters is rejected', () => {
    for (let n = 0; n < 20; n++) {
      const compact = generateRecoveryKey().replace(/-/g, '');
      for (let i = 0; i + 1 < compact.length; i++) {
        if (compact[i] === compact[i + 1]) continue;
        const typo = compact.slice(0, i) + compact[i + 1] + compact[i] + compact.slice(i + 2);
        expect(() => parseRecoveryKey(typo)).toThrowError(expect.objectContaining({ code: 'recovery_key_checksum' }));
      }
    }
  });

  test('bad characters and wrong lengths are format errors', async () => {
    const k = generateRecoveryKey();
    await rejectsWith(() => parseRecoveryKey(k.slice(0, -1)), 'recovery_key_format');
    await rejectsWith(() => parseRecoveryKey(k + 'A'), 'recovery_key_format');
    await rejectsWith(() => parseRecoveryKey(''), 'recovery_key_format');
    await rejectsWith(() => parseRecoveryKey('U' + k.slice(1)), 'recovery_key_format');
    const err = await rejectsWith(() => parseRecoveryKey(k.slice(0, 5) + '#' + k.slice(6)), 'recovery_key_format');
    expect(err.message).toContain("'#'");
  });
});

/** Even-odd rasterization of the SVG path at each module centre. */
function rasterizeSvg(svg: string): QrBitmap {
  const vb = /viewBox="(-?\d+) (-?\d+) (\d+) (\d+)"/.exec(svg);
  expect(vb).not.toBeNull();
  const [pad, size] = [-Number(vb![1]), Number(vb![3]) + 2 * Number(vb![1])];
  const d = /<path d="([^"]*)"/.exec(svg)![1]!;
  const edges: [number, number, number, number][] = [];
  for (const sub of d.split('Z').filter(Boolean)) {
    const pts = [...sub.matchAll(/[ML](-?\d+) (-?\d+)/g)].map((m) => [Number(m[1]), Number(m[2])] as const);
    expect(pts.length).toBeGreaterThanOrEqual(3);
    for (let i = 0; i < pts.length; i++) {
      const a = pts[i]!;
      const b = pts[(i + 1) % pts.length]!;
      edges.push([a[0], a[1], b[0], b[1]]);
    }
  }
  expect(pad).toBeGreaterThanOrEqual(4);
  return {
    size,
    get(x, y) {
      const px = x + 0.5;
      const py = y + 0.5;
      let inside = false;
      for (const [x1, y1, x2, y2] of edges) {
        if (y1 > py !== y2 > py && px < x1 + ((py - y1) * (x2 - x1)) / (y2 - y1)) inside = !inside;
      }
      return inside;
    },
  };
}

/** Reads the half-block text back into modules (dark-terminal style: glyph = light module). */
function parseText(text: string, size: number, quiet = 4): QrBitmap {
  const rows = text.split('\n');
  return {
    size,
    get(x, y) {
      const line = rows[Math.floor((y + quiet) / 2)]!;
      const ch = [...line][x + quiet]!;
      const top = (y + quiet) % 2 === 0;
      const light = ch === '█' || (top ? ch === '▀' : ch === '▄');
      return !light;
    },
  };
}

function sameModules(a: QrBitmap, b: QrBitmap): boolean {
  if (a.size !== b.size) return false;
  for (let y = -4; y < a.size + 4; y++) for (let x = -4; x < a.size + 4; x++) if (a.get(x, y) !== b.get(x, y)) return false;
  return true;
}

describe('recovery key QR code', () => {
  test('the test decoder itself reads known symbols (modes, levels, multi-block)', () => {
    for (const [text, min] of [
      ['HELLO WORLD', correction.L],
      ['12345678901234567890ABC', correction.H],
      ['https://example.com/x?y=1 ünï', correction.L],
      ['x'.repeat(55), correction.Q],
    ] as const) {
      expect(decodeQr(generate(text, { minCorrectionLevel: min })).text).toBe(text);
    }
    // And notices a broken one.
    const code = generate('HELLO WORLD');
    const broken = { size: code.size, get: (x: number, y: number) => (x === 12 && y === 12 ? !code.get(x, y) : code.get(x, y)) };
    expect(() => decodeQr(broken)).toThrow();
  });

  test('decodes back to the canonical key text, at correction level M or better', () => {
    for (let i = 0; i < 10; i++) {
      const k = generateRecoveryKey();
      const decoded = decodeQr(recoveryKeyQr(k));
      expect(decoded.text).toBe(k);
      expect(['M', 'Q', 'H']).toContain(decoded.ecl);
      expect(decoded.version).toBeLessThanOrEqual(4);
    }
  });

  test('a sloppily typed key gives the same symbol as the canonical one; a typo is refused', async () => {
    const k = generateRecoveryKey();
    expect(decodeQr(recoveryKeyQr(k.toLowerCase().replace(/-/g, ' '))).text).toBe(k);
    await rejectsWith(() => recoveryKeyQr(k.slice(0, -1) + (k.endsWith('0') ? '1' : '0')), 'recovery_key_checksum');
  });

  test('the SVG draws the same modules, with a quiet zone', () => {
    const k = generateRecoveryKey();
    const svg = recoveryKeyQrSvg(k);
    expect(svg.startsWith('<svg')).toBe(true);
    const raster = rasterizeSvg(svg);
    expect(sameModules(raster, recoveryKeyQr(k))).toBe(true);
    expect(decodeQr(raster).text).toBe(k);
  });

  test('the terminal text draws the same modules, two rows per line', () => {
    const k = generateRecoveryKey();
    const code = recoveryKeyQr(k);
    const text = recoveryKeyQrText(k);
    const lines = text.split('\n');
    expect(lines.length).toBe(Math.ceil((code.size + 8) / 2));
    for (const l of lines) expect([...l].length).toBe(code.size + 8);
    expect(text).toMatch(/^[ █▀▄\n]+$/);
    const back = parseText(text, code.size);
    expect(sameModules(back, code)).toBe(true);
    expect(decodeQr(back).text).toBe(k);
  });

  test('light-terminal style is the exact inverse; ansi wraps each line in black-on-white', () => {
    const code = recoveryKeyQr(generateRecoveryKey());
    const dark = qrToText(code).split('\n');
    const light = qrToText(code, { style: 'light-terminal' }).split('\n');
    const inv: Record<string, string> = { ' ': '█', '█': ' ', '▀': '▄', '▄': '▀' };
    // Except for the half row past the bottom edge (size + 8 is odd), which stays blank in both.
    for (let i = 0; i < dark.length - 1; i++) expect([...light[i]!].join('')).toBe([...dark[i]!].map((c) => inv[c]).join(''));
    const ansi = qrToText(code, { style: 'ansi' }).split('\n');
    for (const [i, l] of ansi.entries()) expect(l).toBe(`\x1b[30;47m${light[i]}\x1b[0m`);
  });
});
