/** Screen 2: the device-flow code (QR, user code, URL, time left); expired / denied / failed. */
import { send } from '../api.ts';
import { Callout, ErrorDetail, Screen, Status } from '../components.tsx';
import { formatClock } from '../format.ts';
import { msgs } from '../i18n/index.ts';
import { now, ui } from '../state.ts';

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
  const left = (login.expiresAt - now.value) / 1000;
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
        <p class={`timer ${left <= 60 ? 'timer-low' : ''}`}>{left > 0 ? m.login_time_left(formatClock(left)) : m.login_time_over}</p>
        <Status busy>{m.login_waiting}</Status>
      </div>
    </Screen>
  );
}
