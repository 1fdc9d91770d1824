/**
 * The restore of chosen files, as the daemon runs it: each path with its
 * bytes, the share done and the time left, cancel; then what happened to
 * each path (restored into which folder; a file that differed kept as
 * NAME.pre-restore; what failed and why).
 */
import { Badge, Callout, ErrorDetail, PathText } from '../../ui/components.tsx';
import { formatBytes } from '../../ui/format.ts';
import { lang } from '../../ui/i18n/index.ts';
import { call } from '../api.ts';
import { Bar, Screen, TimeLeft } from '../components.tsx';
import { msgs } from '../i18n/index.ts';
import { app } from '../state.ts';

export function RestoreJob() {
  const m = msgs.value;
  const l = lang.value;
  const job = app.value!.restore;
  const running = job && (job.state === 'running' || job.state === 'cancelling');
  return (
    <Screen
      title={m.restore_title}
      class="restore"
      actions={
        running ? (
          <button type="button" class="btn secondary" disabled={job.state === 'cancelling'} onClick={() => void call('POST /api/app/restore/cancel')}>
            {job.state === 'cancelling' ? m.cancelling : m.cancel_restore}
          </button>
        ) : (
          <a class="btn secondary" href="#/snapshots">
            {m.back_to_snapshots}
          </a>
        )
      }
    >
      {!job ? (
        <p>{m.restore_none}</p>
      ) : running ? (
        <>
          <p class="walk-away">{m.restore_walk_away}</p>
          <div class="overall">
            <p class="overall-line">
              <span class="strong">{m.restoring}</span>
              <TimeLeft progress={job.progress} />
            </p>
            <Bar fraction={job.progress.fraction} label={m.overall} big />
            <p class="numbers">{m.bytes_of(formatBytes(job.progress.doneBytes, l), formatBytes(job.progress.totalBytes, l))}</p>
          </div>
          <ul class="rows">
            {job.progress.items.map((it) => (
              <li key={it.path} class="row row-bar">
                <span class="row-name mono" translate={false}>
                  <PathText path={it.path} />
                </span>
                <Bar fraction={it.totalBytes ? Math.min(1, it.doneBytes / it.totalBytes) : it.state === 'done' ? 1 : 0} label={it.path} dataLabel />
                <Badge status={it.state} />
              </li>
            ))}
          </ul>
        </>
      ) : job.state === 'cancelled' ? (
        <Callout tone="warn">{m.restore_cancelled}</Callout>
      ) : job.state === 'failed' || !job.result ? (
        <>
          <Callout tone="bad">{m.restore_failed}</Callout>
          <ErrorDetail error={job.error} />
        </>
      ) : (
        <>
          {job.result.items.every((x) => x.status === 'done') ? (
            job.result.into === '~' ? (
              <Callout tone="ok">{m.restore_done_in_place}</Callout>
            ) : (
              <Callout tone="ok">
                {m.restore_done}{' '}
                <span class="mono" translate={false}>
                  {job.result.into}
                </span>
              </Callout>
            )
          ) : (
            <Callout tone="warn">{m.restore_partial}</Callout>
          )}
          <ul class="rows">
            {job.result.items.map((it) => (
              <li key={it.path} class="row row-result">
                <span class="row-name mono" translate={false}>
                  <PathText path={it.path} />
                </span>
                <Badge status={it.status} />
                {it.message ? (
                  <span class="row-detail block" translate={false}>
                    {it.message}
                  </span>
                ) : null}
                {it.kept?.length ? (
                  <ul class="details">
                    {it.kept.map((p) => (
                      <li key={p}>{m.kept_pre_restore(<span class="mono" translate={false}>{p}</span>)}</li>
                    ))}
                  </ul>
                ) : null}
              </li>
            ))}
          </ul>
        </>
      )}
    </Screen>
  );
}
