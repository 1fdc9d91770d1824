/**
 * The lists whose entries a delta adds, replaces and removes by key, in one
 * table so that validation (unique keys), fold, diff and normalize agree.
 */
export interface KeyedList {
  /** Top-level section holding the list. */
  section: 'apps' | 'repos' | 'files' | 'skips';
  /** Key of the list inside the section. */
  list: string;
  /** Key of `[removed]` that lists entries to drop. */
  removed: string;
  /** The entry's key; undefined when the entry is not of the right shape. */
  keyOf(entry: unknown): string | undefined;
}

const byField = (field: string) => (e: unknown) =>
  e !== null && typeof e === 'object' && typeof (e as Record<string, unknown>)[field] === 'string'
    ? ((e as Record<string, unknown>)[field] as string)
    : undefined;
const itself = (e: unknown) => (typeof e === 'string' ? e : undefined);

export const KEYED_LISTS: readonly KeyedList[] = [
  { section: 'apps', list: 'apt', removed: 'apt', keyOf: itself },
  { section: 'apps', list: 'apt_sources', removed: 'apt_sources', keyOf: byField('name') },
  { section: 'apps', list: 'snap', removed: 'snap', keyOf: byField('name') },
  { section: 'apps', list: 'flatpak', removed: 'flatpak', keyOf: byField('ref') },
  { section: 'apps', list: 'kpkg', removed: 'kpkg', keyOf: itself },
  { section: 'repos', list: 'entry', removed: 'repos', keyOf: byField('path') },
  { section: 'files', list: 'entry', removed: 'files', keyOf: byField('local_path') },
  { section: 'skips', list: 'patterns', removed: 'skips', keyOf: itself },
];

export type Table = Record<string, unknown>;

export function isTable(v: unknown): v is Table {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
