/**
 * The wizard: a header (product, step, language), a status banner, and the
 * screen for the daemon's phase. Focus goes to the screen's heading whenever
 * the screen changes (or to the passphrase after a wrong one).
 */
import { useEffect } from 'preact/hooks';
import { msgs, setLang, type Messages } from './i18n/index.ts';
import { LangSwitch } from '../ui/components.tsx';
import { connection, isWrongSecret, screen, sendFailed, ui, type ScreenKey } from './state.ts';
import { Choose } from './screens/Choose.tsx';
import { Configure } from './screens/Configure.tsx';
import { Connecting } from './screens/Connecting.tsx';
import { Login } from './screens/Login.tsx';
import { Progress } from './screens/Progress.tsx';
import { Report } from './screens/Report.tsx';
import { Skipped } from './screens/Skipped.tsx';
import { Summary } from './screens/Summary.tsx';
import { Welcome } from './screens/Welcome.tsx';

const STEPS = 7;
function stepOf(m: Messages, key: ScreenKey): [number, string] | null {
  switch (key) {
    case 'welcome': return [1, m.step_welcome];
    case 'login': case 'login-failed': return [2, m.step_login];
    case 'loading': case 'list-failed': case 'choose': return [3, m.step_choose];
    case 'configure': return [4, m.step_configure];
    case 'preparing': case 'prepare-failed': case 'refused': case 'ready': case 'confirmed': return [5, m.step_summary];
    case 'applying': case 'apply-failed': return [6, m.step_progress];
    case 'report': return [7, m.step_report];
    default: return null;
  }
}

function Body({ k }: { k: ScreenKey }) {
  switch (k) {
    case 'connecting': return <Connecting />;
    case 'welcome': return <Welcome />;
    case 'login': case 'login-failed': return <Login />;
    case 'loading': case 'list-failed': case 'choose': return <Choose />;
    case 'configure': return <Configure />;
    case 'preparing': case 'prepare-failed': case 'refused': case 'ready': case 'confirmed': return <Summary />;
    case 'applying': case 'apply-failed': return <Progress />;
    case 'report': return <Report />;
    case 'skipped': return <Skipped />;
  }
}

let firstRender = true;

export function App() {
  const m = msgs.value;
  const key = screen.value;
  const step = stepOf(m, key);

  useEffect(() => {
    const target = key === 'configure' && isWrongSecret(ui.peek()) ? document.getElementById('secret') : document.getElementById('screen-title');
    target?.focus({ preventScroll: true });
    if (firstRender && key !== 'connecting') {
      firstRender = false;
      performance.mark('wizard-first-render');
    }
  }, [key]);

  return (
    <div class="app" data-screen={key} data-phase={ui.value?.phase ?? 'none'} data-mode={ui.value?.mode}>
      <header class="top">
        <span class="brand" translate={false}>
          Koder Snapshots
        </span>
        {step ? <span class="step">{m.step_of(step[0], STEPS, step[1])}</span> : <span class="step" />}
        <LangSwitch onPick={setLang} />
      </header>
      {connection.value === 'lost' && ui.value ? (
        <p class="banner" role="status">
          {m.connection_lost}
        </p>
      ) : sendFailed.value ? (
        <p class="banner" role="alert">
          {m.send_failed}
        </p>
      ) : null}
      <main class="screen" key={key}>
        <Body k={key} />
      </main>
    </div>
  );
}
