/** Screen 6: per-category bars, the current item (the package apt is installing), bytes, "about N minutes left"; apply-failed → retry. */
import type { ProgressView, StepView } from '../../daemon/ui-state.ts';
import { etaSeconds, etaText } from '../../ui/components.tsx';
import { send } from '../api.ts';
import { Callout, ErrorDetail, GROUPS, Label, Screen, groupName, stepLabel, type Group } from '../components.tsx';
import { formatBytes, percent } from '../../ui/format.ts';
import { lang, msgs, type Messages } from '../i18n/index.ts';
import { now, ui } from '../state.ts';

const finished = (x: StepView) => x.status === 'done' || x.status === 'skipped' || x.status === 'failed';

/**
 * Share done of a set of steps: from the daemon's ETA model when it gave one
 * (each step's share weighed by its seconds: apt moves while it installs);
 * else by bytes when they move bytes, else by items, else by steps.
 */
export function stepsPercent(steps: StepView[]): number {
  if (steps.length && steps.every((x) => x.share !== undefined)) {
    const weight = (x: StepView) => Math.max(x.seconds ?? 0, 0.5);
    const all = steps.reduce((n, x) => n + weight(x), 0);
    return steps.every(finished) ? 100 : Math.min(99, percent(steps.reduce((n, x) => n + x.share! * weight(x), 0), all));
  }
  const bytes = steps.reduce((n, x) => n + x.bytes, 0);
  if (bytes > 0) return percent(steps.reduce((n, x) => n + (finished(x) ? x.bytes : Math.min(x.doneBytes, x.bytes)), 0), bytes);
  const items = steps.reduce((n, x) => n + x.items, 0);
  if (items > 0) return percent(steps.reduce((n, x) => n + (finished(x) ? x.items : Math.min(x.doneItems, x.items)), 0), items);
  return percent(steps.filter(finished).length, steps.length);
}

function groupStatus(m: Messages, steps: StepView[]): string {
  if (steps.some((x) => x.status === 'failed')) return m.status_with_failures;
  if (steps.every(finished)) return m.status_done;
  if (steps.some((x) => x.status === 'running' || finished(x) || x.doneBytes > 0)) return m.status_running;
  return m.status_pending;
}

/** What the current step does now, in words: "installing python3.11", "downloading packages". */
function phaseText(m: Messages, phase: string | undefined, detail: string | undefined): string | undefined {
  switch (phase) {
    case 'update': return m.phase_update;
    case 'resolve': return m.phase_resolve;
    case 'download': return m.phase_download;
    case 'install': return detail ? m.phase_install(detail) : m.phase_install_any;
    default: return undefined;
  }
}

export function Progress() {
  const m = msgs.value;
  const l = lang.value;
  const s = ui.value!;
  const steps = s.plan?.steps ?? [];
  const p: ProgressView = s.progress ?? { totalBytes: 0, doneBytes: 0, totalItems: 0, doneItems: 0, fraction: 0 };
  const failed = s.phase === 'apply-failed';
  const overall = Math.floor(Math.min(1, Math.max(0, p.fraction)) * 100);
  const current = steps.find((x) => x.id === p.current) ?? steps.find((x) => x.status === 'running');
  const eta = etaSeconds(p, now.value);
  const doing = current?.status === 'running' ? phaseText(m, current.phase, current.detail) : undefined;
  const groups = GROUPS.filter((g) => steps.some((x) => x.category === g));
  return (
    <Screen
      title={failed ? m.apply_failed_title : m.progress_title}
      class="progress"
      actions={
        failed ? (
          <button type="button" class="btn primary" onClick={() => send({ type: 'RETRY' })}>
            {m.retry}
          </button>
        ) : null
      }
    >
      {failed ? (
        <>
          <Callout tone="bad">{m.apply_failed_text}</Callout>
          <ErrorDetail error={s.error} />
        </>
      ) : (
        <Callout tone="ok">{s.mode === 'installer' ? `${m.progress_installer} ${m.walk_away}` : m.walk_away}</Callout>
      )}
      <div class="overall">
        <Bar id="bar-overall" label={m.progress_overall} value={overall} big />
        <p class="overall-numbers">
          <span>{m.bytes_of(formatBytes(p.doneBytes, l), formatBytes(p.totalBytes, l))}</span>
          {failed ? null : <span class="eta">{eta !== undefined ? etaText(m, eta) : m.eta_unknown}</span>}
        </p>
        {failed ? null : (
          <p class="current" role="status" aria-live="polite" aria-atomic="true">
            <span class="current-label">{m.progress_now}</span>{' '}
            {current ? <Label label={stepLabel(m, current)} /> : <span>{m.progress_starting}</span>}
            {current && doing ? (
              <span class="current-phase">
                {' — '}
                {doing}
              </span>
            ) : null}
          </p>
        )}
      </div>
      {failed ? null : (
        // Announced in steps of 10 %, not on every byte.
        <p class="visually-hidden" role="status">{`${m.progress_overall}: ${Math.floor(overall / 10) * 10}%`}</p>
      )}
      <section class="bars" aria-labelledby="bars-title">
        <h2 id="bars-title" class="visually-hidden">
          {m.categories_progress}
        </h2>
        {groups.map((g: Group) => {
          const gs = steps.filter((x) => x.category === g);
          return <Bar key={g} id={`bar-${g}`} label={groupName(m, g)} value={stepsPercent(gs)} status={groupStatus(m, gs)} />;
        })}
      </section>
    </Screen>
  );
}

function Bar(props: { id: string; label: string; value: number; status?: string; big?: boolean }) {
  return (
    <div class={`bar-row ${props.big ? 'bar-big' : ''}`}>
      <span class="bar-label" id={`${props.id}-label`}>
        {props.label}
      </span>
      <span
        class="bar"
        role="progressbar"
        aria-labelledby={`${props.id}-label`}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={props.value}
        aria-valuetext={props.status ? `${props.value}% (${props.status})` : `${props.value}%`}
      >
        <span class="bar-fill" style={{ width: `${props.value}%` }} />
      </span>
      <span class="bar-pct" translate={false} aria-hidden="true">
        {props.value}%
      </span>
      {props.status ? (
        <span class="bar-status" aria-hidden="true">
          {props.status}
        </span>
      ) : null}
    </div>
  );
}
