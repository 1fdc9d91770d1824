/**
 * Overview: this computer's last backup (when, how big, whether it went
 * well or left things out), the next scheduled one, the storage used
 * against the quota, and the account's other computers with their last
 * snapshot. "Back up now" is one click away.
 */
import { useEffect } from 'preact/hooks';
import { Callout, Icon, Size, Status } from '../../ui/components.tsx';
import { chainBytes } from '../../ui/SnapshotPicker.tsx';
import { details, loadDetails, loadedDetails } from '../../ui/details.ts';
import { formatDate } from '../../ui/format.ts';
import { lang } from '../../ui/i18n/index.ts';
import { call } from '../api.ts';
import { Bar, ErrorCallout, Screen, useData } from '../components.tsx';
import { msgs } from '../i18n/index.ts';
import { go, hrefOf } from '../state.ts';
import { startBackup } from './Backup.tsx';

export function Overview() {
  const m = msgs.value;
  const l = lang.value;
  const d = useData((signal) => call('GET /api/app/overview', { signal }), []);
  const o = d.data;
  const last = o?.thisMachine.last;
  useEffect(() => void (last && loadDetails(last.id)), [last?.id]);
  const size = last ? loadedDetails(details.value[last.id]) : null;
  const usage = o?.me.usage;
  return (
    <Screen
      title={m.overview_title}
      class="overview"
      actions={
        <button type="button" class="btn primary" onClick={() => void startBackup()}>
          {m.backup_now}
        </button>
      }
    >
      {!o ? d.error ? <ErrorCallout error={d.error} /> : <Status busy>{m.loading}</Status> : (
        <div class="tiles">
          <section class="tile" aria-labelledby="tile-this">
            <h2 id="tile-this">
              {m.this_computer}{' '}
              <span class="mono" translate={false}>
                {o.thisMachine.hostname}
              </span>
            </h2>
            {last ? (
              <>
                <p>
                  {m.last_backup}{' '}
                  <a href={hrefOf({ name: 'snapshot', id: last.id })}>
                    <time dateTime={last.createdAt}>{formatDate(last.createdAt, l)}</time>
                  </a>
                  {size ? (
                    <>
                      {' · '}
                      <Size bytes={chainBytes(size)} />
                    </>
                  ) : null}
                </p>
                {o.thisMachine.outcome?.state === 'ok' ? (
                  <Callout tone="ok">{m.outcome_ok}</Callout>
                ) : o.thisMachine.outcome?.state === 'partial' ? (
                  <Callout tone="warn">
                    {m.outcome_partial(o.thisMachine.outcome.warnings)} <a href="#/backup">{m.outcome_see}</a>
                  </Callout>
                ) : null}
              </>
            ) : (
              <Callout tone="warn">{m.never_backed_up}</Callout>
            )}
          </section>
          <section class="tile" aria-labelledby="tile-next">
            <h2 id="tile-next">{m.next_backup}</h2>
            {o.schedule.enabled && o.schedule.nextAt ? (
              <p>
                <time dateTime={new Date(o.schedule.nextAt).toISOString()}>{formatDate(new Date(o.schedule.nextAt).toISOString(), l)}</time>
                {o.schedule.nextEstimated ? ` ${m.next_about}` : ''}
              </p>
            ) : (
              <p>{m.schedule_off}</p>
            )}
            <p>
              <a href="#/schedule">{m.change_schedule}</a>
            </p>
          </section>
          <section class="tile" aria-labelledby="tile-storage">
            <h2 id="tile-storage">{m.storage}</h2>
            {usage && usage.limit !== null ? (
              <>
                <Bar fraction={usage.limit > 0 ? usage.used / usage.limit : 0} label={m.storage} />
                <p>{m.bytes_of_quota(<Size bytes={usage.used} />, <Size bytes={usage.limit} />)}</p>
              </>
            ) : usage ? (
              <p>{m.bytes_used(<Size bytes={usage.used} />)}</p>
            ) : null}
          </section>
          <section class="tile tile-wide" aria-labelledby="tile-others">
            <h2 id="tile-others">{m.other_computers}</h2>
            {o.others.length ? (
              <ul class="machines">
                {o.others.map((x) => (
                  <li key={x.hostname}>
                    <Icon kind="folder" />
                    <span class="mono" translate={false}>
                      {x.hostname}
                    </span>
                    <span class="muted">
                      {m.machine_last(formatDate(x.last.createdAt, l))} · {m.count_snapshots(x.count)}
                    </span>
                    <button type="button" class="link" onClick={() => go({ name: 'snapshot', id: x.last.id })}>
                      {m.open}
                      <span class="visually-hidden" translate={false}> {x.hostname}</span>
                    </button>
                  </li>
                ))}
              </ul>
            ) : (
              <p class="muted">{m.no_other_computers}</p>
            )}
          </section>
        </div>
      )}
    </Screen>
  );
}
