/**
 * The Backup app: a header (the product, who is signed in, the language), a
 * navigation (a side bar; a menu button on narrow windows), banners (the
 * account's erasure counting down, a lost connection), and the screen:
 * sign-in or the keys' setup until both are done, then the one the
 * address's #fragment names. Focus goes to the screen's heading whenever
 * the screen changes.
 */
import { useEffect, useState } from 'preact/hooks';
import { LangSwitch, Status } from '../ui/components.tsx';
import { call } from './api.ts';
import { Bar } from './components.tsx';
import { msgs, setLang } from './i18n/index.ts';
import { app, connection, freshRecovery, gate, hrefOf, route, type RouteName } from './state.ts';
import { Account, EraseClock } from './screens/Account.tsx';
import { Backup } from './screens/Backup.tsx';
import { Browse } from './screens/Browse.tsx';
import { Overview } from './screens/Overview.tsx';
import { RestoreJob } from './screens/RestoreJob.tsx';
import { Schedule } from './screens/Schedule.tsx';
import { SaveRecovery, SetUp } from './screens/SetUp.tsx';
import { Shared } from './screens/Shared.tsx';
import { SignIn } from './screens/SignIn.tsx';
import { Snapshot } from './screens/Snapshot.tsx';
import { Snapshots } from './screens/Snapshots.tsx';
import { Keys } from './screens/Keys.tsx';

const NAV: RouteName[] = ['overview', 'backup', 'schedule', 'snapshots', 'shared', 'keys', 'account'];

function navName(r: RouteName): string {
  const m = msgs.value;
  const names: Partial<Record<RouteName, string>> = { overview: m.nav_overview, backup: m.nav_backup, schedule: m.nav_schedule, snapshots: m.nav_snapshots, shared: m.nav_shared, keys: m.nav_keys, account: m.nav_account };
  return names[r] ?? r;
}

/** The navigation entry a route belongs to (a snapshot's screens are under Snapshots). */
function section(r: RouteName): RouteName {
  return r === 'snapshot' || r === 'files' ? 'snapshots' : r === 'restore' ? 'snapshots' : r;
}

function Screen() {
  const g = gate.value;
  const r = route.value;
  if (g === 'connecting') return <Connecting />;
  if (g === 'signin') return <SignIn />;
  if (g === 'setup') return <SetUp />;
  if (freshRecovery.value) return <SaveRecovery />;
  switch (r.name) {
    case 'backup': return <Backup />;
    case 'schedule': return <Schedule />;
    case 'snapshots': return <Snapshots />;
    case 'snapshot': return <Snapshot id={r.id!} />;
    case 'files': return <Browse id={r.id!} path={r.path} />;
    case 'restore': return <RestoreJob />;
    case 'shared': return <Shared />;
    case 'keys': return <Keys />;
    case 'account': return <Account />;
    default: return <Overview />;
  }
}

function Connecting() {
  const m = msgs.value;
  return (
    <>
      <h1 id="screen-title" tabIndex={-1}>
        {m.connecting_title}
      </h1>
      <div class="content">
        <Status busy>{connection.value === 'lost' ? m.connection_lost : m.connecting}</Status>
      </div>
    </>
  );
}

let firstRender = true;

export function App() {
  const m = msgs.value;
  const s = app.value;
  const g = gate.value;
  const r = route.value;
  const [menu, setMenu] = useState(false);
  const screenKey = freshRecovery.value && g === 'ready' ? 'recovery' : g === 'ready' ? `${r.name}:${r.id ?? ''}:${r.path ?? ''}` : g;

  useEffect(() => {
    document.getElementById('screen-title')?.focus({ preventScroll: true });
    setMenu(false);
    if (firstRender && g !== 'connecting') {
      firstRender = false;
      performance.mark('app-first-render');
    }
  }, [screenKey]);

  const signedIn = s?.account.state === 'signed-in' ? s.account : undefined;
  const eraseAfter = signedIn?.eraseAfter ?? null;
  const backup = s?.backup?.state === 'running' || s?.backup?.state === 'cancelling' ? s.backup : undefined;
  const restore = s?.restore?.state === 'running' || s?.restore?.state === 'cancelling' ? s.restore : undefined;
  return (
    <div class={`app ${g === 'ready' ? 'with-nav' : ''}`} data-screen={screenKey === 'recovery' ? 'recovery' : g === 'ready' ? r.name : g}>
      <header class="top">
        <span class="brand">{m.app_name}</span>
        {signedIn ? (
          <span class="who">
            <span class="visually-hidden">{m.signed_in_as}</span>
            <span translate={false}>{signedIn.user.name}</span>
          </span>
        ) : (
          <span class="who" />
        )}
        {g === 'ready' ? (
          <button type="button" class="btn small menu-button" aria-expanded={menu} aria-controls="nav" onClick={() => setMenu((x) => !x)}>
            {m.menu}
          </button>
        ) : null}
        <LangSwitch onPick={setLang} />
      </header>
      {connection.value === 'lost' && s ? (
        <p class="banner" role="status">
          {m.connection_lost}
        </p>
      ) : null}
      {eraseAfter !== null ? (
        <p class="banner banner-bad" role="status">
          {m.erase_banner(<EraseClock until={eraseAfter} />)}{' '}
          <a href="#/account">{m.erase_banner_link}</a>
        </p>
      ) : null}
      <div class="body">
        {g === 'ready' ? (
          <nav id="nav" class={`nav ${menu ? 'open' : ''}`} aria-label={m.nav_label}>
            <ul>
              {NAV.map((n) => (
                <li key={n}>
                  <a href={hrefOf({ name: n })} aria-current={section(r.name) === n ? 'page' : undefined} onClick={() => setMenu(false)}>
                    {navName(n)}
                  </a>
                </li>
              ))}
            </ul>
            {backup ? (
              <a class="nav-job" href="#/backup">
                <span>{m.job_backing_up}</span>
                <Bar fraction={backup.progress.fraction} label={m.job_backing_up} />
              </a>
            ) : null}
            {restore ? (
              <a class="nav-job" href="#/restore">
                <span>{m.job_restoring}</span>
                <Bar fraction={restore.progress.fraction} label={m.job_restoring} />
              </a>
            ) : null}
          </nav>
        ) : null}
        <main class="screen" key={screenKey}>
          <Screen />
        </main>
      </div>
    </div>
  );
}

/** Signs out (the header's and the setup's button). */
export async function signOut(): Promise<void> {
  await call('POST /api/app/sign-out');
  location.hash = '#/';
}
