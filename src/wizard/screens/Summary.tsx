/**
 * Screen 5: preparing → the plan (steps by category with sizes, first-boot
 * tasks, vault state) → CONFIRM. Also prepare-failed (retry/back) and the
 * refusal of a snapshot that failed verification (back only).
 */
import type { UiState } from '../../daemon/ui-state.ts';
import { send } from '../api.ts';
import { Callout, ErrorDetail, GROUPS, Label, RefusedScreen, Screen, Size, Status, deferredLabel, groupName, stepLabel } from '../components.tsx';
import { msgs } from '../i18n/index.ts';
import { ui } from '../state.ts';

export function Summary() {
  const m = msgs.value;
  const s = ui.value!;
  if (s.phase === 'preparing') {
    return (
      <Screen title={m.preparing_title}>
        <Status busy>{m.preparing_text}</Status>
        <Facts s={s} />
      </Screen>
    );
  }
  if (s.phase === 'prepare-failed') {
    return (
      <Screen
        title={m.prepare_failed_title}
        actions={
          <>
            <button type="button" class="btn secondary" onClick={() => send({ type: 'BACK' })}>
              {m.back}
            </button>
            <button type="button" class="btn primary" onClick={() => send({ type: 'RETRY' })}>
              {m.retry}
            </button>
          </>
        }
      >
        <Callout tone="bad">{m.prepare_failed_text}</Callout>
        <ErrorDetail error={s.error} />
      </Screen>
    );
  }
  if (s.phase === 'refused') return <RefusedScreen error={s.error} onBack={() => send({ type: 'BACK' })} />;
  // ready
  const plan = s.plan;
  const installer = s.mode === 'installer';
  const secretsChosen = s.choice?.categories.includes('secrets') ?? false;
  const vaultNote =
    !plan || !secretsChosen ? null
    : plan.vault === 'unlocked' ? <Callout tone="ok">{m.vault_unlocked}</Callout>
    : <Callout tone="warn">{plan.vault === 'locked' ? m.vault_locked : m.vault_absent}</Callout>;
  return (
    <Screen
      title={s.confirmed ? m.confirmed_title : m.summary_title}
      class="summary"
      actions={
        s.confirmed ? null : (
          <>
            <button type="button" class="btn secondary" onClick={() => send({ type: 'BACK' })}>
              {m.change_choices}
            </button>
            <button type="button" class="btn primary" onClick={() => send({ type: 'CONFIRM' })} aria-describedby={installer ? 'installer-note' : undefined}>
              {installer ? m.confirm_installer : m.confirm_standalone}
            </button>
          </>
        )
      }
    >
      {s.confirmed ? (
        <Callout tone="ok" role="status">
          {m.confirmed_text}
        </Callout>
      ) : null}
      <Facts s={s} />
      {plan ? (
        <div class="scroll plan-scroll" tabIndex={0} role="region" aria-labelledby="plan-title">
          <h2 id="plan-title" class="visually-hidden">
            {m.plan_title}
          </h2>
          <div class="plan-groups">
            {GROUPS.filter((g) => g !== 'firstboot').map((g) => {
              const steps = plan.steps.filter((x) => x.category === g);
              if (!steps.length) return null;
              const bytes = steps.reduce((n, x) => n + x.bytes, 0);
              return (
                <section key={g} class="plan-group" aria-labelledby={`plan-${g}`}>
                  <h3 id={`plan-${g}`}>
                    <span>{groupName(m, g)}</span>
                    {bytes ? <Size bytes={bytes} /> : null}
                  </h3>
                  <ul>
                    {steps.map((x) => (
                      <li key={x.id}>
                        <Label label={stepLabel(m, x)} short={x.kind === 'files.restore' || x.kind === 'repo.restore'} />
                        {x.bytes ? <Size bytes={x.bytes} /> : null}
                      </li>
                    ))}
                  </ul>
                </section>
              );
            })}
            {plan.deferred.length ? (
              <section class="plan-group deferred" aria-labelledby="plan-deferred">
                <h3 id="plan-deferred">{m.deferred_title}</h3>
                <p class="hint">{m.deferred_text}</p>
                <ul>
                  {plan.deferred.map((d) => (
                    <li key={d.id}>
                      <Label label={deferredLabel(m, d)} />
                    </li>
                  ))}
                </ul>
              </section>
            ) : null}
          </div>
        </div>
      ) : null}
      {vaultNote}
      {installer && !s.confirmed ? (
        <p class="hint" id="installer-note">
          {m.confirm_installer_note}
        </p>
      ) : null}
    </Screen>
  );
}

/** The choice at a glance: computer name (a system setting), user, total to download. */
function Facts({ s }: { s: UiState }) {
  const m = msgs.value;
  if (!s.choice) return null;
  const total = s.plan?.steps.reduce((n, x) => n + x.bytes, 0);
  return (
    <dl class="facts">
      {s.choice.categories.includes('system') ? (
        <div>
          <dt>{m.fact_hostname}</dt>
          <dd translate={false}>{s.choice.hostname}</dd>
        </div>
      ) : null}
      <div>
        <dt>{m.fact_user}</dt>
        <dd translate={false}>{s.choice.targetUser}</dd>
      </div>
      {total !== undefined ? (
        <div>
          <dt>{m.fact_total}</dt>
          <dd>
            <Size bytes={total} />
          </dd>
        </div>
      ) : null}
    </dl>
  );
}
