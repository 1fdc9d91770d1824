/** Screen 2: the device-flow code (QR, user code, URL, time left); expired / denied / failed. */
import { send } from '../api.ts';
import { Callout, ErrorDetail, Screen, Status } from '../components.tsx';
import { DeviceCode } from '../../ui/components.tsx';
import { msgs } from '../i18n/index.ts';
import { ui } from '../state.ts';

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
  return (
    <Screen title={m.login_title} class="login">
      <DeviceCode login={login} />
    </Screen>
  );
}
