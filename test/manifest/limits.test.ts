/**
 * The manifest limits (docs/manifest.md §1, src/manifest/limits.ts): size,
 * nesting depth, entries and tables, each refused with a ManifestParseError at the
 * place the limit was crossed, before smol-toml builds anything; exactly at
 * each limit the manifest still parses.
 */
import { describe, expect, it } from 'vitest';
import { ManifestParseError, parse, MAX_MANIFEST_BYTES, MAX_MANIFEST_DEPTH, MAX_MANIFEST_ENTRIES, MAX_MANIFEST_TABLES } from '../../src/manifest/index.ts';
import { decodeManifest } from '../../src/manifest/decode.ts';
import { readToml } from '../../src/manifest/toml.ts';
import { deepDottedKey, deepHeader, entriesOfShape, manyTables, SNAPSHOT_HEADER } from '../helpers/hostile-manifests.ts';

function refusal(f: () => unknown): ManifestParseError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(ManifestParseError);
    return e as ManifestParseError;
  }
  throw new Error('expected a ManifestParseError, but it parsed');
}

const headerLines = SNAPSHOT_HEADER.split('\n').length - 1;

describe('depth', () => {
  it('refuses a 5,000-level table header at its 33rd part (issue 17: a stack overflow before)', () => {
    const e = refusal(() => parse(deepHeader(5000), 'm.kvg'));
    expect(e.reason).toBe(`nested deeper than ${MAX_MANIFEST_DEPTH} levels`);
    // `[system` + 31 × `.a`, then the 33rd part.
    expect(e.position).toEqual({ line: headerLines + 1, column: '[system'.length + 31 * 2 + 2 });
  });

  it('refuses a 5,000-part dotted key', () => {
    const e = refusal(() => parse(deepDottedKey(5000), 'm.kvg'));
    expect(e.reason).toBe(`nested deeper than ${MAX_MANIFEST_DEPTH} levels`);
    expect(e.position?.line).toBe(headerLines + 2);
  });

  it('refuses arrays and inline tables nested past the limit, counting the keys above them', () => {
    // apps.x[0][0]…: n arrays, the innermost (empty) one at 1 + n steps.
    const arrays = (n: number) => `${SNAPSHOT_HEADER}[apps]\nx = ${'['.repeat(n)}${']'.repeat(n)}\n`;
    expect(() => parse(arrays(MAX_MANIFEST_DEPTH - 1), 'm.kvg')).not.toThrow();
    const e = refusal(() => parse(arrays(MAX_MANIFEST_DEPTH), 'm.kvg'));
    expect(e.reason).toMatch(/nested deeper than 32/);
    expect(e.position).toEqual({ line: headerLines + 2, column: 'x = '.length + MAX_MANIFEST_DEPTH });
    const inline = (n: number) => `${SNAPSHOT_HEADER}[apps]\nx = ${'{ a = '.repeat(n)}1${' }'.repeat(n)}\n`; // apps.x.a.a…a: 2 + n
    expect(() => parse(inline(MAX_MANIFEST_DEPTH - 2), 'm.kvg')).not.toThrow();
    expect(refusal(() => parse(inline(MAX_MANIFEST_DEPTH - 1), 'm.kvg')).reason).toMatch(/nested deeper than 32/);
  });

  it('accepts exactly 32 levels of header and dotted key', () => {
    expect(parse(deepHeader(MAX_MANIFEST_DEPTH - 1), 'm.kvg').system).toBeDefined(); // system.a….a.x = 32
    expect(parse(deepDottedKey(MAX_MANIFEST_DEPTH), 'm.kvg').apps).toBeDefined();
    expect(refusal(() => parse(deepHeader(MAX_MANIFEST_DEPTH), 'm.kvg')).reason).toMatch(/nested deeper/);
    expect(refusal(() => parse(deepDottedKey(MAX_MANIFEST_DEPTH + 1), 'm.kvg')).reason).toMatch(/nested deeper/);
  });

  it('counts the data path: a header that crosses an array of tables is one level deeper than it reads', () => {
    // [[apps.x]] then [apps.x.p…]: apps.x[0].p… — the text counts 32, the data 33.
    const text = `${SNAPSHOT_HEADER}[[apps.x]]\n[apps.x${'.p'.repeat(MAX_MANIFEST_DEPTH - 3)}]\nk = 1\n`;
    expect(() => readToml(text, 'm.kvg')).not.toThrow();
    const e = refusal(() => parse(text, 'm.kvg'));
    expect(e.reason).toBe(`nested deeper than ${MAX_MANIFEST_DEPTH} levels`);
    expect(e.field).toMatch(/^apps\.x\[0\]\.p/);
  });
});

