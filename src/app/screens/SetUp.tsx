/**
 * This computer's keys, once after signing in (src/capture/init.ts): the
 * account's vault passphrase brings its identity here ("fetch"), or, on an
 * account without a vault, a new passphrase makes the identity and the
 * vault ("create") — and then the recovery key is shown, once, with its QR
 * code and a printable sheet. An identity here that is not the vault's is
 * explained, not overwritten.
 */
import { useState } from 'preact/hooks';
import { Callout, Status } from '../../ui/components.tsx';
import { call, type ApiCallError } from '../api.ts';
import { ErrorCallout, RecoverySheet, Screen, SecretField } from '../components.tsx';
import { msgs } from '../i18n/index.ts';
import { app, freshRecovery } from '../state.ts';
import { signOut } from '../app.tsx';

const MIN = 8;

export function SetUp() {
  const m = msgs.value;
  const keys = app.value!.keys;
  const [pass, setPass] = useState('');
  const [again, setAgain] = useState('');
  const [tried, setTried] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiCallError>();

  const signOutButton = (
    <button type="button" class="btn secondary" onClick={() => void signOut().catch(setError)}>
      {m.sign_out}
    </button>
  );
  if (keys.state === 'conflict' || keys.state === 'unknown') {
    return (
      <Screen title={m.setup_problem_title} actions={signOutButton}>
        <Callout tone="bad">{keys.state === 'conflict' ? m.setup_conflict : m.setup_unknown}</Callout>
        {keys.message ? (
          <p class="mono small" translate={false}>
            {keys.message}
          </p>
        ) : null}
        {keys.state === 'conflict' ? <p class="command">koder-snapshot init --force</p> : null}
        <ErrorCallout error={error} />
      </Screen>
    );
  }
  const create = keys.state === 'create';
  const passError = tried && (!pass ? m.setup_pass_empty : create && pass.length < MIN ? m.setup_pass_short(MIN) : undefined);
  const againError = tried && create && !passError && again !== pass ? m.setup_pass_mismatch : undefined;
  const submit = async () => {
    setTried(true);
    if (!pass || (create && (pass.length < MIN || again !== pass))) return;
    setBusy(true);
    setError(undefined);
    try {
      const r = await call('POST /api/app/setup', { body: { passphrase: pass } });
      if (r.recovery) freshRecovery.value = r.recovery;
    } catch (e) {
      setError(e as ApiCallError);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Screen
      title={create ? m.setup_create_title : m.setup_fetch_title}
      actions={
        <>
          {signOutButton}
          <button type="submit" form="setup-form" class="btn primary" disabled={busy}>
            {create ? m.setup_create_button : m.setup_fetch_button}
          </button>
        </>
      }
    >
      <p>{create ? m.setup_create_text : m.setup_fetch_text}</p>
      <form id="setup-form" class="form" onSubmit={(e) => (e.preventDefault(), void submit())} noValidate>
        <SecretField id="setup-pass" label={create ? m.new_passphrase : m.vault_passphrase} value={pass} onInput={setPass} autoComplete={create ? 'new-password' : 'current-password'} error={passError || undefined} hint={create ? m.setup_pass_hint(MIN) : undefined} />
        {create ? <SecretField id="setup-again" label={m.repeat_passphrase} value={again} onInput={setAgain} autoComplete="new-password" error={againError || undefined} /> : null}
      </form>
      {busy ? <Status busy>{m.setup_working}</Status> : null}
      <ErrorCallout error={error} />
    </Screen>
  );
}

/** After a setup that made a vault: the recovery key, once, until the person says it is saved. */
export function SaveRecovery() {
  const m = msgs.value;
  const r = freshRecovery.value!;
  return (
    <Screen
      title={m.recovery_save_title}
      actions={
        <button type="button" class="btn primary" onClick={() => (freshRecovery.value = null)}>
          {m.recovery_saved}
        </button>
      }
    >
      <p>{m.recovery_save_text}</p>
      <RecoverySheet recovery={r} />
    </Screen>
  );
}
