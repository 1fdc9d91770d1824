/**
 * Screen 3: the person's snapshots and the ones shared with them, newest
 * first; or skip the restore. Each card says what the snapshot holds (its
 * whole chain, folded: packages, repositories, folders and their size), read
 * from the daemon's details, which verify the chain: a snapshot that fails
 * verification says so on its card.
 */
import { useEffect } from 'preact/hooks';
import type { SnapshotDetails } from '../../daemon/ui-state.ts';
import type { SnapshotSummary } from '../../restore-machine/types.ts';
import { loadDetails, send } from '../api.ts';
import { Callout, ErrorDetail, Icon, Screen, Size, Status } from '../components.tsx';
import { formatDate } from '../format.ts';
import { lang, msgs } from '../i18n/index.ts';
import { configuring, details, isRefused, loadedDetails, ui } from '../state.ts';

/** Bytes of everything the folded chain restores (files and repository bundles). */
export const chainBytes = (d: SnapshotDetails) => Object.values(d.byCategory).reduce((n, c) => n + c.bytes, 0);

const newestFirst = (a: SnapshotSummary, b: SnapshotSummary) => Date.parse(b.createdAt) - Date.parse(a.createdAt);

export function Choose() {
  const m = msgs.value;
  const s = ui.value!;
  if (s.phase === 'loading') {
    return (
      <Screen title={m.choose_title}>
        <Status busy>{m.choose_loading}</Status>
      </Screen>
    );
  }
  if (s.phase === 'list-failed') {
    const drive = s.source?.kind === 'export';
    return (
      <Screen
        title={m.choose_failed_title}
        actions={
          <>
            {drive ? (
              <button type="button" class="btn secondary" onClick={() => send({ type: 'BACK' })}>
                {m.back}
              </button>
            ) : null}
            <button type="button" class="btn primary" onClick={() => send({ type: 'RETRY' })}>
              {m.retry}
            </button>
          </>
        }
      >
        <Callout tone="bad">{drive ? m.drive_failed_text : m.choose_failed_text}</Callout>
        <ErrorDetail error={s.error} />
      </Screen>
    );
  }
  const me = s.user?.id;
  const all = s.snapshots ?? [];
  const isShared = (x: SnapshotSummary) => x.shared || (me !== undefined && x.owner !== me);
  const mine = all.filter((x) => !isShared(x)).sort(newestFirst);
  const shared = all.filter(isShared).sort(newestFirst);
  return (
    <Screen
      title={m.choose_title}
      class="choose"
      actions={
        // Nothing worth restoring (or no snapshot at all): go on with a fresh system.
        <>
          <button type="button" class="btn secondary" onClick={() => send({ type: 'SKIP' })} aria-describedby="choose-skip-hint">
            {m.choose_skip}
          </button>
          <span class="hint actions-hint" id="choose-skip-hint">
            {m.choose_skip_hint}
          </span>
        </>
      }
    >
      {all.length === 0 ? (
        <Callout tone="warn">{m.choose_empty}</Callout>
      ) : (
        <>
          <p class="hint">{m.choose_hint}</p>
          <div class="scroll list-scroll">
            {mine.length ? <SnapshotGroup title={m.choose_mine} id="mine" items={mine} shared={false} /> : null}
            {shared.length ? <SnapshotGroup title={m.choose_shared} id="shared" items={shared} shared /> : null}
          </div>
        </>
      )}
    </Screen>
  );
}

function SnapshotGroup(props: { title: string; id: string; items: SnapshotSummary[]; shared: boolean }) {
  return (
    <section aria-labelledby={`group-${props.id}`}>
      <h2 id={`group-${props.id}`}>{props.title}</h2>
      <ul class="cards">
        {props.items.map((x) => (
          <li key={x.id}>
            <SnapshotCard s={x} shared={props.shared} />
          </li>
        ))}
      </ul>
    </section>
  );
}

function SnapshotCard({ s, shared }: { s: SnapshotSummary; shared: boolean }) {
  const m = msgs.value;
  const l = lang.value;
  useEffect(() => loadDetails(s.id), [s.id]);
  const d = details.value[s.id];
  const got = loadedDetails(d);
  const refused = isRefused(d);
  return (
    <button type="button" class={`card ${refused ? 'card-refused' : ''}`} data-snapshot={s.id} onClick={() => (configuring.value = s.id)}>
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
            {s.owner}
          </span>
        </span>
      ) : null}
    </button>
  );
}