describe('entries and tables', () => {
  it(`refuses the ${MAX_MANIFEST_ENTRIES + 1}th entry where it stands`, () => {
    const text = entriesOfShape('keys', MAX_MANIFEST_ENTRIES + 1);
    const e = refusal(() => parse(text, 'm.kvg'));
    expect(e.reason).toMatch(new RegExp(`^more than ${MAX_MANIFEST_ENTRIES} entries`));
    expect(e.position).toEqual({ line: text.split('\n').length - 1, column: 1 });
  });

  it(`refuses the ${MAX_MANIFEST_TABLES + 1}th table header where it stands`, () => {
    const text = entriesOfShape('tables', 5 + 2 * MAX_MANIFEST_TABLES, MAX_MANIFEST_TABLES + 1); // headers only
    const e = refusal(() => parse(text, 'm.kvg'));
    expect(e.reason).toBe(`more than ${MAX_MANIFEST_TABLES} tables: a manifest is not that big`);
    expect(e.position).toEqual({ line: text.split('\n').length - 1, column: 1 });
  });

  it('counts every part of a dotted key', () => {
    const text = `${SNAPSHOT_HEADER}[apps]\n` + Array.from({ length: Math.ceil(MAX_MANIFEST_ENTRIES / 30) }, (_, i) => `future${'.a'.repeat(28)}.k${i} = 1\n`).join('');
    expect(refusal(() => parse(text, 'm.kvg')).reason).toMatch(/^more than 50000 entries \(key parts and array elements\)/);
  });

  it.each(['tables', 'keys', 'array', 'inline'] as const)(`accepts exactly ${MAX_MANIFEST_ENTRIES} entries (${MAX_MANIFEST_TABLES} tables): %s`, (shape) => {
    expect(() => parse(entriesOfShape(shape, MAX_MANIFEST_ENTRIES, MAX_MANIFEST_TABLES), 'm.kvg')).not.toThrow();
    expect(refusal(() => parse(entriesOfShape(shape, MAX_MANIFEST_ENTRIES + 2, MAX_MANIFEST_TABLES), 'm.kvg')).reason).toMatch(/^more than/);
  });

  it("refuses the issue's [t0] [t1] … manifest within the size limit by its tables", () => {
    const text = manyTables(MAX_MANIFEST_BYTES);
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(MAX_MANIFEST_BYTES);
    expect(refusal(() => parse(text, 'm.kvg')).reason).toMatch(/^more than 10000 tables/);
  });
});

describe('size', () => {
  it('refuses one byte over the limit, as text and as bytes, before reading it', () => {
    const over = SNAPSHOT_HEADER + '#'.repeat(MAX_MANIFEST_BYTES - SNAPSHOT_HEADER.length) + '\n';
    const e = refusal(() => parse(over, 'm.kvg'));
    expect(e.message).toBe(`m.kvg: the manifest is ${MAX_MANIFEST_BYTES + 1} bytes; the limit is ${MAX_MANIFEST_BYTES} (4 MiB)`);
    expect(refusal(() => decodeManifest(Buffer.from(over), 'm.kvg')).message).toBe(e.message);
    expect(() => parse(over.slice(0, -2) + '\n', 'm.kvg')).not.toThrow(); // exactly the limit
  });

  it('counts UTF-8 bytes, not characters', () => {
    const chars = Math.ceil(MAX_MANIFEST_BYTES / 3) + 10;
    const text = `${SNAPSHOT_HEADER}# ${'中'.repeat(chars)}\n`;
    expect(text.length).toBeLessThan(MAX_MANIFEST_BYTES);
    expect(refusal(() => parse(text, 'm.kvg')).reason).toMatch(/^the manifest is \d+ bytes/);
  });
});
