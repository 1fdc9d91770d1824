/** Screen 1: restore from Koder ID, or skip. */
import { send } from '../api.ts';
import { Callout, Screen } from '../components.tsx';
import { msgs } from '../i18n/index.ts';

export function Welcome() {
  const m = msgs.value;
  return (
    <Screen
      title={m.welcome_title}
      class="welcome"
      actions={
        <>
          <button type="button" class="btn secondary" onClick={() => send({ type: 'SKIP' })} aria-describedby="skip-hint">
            {m.welcome_skip}
          </button>
          <span class="hint actions-hint" id="skip-hint">
            {m.welcome_skip_hint}
          </span>
          <button type="button" class="btn primary" onClick={() => send({ type: 'START' })}>
            {m.welcome_start}
          </button>
        </>
      }
    >
      <p class="lead">{m.welcome_lead}</p>
      <ul class="checklist">
        <li>{m.welcome_p1}</li>
        <li>{m.welcome_p2}</li>
        <li>{m.welcome_p3}</li>
        <li>{m.welcome_p4}</li>
        <li>{m.welcome_p5}</li>
      </ul>
      <Callout tone="ok" icon="ok">
        {m.welcome_safe}
      </Callout>
    </Screen>
  );
}
