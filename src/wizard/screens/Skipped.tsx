/** After "Skip": nothing will be restored. */
import { Callout, Screen } from '../components.tsx';
import { msgs } from '../i18n/index.ts';
import { ui } from '../state.ts';

export function Skipped() {
  const m = msgs.value;
  const installer = ui.value?.mode === 'installer';
  return (
    <Screen title={m.skipped_title}>
      <p class="lead">{m.skipped_text}</p>
      <p>
        <code class="command" translate={false}>
          koder-snapshot restore
        </code>
      </p>
      <Callout tone="ok">{installer ? m.finish_installer : m.finish_standalone}</Callout>
    </Screen>
  );
}
