/**
 * parse(text, file): TOML → validated Manifest, or a ManifestParseError that
 * says file:line:column and the field path. Source positions are only
 * computed on the error path, so valid manifests parse at smol-toml speed.
 */
import { parse as parseToml, TomlDate, TomlError } from 'smol-toml';
import { ManifestParseError } from './errors.ts';
import { locate, formatPath } from './toml-positions.ts';
import { InvalidField, validateManifest, type PathSegment } from './validate.ts';
import type { Manifest } from './types.ts';

/** Max nesting of inline tables/arrays; a manifest never needs more than a few. */
const MAX_DEPTH = 32;

/**
 * smol-toml's tables have a null prototype and dates are objects: copy into
 * plain JSON data, refusing what canonical JSON cannot carry the same way in
 * every implementation (native date-times, integers beyond 2^53, NaN/inf).
 */
function toPlain(v: unknown, path: PathSegment[]): unknown {
  if (typeof v === 'bigint') throw new InvalidField(path, 'integer out of range (beyond ±2^53)');
  if (typeof v === 'number' && !Number.isFinite(v)) throw new InvalidField(path, 'nan and inf are not allowed');
  if (v instanceof TomlDate || v instanceof Date) {
    throw new InvalidField(path, 'native TOML date-times are not allowed; write the date-time as a string, e.g. "2026-05-21T10:00:00Z"');
  }
  if (Array.isArray(v)) return v.map((x, i) => toPlain(x, [...path, i]));
  if (v !== null && typeof v === 'object') {
    if (!(Object.getPrototypeOf(v) === null || Object.getPrototypeOf(v) === Object.prototype)) {
      throw new InvalidField(path, 'unsupported value');
    }
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = toPlain(x, [...path, k]);
    return out;
  }
  return v;
}

export function parse(text: string, file: string): Manifest {
  let raw: unknown;
  try {
    raw = parseToml(text, { integersAsBigInt: 'asNeeded', unsafeKeyBehaviour: 'throw', maxDepth: MAX_DEPTH });
  } catch (e) {
    if (e instanceof TomlError) {
      const reason = e.message.split('\n')[0]!.replace(/^Invalid TOML document: /, '');
      throw new ManifestParseError(file, undefined, `invalid TOML: ${reason}`, { line: e.line, column: e.column });
    }
    throw new ManifestParseError(file, undefined, `invalid TOML: ${(e as Error).message}`, undefined);
  }
  try {
    return validateManifest(toPlain(raw, []) as Record<string, unknown>);
  } catch (e) {
    if (!(e instanceof InvalidField)) throw e;
    const position = locate(text).nearest(e.path);
    throw new ManifestParseError(file, formatPath(e.path), e.reason, position);
  }
}
