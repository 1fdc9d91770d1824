/**
 * Delta semantics, forward direction: fold a verified chain root → leaf into
 * one full manifest. A delta's present keys override; entries of keyed lists
 * (KEYED_LISTS, secrets by name, gsettings by schema+key) are added or
 * replaced by key; `[removed]` drops keys. The result is normalized: keyed
 * lists sorted by key, empty ones and empty sections dropped.
 */
import { KEYED_LISTS, isTable, type KeyedList, type Table } from './keyed-lists.ts';
import type { Manifest } from './types.ts';

const clone = <T>(v: T): T => structuredClone(v);

function keyedListAt(section: string, list: string): KeyedList | undefined {
  return KEYED_LISTS.find((kl) => kl.section === section && kl.list === list);
}

/**
 * Applies delta `d` to `acc` in place. Keyed lists are held as Maps (key →
 * entry) in `lists` for the whole fold, so a long chain over a large root
 * costs O(changes) per delta, not O(size).
 */
function applyDelta(acc: Table, lists: Map<KeyedList, Map<string, unknown>>, d: Manifest) {
  const delta = d as unknown as Table;
  acc.snapshot = clone(d.snapshot);

  if (d.system) {
    const sys = (isTable(acc.system) ? acc.system : (acc.system = {})) as Table;
    for (const [k, v] of Object.entries(d.system)) {
      if (k === 'gsettings' && isTable(v) && isTable(sys.gsettings)) {
        const gs = sys.gsettings as Record<string, Table>;
        for (const [schema, keys] of Object.entries(v)) gs[schema] = { ...(gs[schema] ?? {}), ...clone(keys as Table) };
      } else sys[k] = clone(v);
    }
  }
  for (const section of ['apps', 'repos', 'files', 'skips'] as const) {
    const add = delta[section];
    if (!isTable(add)) continue;
    const target = (isTable(acc[section]) ? acc[section] : (acc[section] = {})) as Table;
    for (const [k, v] of Object.entries(add)) {
      const kl = keyedListAt(section, k);
      if (kl && Array.isArray(v)) {
        let entries = lists.get(kl);
        if (!entries) lists.set(kl, (entries = new Map()));
        for (const e of v) entries.set(kl.keyOf(e)!, clone(e));
      } else target[k] = clone(v);
    }
  }
  if (d.secrets) acc.secrets = { ...((acc.secrets as Table | undefined) ?? {}), ...clone(d.secrets) };

  const removed = d.removed;
  if (!removed) return;
  const sys = acc.system as Table | undefined;
  for (const k of removed.system ?? []) if (sys) delete sys[k];
  const gs = sys?.gsettings as Record<string, Table> | undefined;
  for (const [schema, keys] of Object.entries(removed.gsettings ?? {})) for (const k of keys) if (gs?.[schema]) delete gs[schema][k];
  for (const kl of KEYED_LISTS) {
    const entries = lists.get(kl);
    for (const k of (removed[kl.removed] as string[] | undefined) ?? []) entries?.delete(k);
  }
  const secrets = acc.secrets as Table | undefined;
  for (const name of removed.secrets ?? []) if (secrets) delete secrets[name];
}

const byKey = (kl: KeyedList) => (a: unknown, b: unknown) => {
  const ka = kl.keyOf(a)!, kb = kl.keyOf(b)!;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
};

/** Sorts keyed lists by key and drops empty keyed lists, gsettings schemas and sections (on a copy unless `copy` is false). */
export function normalize(m: Manifest, copy = true): Manifest {
  const out = (copy ? clone(m) : m) as unknown as Table;
  for (const kl of KEYED_LISTS) {
    const section = out[kl.section];
    if (!isTable(section) || !Array.isArray(section[kl.list])) continue;
    const list = section[kl.list] as unknown[];
    if (list.length === 0) delete section[kl.list];
    else list.sort(byKey(kl));
  }
  const sys = out.system;
  if (isTable(sys) && isTable(sys.gsettings)) {
    for (const [schema, keys] of Object.entries(sys.gsettings)) if (isTable(keys) && Object.keys(keys).length === 0) delete sys.gsettings[schema];
    if (Object.keys(sys.gsettings).length === 0) delete sys.gsettings;
  }
  for (const s of ['system', 'apps', 'repos', 'secrets', 'files', 'skips', 'removed']) {
    if (isTable(out[s]) && Object.keys(out[s] as Table).length === 0) delete out[s];
  }
  return out as unknown as Manifest;
}

/**
 * Folds a chain given root → leaf (already verified) into one full manifest.
 * The result's [snapshot] is the leaf's, without `sig` and `parent`.
 */
export function fold(chain: readonly Manifest[]): Manifest {
  const [root, ...deltas] = chain;
  if (!root) throw new RangeError('fold: empty chain');
  const acc = clone(root) as unknown as Table;
  delete acc.removed;
  const lists = new Map<KeyedList, Map<string, unknown>>();
  for (const kl of KEYED_LISTS) {
    const section = acc[kl.section];
    const list = isTable(section) ? section[kl.list] : undefined;
    if (Array.isArray(list)) lists.set(kl, new Map(list.map((e) => [kl.keyOf(e)!, e])));
  }
  for (const d of deltas) applyDelta(acc, lists, d);
  for (const [kl, entries] of lists) {
    const section = (isTable(acc[kl.section]) ? acc[kl.section] : (acc[kl.section] = {})) as Table;
    section[kl.list] = [...entries.values()];
  }
  const { sig: _sig, parent: _parent, ...header } = chain[chain.length - 1]!.snapshot;
  acc.snapshot = header;
  return normalize(acc as unknown as Manifest, false);
}
