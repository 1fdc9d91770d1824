/**
 * parse(text, file): TOML 1.0 → validated Manifest, or a ManifestParseError
 * that says file:line:column and the field path.
 *
 * readToml (toml.ts: size, TOML 1.0 grammar, limits, smol-toml) → toPlain
 * (plain JSON data; nothing nested deeper than MAX_MANIFEST_DEPTH) →
 * validateManifest. Positions of validation errors are computed on the
 * error path only (toml-positions.ts), so valid manifests parse at
 * smol-toml speed.
 */
import { TomlDate } from 'smol-toml';
import { ManifestParseError } from './errors.ts';
import { MAX_MANIFEST_DEPTH } from './limits.ts';
import { readToml } from './toml.ts';
import { locate, formatPath } from './toml-positions.ts';
import { InvalidField, validateManifest, type PathSegment } from './validate.ts';
import type { Manifest } from './types.ts';

/**
 * smol-toml's tables have a null prototype and dates are objects: copy into
 * plain JSON data, refusing what canonical JSON cannot carry the same way in
 * every implementation (native date-times, integers beyond 2^53, NaN/inf),
 * and any value more than MAX_MANIFEST_DEPTH steps from the root (the exact
 * rule; the syntax check counted the text, which can read one step short per
 * array of tables a header crosses, so the recursion here stays bounded).
 * `path` is one stack, pushed and popped; an error takes a copy.
 */
function toPlain(v: unknown, path: PathSegment[]): unknown {
  if (path.length > MAX_MANIFEST_DEPTH) throw new InvalidField([...path], `nested deeper than ${MAX_MANIFEST_DEPTH} levels`);
  if (typeof v === 'bigint') throw new InvalidField([...path], 'integer out of range (beyond ±2^53)');
  if (typeof v === 'number' && !Number.isFinite(v)) throw new InvalidField([...path], 'nan and inf are not allowed');
  if (v instanceof TomlDate || v instanceof Date) {
    throw new InvalidField([...path], 'native TOML date-times are not allowed; write the date-time as a string, e.g. "2026-05-21T10:00:00Z"');
  }
  if (Array.isArray(v)) {
    const out = new Array<unknown>(v.length);
    for (let i = 0; i < v.length; i++) {
      path.push(i);
      out[i] = toPlain(v[i], path);
      path.pop();
    }
    return out;
  }
  if (v !== null && typeof v === 'object') {
    if (!(Object.getPrototypeOf(v) === null || Object.getPrototypeOf(v) === Object.prototype)) throw new InvalidField([...path], 'unsupported value');
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v)) {
      path.push(k);
      out[k] = toPlain((v as Record<string, unknown>)[k], path);
      path.pop();
    }
    return out;
  }
  return v;
}

export function parse(text: string, file: string): Manifest {
  const raw = readToml(text, file);
  try {
    return validateManifest(toPlain(raw, []) as Record<string, unknown>);
  } catch (e) {
    if (!(e instanceof InvalidField)) throw e;
    const position = locate(text).nearest(e.path);
    throw new ManifestParseError(file, formatPath(e.path), e.reason, position);
  }
}
