/**
 * Back up now: start; then, live, each collector (system settings, apps,
 * repositories, secrets, folders) and each folder with its bytes read, the
 * upload, the share done and the time left; cancel at any time (nothing is
 * posted). Then the result: the snapshot, what was uploaded, the folders
 * and their sizes, and what was left out and why. The daemon runs it:
 * closing this page loses nothing.
 */
import { Badge, Callout, ErrorDetail, Size, Status, PathText } from '../../ui/components.tsx';
import { formatBytes, formatDate } from '../../ui/format.ts';
import { lang } from '../../ui/i18n/index.ts';
import type { BackupProgress, BackupResult, JobView } from '../../daemon/app/contract.ts';
import { ApiCallError, call } from '../api.ts';
import { Bar, ErrorCallout, Screen, TimeLeft } from '../components.tsx';
import { msgs, type Messages } from '../i18n/index.ts';
import { app, go, hrefOf } from '../state.ts';
import { signal } from '@preact/signals';

const startError = signal<ApiCallError | undefined>(undefined);

/** Starts a backup (from any screen) and shows it. */
export async function startBackup(): Promise<void> {
  startError.value = undefined;
  try {
    await call('POST /api/app/backup');
  } catch (e) {
    startError.value = e as ApiCallError;
  }
  go({ name: 'backup' });
}

export function categoryName(m: Messages, c: string): string {
  return ({ system: m.cat_system, apps: m.cat_apps, repos: m.cat_repos, secrets: m.cat_secrets, files: m.cat_files } as Record<string, string>)[c] ?? c;
}

export function Backup() {
  const m = msgs.value;
  const job = app.value!.backup;
  const running = job && (job.state === 'running' || job.state === 'cancelling');
  return (
    <Screen
      title={m.backup_title}
      class="backup"
      actions={
        running ? (
          <button type="button" class="btn secondary" disabled={job.state === 'cancelling'} onClick={() => void call('POST /api/app/backup/cancel')}>
            {job.state === 'cancelling' ? m.cancelling : m.cancel_backup}
          </button>
        ) : (
          <button type="button" class="btn primary" onClick={() => void startBackup()}>
            {m.backup_now}
          </button>
        )
      }
    >
      <ErrorCallout error={startError.value} />
      {!job ? <p>{m.backup_intro}</p> : running ? <Running job={job} /> : <Finished job={job} />}
    </Screen>
  );
}

function Running({ job }: { job: JobView<BackupProgress, BackupResult> }) {
  const m = msgs.value;
  const l = lang.value;
  const p = job.progress;
  const phase = { starting: m.phase_starting, collecting: m.phase_collecting, uploading: m.phase_uploading, posting: m.phase_posting }[p.phase];
  return (
    <>
      <p class="walk-away">{m.backup_walk_away}</p>
      <div class="overall">
        <p class="overall-line">
          <span class="strong">{phase}</span>
          <TimeLeft progress={p} />
        </p>
        <Bar fraction={p.fraction} label={m.overall} big />
        <p class="numbers">
          {p.totalBytes > 0 ? <span>{m.read_of(formatBytes(p.doneBytes, l), formatBytes(p.totalBytes, l))}</span> : null}
          {p.upload.total > 0 ? <span>{m.uploaded_of(formatBytes(p.upload.done, l), formatBytes(p.upload.total, l))}</span> : null}
          {p.warnings ? <span>{m.warnings_count(p.warnings)}</span> : null}
        </p>
      </div>
      <section aria-labelledby="folders-title">
        <h2 id="folders-title">{m.folders_title}</h2>
        {p.folders.length ? (
          <ul class="rows">
            {p.folders.map((f) => (
              <li key={f.label} class="row row-bar">
                <span class="row-name mono" translate={false}>
                  <PathText path={f.label} />
                </span>
                <Bar fraction={f.total ? f.done / f.total : f.state === 'done' ? 1 : 0} label={f.label} dataLabel />
                <span class="row-detail">{f.unchanged ? m.unchanged : f.total ? m.bytes_of(formatBytes(f.done, l), formatBytes(f.total, l)) : f.state === 'done' ? m.status_done : ''}</span>
              </li>
            ))}
          </ul>
        ) : (
          <Status>{m.folders_waiting}</Status>
        )}
      </section>
      <section aria-labelledby="collectors-title">
        <h2 id="collectors-title">{m.collectors_title}</h2>
        <ul class="rows">
          {p.collectors.map((c) => (
            <li key={c.name} class="row">
              <span class="row-name">{categoryName(m, c.name)}</span>
              <Badge status={c.state === 'running' ? 'running' : c.state === 'done' ? 'done' : c.state === 'skipped' ? 'skipped' : 'pending'} />
              {c.summary ? (
                <span class="row-detail collector-summary" translate={false}>
                  {c.summary}
                </span>
              ) : null}
            </li>
          ))}
        </ul>
      </section>
    </>
  );
}

function Finished({ job }: { job: JobView<BackupProgress, BackupResult> }) {
  const m = msgs.value;
  const l = lang.value;
  if (job.state === 'cancelled') return <Callout tone="warn">{m.backup_cancelled}</Callout>;
  if (job.state === 'failed' || !job.result) {
    return (
      <>
        <Callout tone="bad">{job.error?.code === 'interrupted' ? m.backup_interrupted : m.backup_failed}</Callout>
        <ErrorDetail error={job.error} />
      </>
    );
  }
  const r = job.result;
  return (
    <>
      <Callout tone={r.warnings.length ? 'warn' : 'ok'}>
        {r.warnings.length ? m.backup_done_partial(r.warnings.length) : m.backup_done}{' '}
        <a href={hrefOf({ name: 'snapshot', id: r.id })}>{m.open_snapshot}</a>
      </Callout>
      <p>
        {job.endedAt ? <time dateTime={new Date(job.endedAt).toISOString()}>{formatDate(new Date(job.endedAt).toISOString(), l)}</time> : null}
        {' · '}
        {r.kind === 'full' ? m.kind_full : m.kind_delta}
        {' · '}
        {m.uploaded(formatBytes(r.uploadedBytes, l))}
      </p>
      <div class="columns">
        <section aria-labelledby="result-folders">
          <h2 id="result-folders">{m.folders_title}</h2>
          <ul class="rows">
            {r.folders.map((f) => (
              <li key={f.label} class="row">
                <span class="row-name mono" translate={false}>
                  <PathText path={f.label} />
                </span>
                <Size bytes={f.size} />
                {f.files !== undefined ? <span class="row-detail">{m.count_files(f.files)}</span> : null}
              </li>
            ))}
          </ul>
        </section>
        {r.warnings.length ? (
          <section aria-labelledby="result-warnings">
            <h2 id="result-warnings">{m.left_out_title}</h2>
            <p class="hint">{m.left_out_hint}</p>
            <ul class="warnings" translate={false}>
              {r.warnings.map((w, i) => (
                <li key={i}>{w}</li>
              ))}
            </ul>
          </section>
        ) : null}
      </div>
    </>
  );
}
