/** Screen 2: the device-flow code (QR, user code, URL, time left); expired / denied / failed. */
import { useEffect, useState } from 'preact/hooks';
import { send } from '../api.ts';
import { Callout, ErrorDetail, Screen, Status } from '../components.tsx';
import { formatClock } from '../format.ts';
import { msgs } from '../i18n/index.ts';
import { ui } from '../state.ts';

/**
 * Whole seconds until `until` (epoch ms), rounded up as a countdown reads
 * (10:00 for the first second of a 10-minute code, 0:01 for its last), read
 * from the clock at each render and re-rendered right when it changes — not
 * from a once-a-second tick, which may be up to a second old and would show
 * one second too many (10:01) or still 0:01 after the code expired.
 */
function useSecondsLeft(until: number): number {
  const [, rerender] = useState(0);
  const left = Math.max(0, Math.ceil((until - Date.now()) / 1000));
  useEffect(() => {
    if (left <= 0) return;
    const t = setTimeout(() => rerender((x) => x + 1), Math.max(0, until - Date.now() - (left - 1) * 1000) + 1);
    return () => clearTimeout(t);
  });
  return left;
}

export function Login() {
  const m = msgs.value;
  const s = ui.value!;
  if (s.phase === 'login-failed') {
    const code = s.error?.code;
    const [title, text] =
      code === 'EXPIRED' ? [m.login_expired_title, m.login_expired_text]
      : code === 'DENIED' ? [m.login_denied_title, m.login_denied_text]
      : [m.login_failed_title, m.login_failed_text];
    return (
      <Screen
        title={title}
        actions={
          <button type="button" class="btn primary" onClick={() => send({ type: 'NEW_CODE' })}>
            {m.login_new_code}
          </button>
        }
      >
        <Callout tone={code === 'DENIED' ? 'bad' : 'warn'}>{text}</Callout>
        {code !== 'EXPIRED' && code !== 'DENIED' ? <ErrorDetail error={s.error} /> : null}
      </Screen>
    );
  }
  const login = s.login;
  if (!login) {
    return (
      <Screen title={m.login_title}>
        <Status busy>{m.login_getting}</Status>
      </Screen>
    );
  }
  const qr = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(login.qrSvg)}`;
  return (
    <Screen title={m.login_title} class="login">
      <div class="qr-box">
        <img class="qr" src={qr} alt={m.login_qr_alt} width={220} height={220} />
      </div>
      <div class="login-text">
        <p>{m.login_scan}</p>
        <p>
          {m.login_or_open}
          <br />
          <span class="url" translate={false}>
            {login.verificationUri}
          </span>
        </p>
        <p>{m.login_enter_code}</p>
        <p class="user-code" translate={false}>
          {login.userCode}
        </p>
        <Countdown until={login.expiresAt} />
        <Status busy>{m.login_waiting}</Status>
      </div>
    </Screen>
  );
}

/** "The code expires in 9:12", exact to the second; "This code has expired." once it has. */
function Countdown({ until }: { until: number }) {
  const m = msgs.value;
  const left = useSecondsLeft(until);
  return <p class={`timer ${left <= 60 ? 'timer-low' : ''}`}>{left > 0 ? m.login_time_left(formatClock(left)) : m.login_time_over}</p>;
}
