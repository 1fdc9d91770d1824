/**
 * Signing in with Koder ID (device flow): the QR code for a phone, the code
 * and address for any device, or "open on this computer", which opens the
 * provider's page in a new tab of this browser. A code that expired or was
 * denied says so, with a new code a click away.
 */
import { useState } from 'preact/hooks';
import { Callout, DeviceCode, ErrorDetail, Status } from '../../ui/components.tsx';
import { call } from '../api.ts';
import { ErrorCallout, Screen } from '../components.tsx';
import { msgs } from '../i18n/index.ts';
import { app } from '../state.ts';
import type { ApiCallError } from '../api.ts';

export function SignIn() {
  const m = msgs.value;
  const s = app.value!;
  const a = s.account;
  const [error, setError] = useState<ApiCallError>();
  const start = () => call('POST /api/app/sign-in').then(() => setError(undefined), setError);
  const cancel = () => call('POST /api/app/sign-in/cancel').catch(setError);
  const server = new URL(s.server).host;

  if (a.state === 'checking') {
    return (
      <Screen title={m.connecting_title}>
        <Status busy>{m.checking_account}</Status>
      </Screen>
    );
  }
  if (a.state === 'signing-in') {
    return (
      <Screen
        title={m.signin_code_title}
        class="login"
        actions={
          <button type="button" class="btn secondary" onClick={cancel}>
            {m.cancel}
          </button>
        }
      >
        {a.login ? (
          <DeviceCode login={a.login}>
            <p>
              <a class="btn secondary open-here" href={a.login.verificationUriComplete} target="_blank" rel="noopener noreferrer">
                {m.signin_open_here}
              </a>
            </p>
          </DeviceCode>
        ) : (
          <Status busy>{m.signin_getting}</Status>
        )}
      </Screen>
    );
  }
  if (a.state === 'sign-in-failed') {
    const code = a.error.code;
    const [title, text] = code === 'EXPIRED' ? [m.signin_expired_title, m.signin_expired_text] : code === 'DENIED' ? [m.signin_denied_title, m.signin_denied_text] : [m.signin_failed_title, m.signin_failed_text];
    return (
      <Screen
        title={title}
        actions={
          <>
            <button type="button" class="btn secondary" onClick={cancel}>
              {m.cancel}
            </button>
            <button type="button" class="btn primary" onClick={start}>
              {m.signin_new_code}
            </button>
          </>
        }
      >
        <Callout tone={code === 'DENIED' ? 'bad' : 'warn'}>{text}</Callout>
        {code !== 'EXPIRED' && code !== 'DENIED' ? <ErrorDetail error={a.error} /> : null}
      </Screen>
    );
  }
  return (
    <Screen
      title={m.signin_title}
      actions={
        <button type="button" class="btn primary" onClick={start}>
          {m.signin_button}
        </button>
      }
    >
      <p class="lead">{m.signin_lead}</p>
      <ul class="checklist">
        <li>{m.signin_p1}</li>
        <li>{m.signin_p2}</li>
        <li>{m.signin_p3}</li>
        <li>{m.signin_p4}</li>
      </ul>
      <p class="hint">
        {m.signin_server}{' '}
        <span class="mono" translate={false}>
          {server}
        </span>
      </p>
      <ErrorCallout error={error} />
    </Screen>
  );
}
