/**
 * Snapshots: the account's snapshots, newest first, one group per computer
 * (this one first) — the same snapshot picker as the installer's Choose
 * screen (src/ui/SnapshotPicker.tsx); a card opens the snapshot's details.
 */
import { Callout, Status } from '../../ui/components.tsx';
import { byMachine, SnapshotPicker } from '../../ui/SnapshotPicker.tsx';
import { call } from '../api.ts';
import { ErrorCallout, Screen, useData } from '../components.tsx';
import { msgs } from '../i18n/index.ts';
import { app, go } from '../state.ts';

export function Snapshots() {
  const m = msgs.value;
  const d = useData((signal) => call('GET /api/app/snapshots', { signal }), []);
  const host = app.value!.host.hostname;
  const groups = d.data ? byMachine(d.data.mine).sort((a, b) => Number(b.hostname === host) - Number(a.hostname === host)) : [];
  return (
    <Screen title={m.snapshots_title} class="snapshots">
      {!d.data ? (
        d.error ? <ErrorCallout error={d.error} /> : <Status busy>{m.loading}</Status>
      ) : groups.length === 0 ? (
        <Callout tone="warn">{m.snapshots_empty}</Callout>
      ) : (
        <>
          <p class="hint">{m.snapshots_hint}</p>
          <SnapshotPicker
            label={m.snapshots_title}
            groups={groups.map((g) => ({ id: `host-${g.hostname}`, title: g.hostname === host ? m.group_this_computer(g.hostname) : g.hostname, items: g.items, shared: false }))}
            onOpen={(s) => go({ name: 'snapshot', id: s.id })}
          />
        </>
      )}
    </Screen>
  );
}
