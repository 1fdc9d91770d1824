/**
 * Shared with me: snapshots other Koder ID users shared with this account,
 * one group per person, in the same picker; a card opens the snapshot
 * (details, files, restore — with the keys the share sealed to my key).
 * A share revoked by its owner disappears from here (and its reads answer 404).
 */
import { Callout, Status } from '../../ui/components.tsx';
import { newestFirst, SnapshotPicker } from '../../ui/SnapshotPicker.tsx';
import type { SnapshotSummary } from '../../restore-machine/types.ts';
import { call } from '../api.ts';
import { ErrorCallout, Screen, useData } from '../components.tsx';
import { msgs } from '../i18n/index.ts';
import { go } from '../state.ts';

export function Shared() {
  const m = msgs.value;
  const d = useData((signal) => call('GET /api/app/snapshots', { signal }), []);
  const byOwner = new Map<string, SnapshotSummary[]>();
  for (const s of [...(d.data?.shared ?? [])].sort(newestFirst)) {
    const k = s.ownerName ?? s.owner;
    byOwner.set(k, [...(byOwner.get(k) ?? []), s]);
  }
  return (
    <Screen title={m.shared_title} class="snapshots">
      {!d.data ? (
        d.error ? <ErrorCallout error={d.error} /> : <Status busy>{m.loading}</Status>
      ) : byOwner.size === 0 ? (
        <Callout tone="warn">{m.shared_empty}</Callout>
      ) : (
        <>
          <p class="hint">{m.shared_hint}</p>
          <SnapshotPicker label={m.shared_title} groups={[...byOwner].map(([owner, items]) => ({ id: `owner-${owner}`, title: m.group_from(owner), items, shared: true }))} onOpen={(s) => go({ name: 'snapshot', id: s.id })} />
        </>
      )}
    </Screen>
  );
}
