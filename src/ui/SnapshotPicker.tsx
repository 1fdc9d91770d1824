/**
 * The snapshot picker: snapshots as cards in titled groups, newest first,
 * each card saying what the whole chain holds (packages, repositories,
 * folders, their size — from the daemon's verified details, details.ts) or
 * that it failed verification. One component for the installer wizard's
 * Choose screen (groups: mine / shared with me) and the Backup app's
 * Snapshots screen (groups: one per machine); a card is a button that calls
 * `onOpen` with the snapshot.
 */
import { useEffect } from 'preact/hooks';
import type { SnapshotDetails } from '../daemon/ui-state.ts';
import type { SnapshotSummary } from '../restore-machine/types.ts';
import { Icon, Size } from './components.tsx';
import { details, isRefused, loadDetails, loadedDetails } from './details.ts';
import { formatDate } from './format.ts';
import { lang, uiMsgs } from './i18n/index.ts';

/** Bytes of everything the folded chain restores (files and repository bundles). */
export const chainBytes = (d: SnapshotDetails) => Object.values(d.byCategory).reduce((n, c) => n + c.bytes, 0);

export const newestFirst = (a: SnapshotSummary, b: SnapshotSummary) => Date.parse(b.createdAt) - Date.parse(a.createdAt);

export interface PickerGroup {
  /** Unique in the picker: the heading's id is `group-<id>`. */
  id: string;
  title: string;
  items: SnapshotSummary[];
  /** Cards say who shared them. */
  shared: boolean;
}

/** Snapshots split into mine and shared with me (as the wizard's Choose screen shows them), newest first. */
export function splitMineShared(all: readonly SnapshotSummary[], me: string | undefined): { mine: SnapshotSummary[]; shared: SnapshotSummary[] } {
  const isShared = (x: SnapshotSummary) => x.shared || (me !== undefined && x.owner !== me);
  return { mine: all.filter((x) => !isShared(x)).sort(newestFirst), shared: all.filter(isShared).sort(newestFirst) };
}

/** Snapshots grouped by machine (hostname), the machine with the newest snapshot first; each group newest first. */
export function byMachine(items: readonly SnapshotSummary[]): { hostname: string; items: SnapshotSummary[] }[] {
  const groups = new Map<string, SnapshotSummary[]>();
  for (const s of [...items].sort(newestFirst)) {
    const g = groups.get(s.hostname);
    if (g) g.push(s);
    else groups.set(s.hostname, [s]);
  }
  return [...groups].map(([hostname, items]) => ({ hostname, items }));
}

export function SnapshotPicker(props: { groups: PickerGroup[]; onOpen: (s: SnapshotSummary) => void; label?: string }) {
  return (
    <div class="scroll list-scroll" aria-label={props.label}>
      {props.groups
        .filter((g) => g.items.length)
        .map((g) => (
          <section key={g.id} aria-labelledby={`group-${g.id}`}>
            <h2 id={`group-${g.id}`}>{g.title}</h2>
            <ul class="cards">
              {g.items.map((x) => (
                <li key={x.id}>
                  <SnapshotCard s={x} shared={g.shared} onOpen={props.onOpen} />
                </li>
              ))}
            </ul>
          </section>
        ))}
    </div>
  );
}

function SnapshotCard({ s, shared, onOpen }: { s: SnapshotSummary; shared: boolean; onOpen: (s: SnapshotSummary) => void }) {
  const m = uiMsgs.value;
  const l = lang.value;
  useEffect(() => loadDetails(s.id), [s.id]);
  const d = details.value[s.id];
  const got = loadedDetails(d);
  const refused = isRefused(d);
  return (
    <button type="button" class={`card ${refused ? 'card-refused' : ''}`} data-snapshot={s.id} onClick={() => onOpen(s)}>
      <span class="card-line">
        <span class="card-title" translate={false}>
          {s.hostname}
        </span>
        <time class="card-date" dateTime={s.createdAt}>
          {formatDate(s.createdAt, l)}
        </time>
      </span>
      <span class="card-line card-meta">
        <span>{s.chainDepth <= 1 ? m.chain_full : m.chain_depth(s.chainDepth)}</span>
        {got ? <Size bytes={chainBytes(got)} /> : null}
      </span>
      {got ? (
        <span class="card-line card-counts">{[m.count_packages(got.counts.apt + got.counts.flatpak + got.counts.snap), m.count_repos(got.counts.repos), m.count_folders(got.counts.files)].join(', ')}</span>
      ) : refused ? (
        <span class="card-line card-bad">
          <Icon kind="bad" />
          {m.card_refused}
        </span>
      ) : (
        <span class="card-line card-counts">{d === 'loading' || d === undefined ? m.card_reading : m.card_unreadable}</span>
      )}
      {shared ? (
        <span class="card-line card-shared">
          {m.shared_by}{' '}
          <span translate={false} class="owner">
            {s.ownerName ?? s.owner}
          </span>
        </span>
      ) : null}
    </button>
  );
}
