/**
 * Screen 3: the person's snapshots and the ones shared with them, newest
 * first; or skip the restore. Each card says what the snapshot holds (its
 * whole chain, folded: packages, repositories, folders and their size), read
 * from the daemon's details, which verify the chain: a snapshot that fails
 * verification says so on its card.
 */
import { send } from '../api.ts';
import { Callout, ErrorDetail, Screen, Status } from '../components.tsx';
import { msgs } from '../i18n/index.ts';
import { configuring, ui } from '../state.ts';
import { SnapshotPicker, splitMineShared } from '../../ui/SnapshotPicker.tsx';

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
  const all = s.snapshots ?? [];
  const { mine, shared } = splitMineShared(all, s.user?.id);
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
          <SnapshotPicker
            groups={[
              { id: 'mine', title: m.choose_mine, items: mine, shared: false },
              { id: 'shared', title: m.choose_shared, items: shared, shared: true },
            ]}
            onOpen={(x) => (configuring.value = x.id)}
          />
        </>
      )}
    </Screen>
  );
}
