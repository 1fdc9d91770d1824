/**
 * The app's Overview: this computer's last backup (when, how big — the card's
 * details give the size — and whether it went ok or left things out, from
 * capture's last-capture.json when it is that snapshot), the next scheduled
 * one, the storage used against the quota, and the account's other machines
 * with their last snapshot.
 */
import { readLastCapture, expandHome } from '../../capture/index.ts';
import type { SnapshotSummary } from '../../restore-machine/types.ts';
import type { MachineView, Overview } from './contract.ts';
import { scheduleView } from './schedule-config.ts';
import type { AppSession } from './session.ts';
import { listSnapshots } from './snapshots.ts';

export async function overview(s: AppSession): Promise<Overview> {
  const c = await s.client();
  const [me, { mine }, schedule, { config }] = await Promise.all([c.me(), listSnapshots(s), scheduleView(s), s.config()]);
  const hostname = s.state().host.hostname;
  const last = mine.find((x) => x.hostname === hostname);
  const record = last ? await readLastCapture(expandHome(config.cache.dir, s.home)) : undefined;
  const machines = new Map<string, { count: number; last: SnapshotSummary }>();
  for (const x of mine) {
    if (x.hostname === hostname) continue;
    const m = machines.get(x.hostname);
    if (m) m.count++;
    else machines.set(x.hostname, { count: 1, last: x });
  }
  const others: MachineView[] = [...machines].map(([h, m]) => ({ hostname: h, count: m.count, last: m.last }));
  return {
    me: { name: me.name, usage: me.usage },
    thisMachine: {
      hostname,
      ...(last ? { last } : {}),
      ...(record && last && record.id === last.id ? { outcome: { state: record.warnings.length ? ('partial' as const) : ('ok' as const), warnings: record.warnings.length } } : {}),
    },
    schedule,
    others,
  };
}
