/**
 * serialize(manifest): stable, human-readable TOML that parses back to the
 * same data. Known keys come in a fixed order, unknown ones after them in
 * their own order. Flat, short entries of lists are inline tables, one per
 * line; others are `[[array.of.tables]]`. Multi-line strings (deb822) are
 * written as `"""` strings.
 */
import { isTable, type Table } from './keyed-lists.ts';
import type { Manifest } from './types.ts';

const ORDER: Record<string, string[]> = {
  '': ['snapshot', 'system', 'apps', 'repos', 'secrets', 'files', 'skips', 'removed'],
  snapshot: ['version', 'hostname', 'created_at', 'koder_user_id', 'parent', 'sig'],
  'snapshot.sig': ['ed25519', 'key_id'],
  system: ['timezone', 'locale', 'keyboard', 'keyboard_model', 'keyboard_options', 'gpu_driver', 'gsettings'],
  apps: ['apt', 'apt_sources', 'snap', 'flatpak', 'kpkg'],
  'apps.apt_sources': ['name', 'keyring', 'keyring_path', 'deb822'],
  'apps.snap': ['name', 'channel', 'classic'],
  'apps.flatpak': ['ref', 'origin', 'origin_url', 'scope'],
  'repos.entry': ['slug', 'path', 'url', 'branch', 'bundle', 'bundle_size', 'dirty'],
  'secrets.*': ['path', 'mode', 'type', 'sealed'],
  'files.entry': ['local_path', 'blob', 'sha256', 'size', 'stored_size'],
};
const INLINE_MAX = 100;

function orderedKeys(t: Table, schemaPath: string): string[] {
  const known = ORDER[schemaPath] ?? [];
  const keys = Object.keys(t).filter((k) => t[k] !== undefined);
  return [...known.filter((k) => keys.includes(k)), ...keys.filter((k) => !known.includes(k))];
}

function escapeChar(c: string): string {
  switch (c) {
    case '"': return '\\"';
    case '\\': return '\\\\';
    case '\b': return '\\b';
    case '\t': return '\\t';
    case '\n': return '\\n';
    case '\f': return '\\f';
    case '\r': return '\\r';
    default: return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
  }
}

function assertWellFormed(s: string) {
  if (/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(s)) {
    throw new TypeError(`string has a lone surrogate and cannot be written as TOML: ${JSON.stringify(s.slice(0, 40))}`);
  }
}

function basicString(s: string): string {
  assertWellFormed(s);
  return `"${s.replace(/["\\\u0000-\u001f\u007f]/g, escapeChar)}"`;
}

function multilineString(s: string): string {
  assertWellFormed(s);
  // Tabs and newlines stay literal; quotes are escaped so no `"""` can appear.
  return `"""\n${s.replace(/["\\\u0000-\u0008\u000b-\u001f\u007f]/g, escapeChar)}"""`;
}

const key = (k: string) => (/^[A-Za-z0-9_-]+$/.test(k) ? k : basicString(k));

function scalar(v: unknown): string {
  if (typeof v === 'string') return v.includes('\n') ? multilineString(v) : basicString(v);
  if (typeof v === 'boolean') return String(v);
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new TypeError('nan/inf cannot be written');
    return Number.isInteger(v) && Math.abs(v) < 1e21 ? String(v) : (Number.isInteger(v) ? v.toExponential() : String(v));
  }
  throw new TypeError(`cannot write ${typeof v} as a TOML value`);
}

function inline(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(inline).join(', ')}]`;
  if (isTable(v)) {
    const entries = Object.keys(v).filter((k) => v[k] !== undefined).map((k) => `${key(k)} = ${inline(v[k])}`);
    return entries.length ? `{ ${entries.join(', ')} }` : '{}';
  }
  if (typeof v === 'string' && v.includes('\n')) return basicString(v);
  return scalar(v);
}

const isFlatTable = (v: unknown) => isTable(v) && Object.values(v).every((x) => !isTable(x) && !Array.isArray(x));

function value(v: unknown, schemaPath: string): string {
  if (Array.isArray(v)) {
    if (v.length === 0) return '[]';
    const items = v.map((e) => (isTable(e) ? inline(orderTable(e, schemaPath)) : inline(e)));
    const one = `[${items.join(', ')}]`;
    return one.length <= INLINE_MAX && !v.some(isTable) ? one : `[\n${items.map((i) => `  ${i},`).join('\n')}\n]`;
  }
  return scalar(v);
}

function orderTable(t: Table, schemaPath: string): Table {
  const out: Table = {};
  for (const k of orderedKeys(t, schemaPath)) out[k] = t[k];
  return out;
}

const isArrayOfTables = (v: unknown): v is Table[] => Array.isArray(v) && v.length > 0 && v.every(isTable);

/** Arrays of tables stay inline when every entry is flat and short. */
function keepInline(v: Table[], schemaPath: string): boolean {
  return v.every((e) => isFlatTable(e) && !Object.values(e).some((x) => typeof x === 'string' && x.includes('\n')) && inline(orderTable(e, schemaPath)).length <= INLINE_MAX);
}

function schemaOf(path: string[]): string {
  if (path[0] === 'secrets' && path.length === 2) return 'secrets.*';
  return path.join('.');
}

function writeTable(t: Table, path: string[], lines: string[], header: 'table' | 'array' | 'none') {
  const schemaPath = schemaOf(path);
  const keys = orderedKeys(t, schemaPath);
  const own: string[] = [];
  const nested: string[] = [];
  for (const k of keys) {
    const v = t[k];
    const childSchema = path.length ? `${schemaPath}.${k}` : k;
    if (isTable(v) || (isArrayOfTables(v) && !keepInline(v, childSchema))) nested.push(k);
    else own.push(`${key(k)} = ${value(v, childSchema)}`);
  }
  // A table needs its own header when it has direct keys or nothing at all to show it exists.
  if (header !== 'none' && (own.length > 0 || nested.length === 0 || header === 'array')) {
    if (lines.length) lines.push('');
    const name = path.map(key).join('.');
    lines.push(header === 'array' ? `[[${name}]]` : `[${name}]`);
  }
  lines.push(...own);
  for (const k of nested) {
    const v = t[k];
    if (isTable(v)) writeTable(v, [...path, k], lines, 'table');
    else for (const e of v as Table[]) writeTable(e, [...path, k], lines, 'array');
  }
}

export function serialize(m: Manifest): string {
  const lines: string[] = [];
  writeTable(m as unknown as Table, [], lines, 'none');
  return lines.join('\n') + '\n';
}
