/**
 * Manifests built to hurt a parser (issue 17), shared by the limit tests, the
 * server test and bench/manifest-limits.ts. Each starts with a valid
 * `[snapshot]` so that only the attack can be the reason for a refusal.
 */
export const SNAPSHOT_HEADER = '[snapshot]\nversion = 1\nhostname = "h"\ncreated_at = "2026-05-21T10:00:00Z"\nkoder_user_id = "u"\n';

/** `[system.a.a.….a]` with `depth` parts in all. */
export function deepHeader(depth: number): string {
  return `${SNAPSHOT_HEADER}[system${'.a'.repeat(depth - 1)}]\nx = 1\n`;
}

/** `system.x.x.….z = 1`: a dotted key of `depth` parts. */
export function deepDottedKey(depth: number): string {
  return `${SNAPSHOT_HEADER}[apps]\nfuture${'.x'.repeat(depth - 2)} = 1\n`;
}

/** `[t0]\n[t1]\n…` (the freeze) until `bytes` long. */
export function manyTables(bytes: number): string {
  const parts = [SNAPSHOT_HEADER];
  let n = SNAPSHOT_HEADER.length;
  for (let i = 0; n < bytes; i++) {
    const line = `[t${i}]\n`;
    if (n + line.length > bytes) break;
    parts.push(line);
    n += line.length;
  }
  return parts.join('');
}

/**
 * A manifest with exactly `entries` entries (parts of keys and table
 * headers, array elements) of one shape; `tables` puts them under `tables`
 * table headers `[system.tN]` (2 entries each; `[snapshot]` is the first).
 */
export function entriesOfShape(shape: 'tables' | 'keys' | 'array' | 'inline', entries: number, tables = 1): string {
  // [snapshot] and its 4 keys are 5 entries.
  const n = entries - 5;
  switch (shape) {
    case 'tables': {
      const t = tables - 1;
      const keys = n - 2 * t;
      if (keys < 0) throw new Error(`${t} more tables need ${2 * t} entries`);
      const table = (i: number) => Array.from({ length: Math.floor(keys / t) + (i < keys % t ? 1 : 0) }, (_, j) => `k${j} = 1\n`).join('');
      return SNAPSHOT_HEADER + Array.from({ length: t }, (_, i) => `[system.t${i}]\n${table(i)}`).join('');
    }
    case 'keys': // `[system]` + keys
      return SNAPSHOT_HEADER + '[system]\n' + Array.from({ length: n - 1 }, (_, i) => `k${i} = "v"\n`).join('');
    case 'array': // `[apps]`, `apt = [...]`: two entries, then one per package
      return SNAPSHOT_HEADER + '[apps]\napt = [' + Array.from({ length: n - 2 }, (_, i) => `"p${i}"`).join(',') + ']\n';
    case 'inline': // `[system]`, `x = [...]`, then {k = 1}: two entries per element
      return SNAPSHOT_HEADER + '[system]\nx = [' + Array.from({ length: Math.floor((n - 2) / 2) }, () => '{k=1}').join(',') + ']\n';
  }
}
