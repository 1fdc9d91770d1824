/**
 * Delta semantics, backward direction: diff(parent, child) is the delta that
 * fold turns parent back into child (up to normalize). Both are full
 * manifests. Unknown keys of [apps]/[repos]/[files]/[skips] can be added or
 * changed by a delta but not removed (no [removed] key names them); unknown
 * keys of [system] can.
 */
import { sameData } from './canonical.ts';
import { KEYED_LISTS, isTable, type Table } from './keyed-lists.ts';
import type { Manifest, RemovedSection } from './types.ts';
import { normalize } from './fold.ts';

const tableOr = (v: unknown): Table => (isTable(v) ? v : {});

export function diff(parentFull: Manifest, childFull: Manifest, parentId?: string): Manifest {
  const parent = parentFull as unknown as Table;
  const child = childFull as unknown as Table;
  const out: Table = {};
  const removed: Table = {};
  const { sig: _sig, parent: _p, ...header } = childFull.snapshot;
  out.snapshot = parentId ? { ...header, parent: parentId } : header;

  // [system]: keys, and gsettings by schema + key.
  const ps = tableOr(parent.system), cs = tableOr(child.system);
  const sys: Table = {};
  for (const [k, v] of Object.entries(cs)) if (k !== 'gsettings' && !sameData(v, ps[k])) sys[k] = v;
  const goneSys = Object.keys(ps).filter((k) => k !== 'gsettings' && cs[k] === undefined);
  if (goneSys.length) removed.system = goneSys;
  const pg = tableOr(ps.gsettings), cg = tableOr(cs.gsettings);
  const gs: Table = {}, goneGs: Record<string, string[]> = {};
  for (const [schema, keys] of Object.entries(cg)) {
    for (const [k, v] of Object.entries(tableOr(keys))) {
      if (!sameData(v, tableOr(pg[schema])[k])) ((gs[schema] ??= {}) as Table)[k] = v;
    }
  }
  for (const [schema, keys] of Object.entries(pg)) {
    const gone = Object.keys(tableOr(keys)).filter((k) => tableOr(cg[schema])[k] === undefined);
    if (gone.length) goneGs[schema] = gone;
  }
  if (Object.keys(gs).length) sys.gsettings = gs;
  if (Object.keys(goneGs).length) removed.gsettings = goneGs;
  if (Object.keys(sys).length) out.system = sys;

  // Sections with keyed lists: changed/new entries, removed keys; other keys override.
  for (const section of ['apps', 'repos', 'files', 'skips'] as const) {
    const p = tableOr(parent[section]), c = tableOr(child[section]);
    const o: Table = {};
    for (const [k, v] of Object.entries(c)) {
      if (KEYED_LISTS.some((kl) => kl.section === section && kl.list === k)) continue;
      if (!sameData(v, p[k])) o[k] = v;
    }
    for (const kl of KEYED_LISTS.filter((kl) => kl.section === section)) {
      const before = new Map((Array.isArray(p[kl.list]) ? (p[kl.list] as unknown[]) : []).map((e) => [kl.keyOf(e)!, e]));
      const after = Array.isArray(c[kl.list]) ? (c[kl.list] as unknown[]) : [];
      const changed = after.filter((e) => !sameData(e, before.get(kl.keyOf(e)!)));
      if (changed.length) o[kl.list] = changed;
      const afterKeys = new Set(after.map((e) => kl.keyOf(e)!));
      const gone = [...before.keys()].filter((k) => !afterKeys.has(k));
      if (gone.length) removed[kl.removed] = gone;
    }
    if (Object.keys(o).length) out[section] = o;
  }

  // [secrets] by name.
  const psec = tableOr(parent.secrets), csec = tableOr(child.secrets);
  const sec: Table = {};
  for (const [name, v] of Object.entries(csec)) if (!sameData(v, psec[name])) sec[name] = v;
  const goneSec = Object.keys(psec).filter((n) => csec[n] === undefined);
  if (goneSec.length) removed.secrets = goneSec;
  if (Object.keys(sec).length) out.secrets = sec;

  if (Object.keys(removed).length) out.removed = removed as RemovedSection;
  return normalize(structuredClone(out) as unknown as Manifest);
}
