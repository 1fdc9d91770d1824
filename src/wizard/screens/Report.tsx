/**
 * Screen 7: done / partial / failed. What needs attention first (failed,
 * skipped, or done with notes such as packages missing from the archive),
 * then everything else by category, then the first-boot tasks.
 */
import type { StepResult } from '../../restore-machine/types.ts';
import type { StepView } from '../../daemon/ui-state.ts';
import { send } from '../api.ts';
import { Badge, Callout, GROUPS, Label, Screen, deferredLabel, groupName, statusText, stepLabel, type Group } from '../components.tsx';
import { formatDuration } from '../../ui/format.ts';
import { msgs } from '../i18n/index.ts';
import { ui } from '../state.ts';

export function Report() {
  const m = msgs.value;
  const s = ui.value!;
  const r = s.report!;
  const byId = new Map((s.plan?.steps ?? []).map((x) => [x.id, x]));
  const count = (st: StepResult['status']) => r.results.filter((x) => x.status === st).length;
  const failed = count('failed');
  const [title, text, tone] =
    r.status === 'done' ? [m.report_done_title, m.report_done_text, 'ok' as const]
    : r.status === 'partial' ? [m.report_partial_title, m.report_partial_text, 'warn' as const]
    : [m.report_failed_title, m.report_failed_text, 'bad' as const];
  const took = (Date.parse(r.finishedAt) - Date.parse(r.startedAt)) / 1000;
  const needsAttention = (x: StepResult) => x.status !== 'done' || Boolean(x.details?.length);
  const rank = { failed: 0, skipped: 1, done: 2 } as const;
  const attention = r.results.filter(needsAttention).sort((a, b) => rank[a.status] - rank[b.status]);
  const groupOf = (x: StepResult): Group => byId.get(x.stepId)?.category ?? 'firstboot';
  const groups = GROUPS.map((g) => ({ g, items: r.results.filter((x) => !needsAttention(x) && groupOf(x) === g) })).filter((x) => x.items.length);
  const installer = s.mode === 'installer';
  return (
    <Screen
      title={title}
      class="report"
      actions={
        failed ? (
          <button type="button" class="btn primary" onClick={() => send({ type: 'RETRY_FAILED' })}>
            {m.retry_failed}
          </button>
        ) : null
      }
    >
      <Callout tone={tone}>
        {`${text} ${m.report_counts(count('done'), count('skipped'), failed)}.${Number.isFinite(took) && took > 0 ? ` ${m.report_took(formatDuration(took))}.` : ''}`}
      </Callout>
      <div class="scroll report-scroll" tabIndex={0} role="region" aria-labelledby="report-details">
        <h2 id="report-details" class="visually-hidden">
          {m.report_details}
        </h2>
        {attention.length ? (
          <section class="report-group attention" aria-labelledby="rg-attention">
            <h3 id="rg-attention">{m.report_attention}</h3>
            <ul>
              {attention.map((x) => (
                <Result key={x.stepId} r={x} step={byId.get(x.stepId)} />
              ))}
            </ul>
          </section>
        ) : null}
        {groups.map(({ g, items }) => (
          <section key={g} class="report-group" aria-labelledby={`rg-${g}`}>
            <h3 id={`rg-${g}`}>{groupName(m, g)}</h3>
            <ul>
              {items.map((x) => (
                <Result key={x.stepId} r={x} step={byId.get(x.stepId)} compact />
              ))}
            </ul>
          </section>
        ))}
        {r.deferred.length ? (
          <section class="report-group" aria-labelledby="rg-deferred">
            <h3 id="rg-deferred">{m.report_deferred}</h3>
            <ul>
              {r.deferred.map((d) => (
                <li key={d.id} class="result">
                  <Label label={deferredLabel(m, d)} />
                </li>
              ))}
            </ul>
          </section>
        ) : null}
      </div>
      <p class="hint finish">{installer ? m.finish_installer : m.finish_standalone}</p>
    </Screen>
  );
}

/** One step's outcome; `compact` (plain successes) shows a tick instead of a badge. */
function Result({ r, step, compact }: { r: StepResult; step: StepView | undefined; compact?: boolean }) {
  const m = msgs.value;
  return (
    <li class={`result result-${r.status}`}>
      {compact ? (
        <span class="tick">
          <span aria-hidden="true">✓</span>
          <span class="visually-hidden">{statusText(m, r.status)}</span>
        </span>
      ) : (
        <Badge status={r.status} />
      )}
      <Label label={step ? stepLabel(m, step) : { value: r.stepId }} />
      {r.message ? (
        <p class="result-message" translate={false}>
          {r.message}
        </p>
      ) : null}
      {r.details?.length ? (
        <ul class="result-details" translate={false}>
          {r.details.map((d, i) => (
            <li key={i}>{d}</li>
          ))}
        </ul>
      ) : null}
    </li>
  );
}
