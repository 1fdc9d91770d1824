/**
 * Keys: this account's key fingerprint (what someone sharing a snapshot with
 * me compares), the vault's slots, changing the passphrase (the old one
 * stops working), and a new recovery key (the old one stops working; the new
 * one is shown here once, with its QR code and a printable sheet).
 */
import { useState } from 'preact/hooks';
import type { RecoveryKeyView } from '../../daemon/app/contract.ts';
import { Callout, Status } from '../../ui/components.tsx';
import { call, type ApiCallError } from '../api.ts';
import { ErrorCallout, RecoverySheet, Screen, SecretField, useData } from '../components.tsx';
import { msgs } from '../i18n/index.ts';

const MIN = 8;

export function Keys() {
  const m = msgs.value;
  const d = useData((signal) => call('GET /api/app/keys', { signal }), []);
  const k = d.data;
  const count = (kind: string) => k?.slots.filter((s) => s.kind === kind).length ?? 0;
  return (
    <Screen title={m.keys_title} class="keys">
      {!k ? (
        d.error ? <ErrorCallout error={d.error} /> : <Status busy>{m.loading}</Status>
      ) : (
        <>
          <section class="panel" aria-labelledby="fp-title">
            <h2 id="fp-title">{m.fingerprint_title}</h2>
            <p class="fingerprint" translate={false}>
              {k.fingerprint}
            </p>
            <p class="hint">{m.fingerprint_hint}</p>
            <p>{m.slots_text(count('passphrase'), count('recovery'))}</p>
          </section>
          <div class="columns">
            <ChangePassphrase />
            <NewRecovery />
          </div>
        </>
      )}
    </Screen>
  );
}

function ChangePassphrase() {
  const m = msgs.value;
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [again, setAgain] = useState('');
  const [tried, setTried] = useState(false);
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState(false);
  const [error, setError] = useState<ApiCallError>();
  const nextError = tried ? (!next ? m.setup_pass_empty : next.length < MIN ? m.setup_pass_short(MIN) : next === current ? m.pass_same : undefined) : undefined;
  const againError = tried && !nextError && again !== next ? m.setup_pass_mismatch : undefined;
  const submit = async () => {
    setTried(true);
    setDone(false);
    if (!current || !next || next.length < MIN || next === current || again !== next) return;
    setBusy(true);
    setError(undefined);
    try {
      await call('POST /api/app/keys/passphrase', { body: { current, next } });
      setDone(true);
      setCurrent('');
      setNext('');
      setAgain('');
      setTried(false);
    } catch (e) {
      setError(e as ApiCallError);
    } finally {
      setBusy(false);
    }
  };
  return (
    <section class="panel" aria-labelledby="pass-title">
      <h2 id="pass-title">{m.change_pass_title}</h2>
      <form class="form" onSubmit={(e) => (e.preventDefault(), void submit())} noValidate>
        <SecretField id="pass-current" label={m.current_passphrase} value={current} onInput={setCurrent} autoComplete="current-password" error={tried && !current ? m.setup_pass_empty : undefined} />
        <SecretField id="pass-next" label={m.new_passphrase} value={next} onInput={setNext} autoComplete="new-password" error={nextError} hint={m.setup_pass_hint(MIN)} />
        <SecretField id="pass-again" label={m.repeat_passphrase} value={again} onInput={setAgain} autoComplete="new-password" error={againError} />
        <p>
          <button type="submit" class="btn primary" disabled={busy}>
            {m.change_pass_button}
          </button>
        </p>
      </form>
      {busy ? <Status busy>{m.keys_working}</Status> : null}
      {done ? (
        <Callout tone="ok" role="status">
          {m.change_pass_done}
        </Callout>
      ) : null}
      <ErrorCallout error={error} />
    </section>
  );
}

function NewRecovery() {
  const m = msgs.value;
  const [pass, setPass] = useState('');
  const [tried, setTried] = useState(false);
  const [busy, setBusy] = useState(false);
  const [made, setMade] = useState<RecoveryKeyView>();
  const [error, setError] = useState<ApiCallError>();
  const submit = async () => {
    setTried(true);
    if (!pass) return;
    setBusy(true);
    setError(undefined);
    try {
      const r = await call('POST /api/app/keys/recovery', { body: { passphrase: pass } });
      setMade({ recoveryKey: r.recoveryKey, qrSvg: r.qrSvg });
      setPass('');
      setTried(false);
    } catch (e) {
      setError(e as ApiCallError);
    } finally {
      setBusy(false);
    }
  };
  if (made) {
    return (
      <section class="panel" aria-labelledby="recovery-title">
        <RecoverySheet recovery={made} oldStopped />
        <p>
          <button type="button" class="btn secondary" onClick={() => setMade(undefined)}>
            {m.recovery_saved}
          </button>
        </p>
      </section>
    );
  }
  return (
    <section class="panel" aria-labelledby="newrec-title">
      <h2 id="newrec-title">{m.new_recovery_title}</h2>
      <p>{m.new_recovery_text}</p>
      <form class="form" onSubmit={(e) => (e.preventDefault(), void submit())} noValidate>
        <SecretField id="rec-pass" label={m.vault_passphrase} value={pass} onInput={setPass} autoComplete="current-password" error={tried && !pass ? m.setup_pass_empty : undefined} />
        <p>
          <button type="submit" class="btn primary" disabled={busy}>
            {m.new_recovery_button}
          </button>
        </p>
      </form>
      {busy ? <Status busy>{m.keys_working}</Status> : null}
      <ErrorCallout error={error} />
    </section>
  );
}
