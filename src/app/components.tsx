/**
 * The app's own pieces (the shared ones are src/ui/components.tsx): data
 * asked of the daemon and asked again when its revision moves, a progress
 * bar, the time left, an accessible modal dialog, a passphrase field, the
 * recovery key sheet (QR, the key, print), and an error callout.
 */
import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import type { RecoveryKeyView } from '../daemon/app/contract.ts';
import { Callout, ErrorDetail, etaSeconds, etaText, Screen as FrameScreen } from '../ui/components.tsx';
import { formatDate, percent } from '../ui/format.ts';
import { lang } from '../ui/i18n/index.ts';
import { ApiCallError } from './api.ts';
import type { ErrorCode } from '../util/coded-error.ts';
import { msgs, type Messages } from './i18n/index.ts';
import { app, now } from './state.ts';

/** The app's screen: the shared frame, with a body that may scroll (reachable by the keyboard). */
export function Screen(props: { title: string; children?: ComponentChildren; actions?: ComponentChildren; class?: string }) {
  return <FrameScreen {...props} scrolls />;
}

export interface Data<T> {
  data?: T;
  error?: ApiCallError;
  loading: boolean;
  reload: () => void;
}

/** Asks `load` once, again whenever `deps` or the daemon's revision change; keeps the last answer while asking again. */
export function useData<T>(load: (signal: AbortSignal) => Promise<T>, deps: unknown[]): Data<T> {
  const revision = app.value?.revision ?? 0;
  const [tick, setTick] = useState(0);
  const [st, setSt] = useState<{ data?: T; error?: ApiCallError; loading: boolean }>({ loading: true });
  useEffect(() => {
    const abort = new AbortController();
    setSt((s) => ({ ...s, loading: true }));
    load(abort.signal).then(
      (data) => !abort.signal.aborted && setSt({ data, loading: false }),
      (e: unknown) => !abort.signal.aborted && setSt((s) => ({ ...s, error: e instanceof ApiCallError ? e : new ApiCallError(0, undefined, String(e)), loading: false })),
    );
    return () => abort.abort();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, revision, tick]);
  return { ...st, reload: () => setTick((x) => x + 1) };
}

/** The daemon's error, said in words for the codes a person can act on, with its own text below. */
export function ErrorCallout(props: { error?: ApiCallError | { code: string; message: string }; children?: ComponentChildren }) {
  const m = msgs.value;
  if (!props.error) return null;
  const known = errorText(m, props.error.code);
  return (
    <div class="error-block" role="alert">
      <Callout tone="bad">{props.children ?? known ?? m.error_generic}</Callout>
      {known && !props.children ? null : <ErrorDetail error={props.error} />}
    </div>
  );
}

export function errorText(m: Messages, code: string): string | undefined {
  // The catalogue's codes (ApiCallError spells every answer so): a misspelled one does not compile.
  const t: Partial<Record<string, string>> = {
    wrong_secret: m.err_wrong_secret,
    network: m.err_network,
    app_not_signed_in: m.err_signed_out,
    app_job_running: m.err_job_running,
    app_recipient_without_key: m.err_recipient_without_key,
    not_found: m.err_not_found,
    app_vault_changed: m.err_vault_changed,
    capture_locked: m.err_capture_locked,
  } satisfies Partial<Record<ErrorCode, string>>;
  return t[code];
}

/** A bar with its share (0..1) for screen readers; `dataLabel`: the label is data (a path), not words. */
export function Bar(props: { fraction: number; label: string; big?: boolean; dataLabel?: boolean }) {
  const pct = percent(props.fraction, 1);
  return (
    <span class={`bar ${props.big ? 'bar-main' : ''}`} role="progressbar" aria-label={props.label} aria-valuemin={0} aria-valuemax={100} aria-valuenow={pct} translate={props.dataLabel ? false : undefined}>
      <span class="bar-fill" style={{ width: `${pct}%` }} />
    </span>
  );
}

/** "About 3 minutes left", counted down from the daemon's estimate. */
export function TimeLeft(props: { progress: { etaSeconds?: number; etaAt?: number } }) {
  const m = msgs.value;
  const s = etaSeconds(props.progress, now.value);
  return <span class="eta">{s === undefined ? m.eta_unknown : etaText(m, s)}</span>;
}

/** A modal dialog (the browser's own <dialog>: focus kept inside, Escape closes). */
export function Dialog(props: { title: string; open: boolean; onClose: () => void; children: ComponentChildren; actions: ComponentChildren; id: string }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (props.open && !d.open) d.showModal();
    if (!props.open && d.open) d.close();
  }, [props.open]);
  return (
    <dialog ref={ref} class="dialog" aria-labelledby={`${props.id}-dialog-title`} onClose={() => props.open && props.onClose()} onCancel={(e) => (e.preventDefault(), props.onClose())}>
      {props.open ? (
        <form method="dialog" class="dialog-body" onSubmit={(e) => e.preventDefault()}>
          <h2 id={`${props.id}-dialog-title`}>{props.title}</h2>
          {props.children}
          <div class="dialog-actions">{props.actions}</div>
        </form>
      ) : null}
    </dialog>
  );
}

/** A dialog asking before something that cannot be undone: Cancel, and the danger button that does it. */
export function ConfirmDialog(props: { id: string; title: string; open: boolean; onClose: () => void; confirm: string; onConfirm: () => void; confirmDisabled?: boolean; children: ComponentChildren }) {
  const m = msgs.value;
  return (
    <Dialog
      id={props.id}
      title={props.title}
      open={props.open}
      onClose={props.onClose}
      actions={
        <>
          <button type="button" class="btn secondary" onClick={props.onClose}>
            {m.cancel}
          </button>
          <button type="button" class="btn danger" disabled={props.confirmDisabled} onClick={props.onConfirm}>
            {props.confirm}
          </button>
        </>
      }
    >
      {props.children}
    </Dialog>
  );
}

/** A passphrase field with "show"; `error` below it, tied to it for screen readers. */
export function SecretField(props: { id: string; label: string; value: string; onInput: (v: string) => void; hint?: string; error?: string; autoComplete: 'current-password' | 'new-password' }) {
  const m = msgs.value;
  const [shown, setShown] = useState(false);
  const described = [props.hint ? `${props.id}-hint` : '', props.error ? `${props.id}-error` : ''].filter(Boolean).join(' ') || undefined;
  return (
    <div class={`field ${props.error ? 'field-invalid' : ''}`}>
      <label for={props.id}>{props.label}</label>
      <div class="input-row">
        <input
          id={props.id}
          type={(shown ? 'text' : 'password') as 'password'}
          value={props.value}
          autoComplete={props.autoComplete}
          spellcheck={false}
          aria-invalid={props.error ? true : undefined}
          aria-describedby={described}
          onInput={(e) => props.onInput((e.target as HTMLInputElement).value)}
        />
        <button type="button" class="btn small" aria-pressed={shown} aria-controls={props.id} onClick={() => setShown((x) => !x)}>
          {m.show_secret}
        </button>
      </div>
      {props.hint ? (
        <p class="hint" id={`${props.id}-hint`}>
          {props.hint}
        </p>
      ) : null}
      {props.error ? (
        <p class="field-error" id={`${props.id}-error`}>
          {props.error}
        </p>
      ) : null}
    </div>
  );
}

/**
 * A recovery key shown once: the QR code (a phone that scans it shows the
 * key), the key in large type, and a print button; printing prints only
 * this sheet (styles.css, @media print).
 */
export function RecoverySheet(props: { recovery: RecoveryKeyView; oldStopped?: boolean }) {
  const m = msgs.value;
  const [made] = useState(() => Date.now());
  const qr = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(props.recovery.qrSvg)}`;
  return (
    <section class="print-sheet" aria-labelledby="recovery-title">
      <h2 id="recovery-title">{m.recovery_title}</h2>
      <p class="print-only">{m.recovery_print_heading(app.value?.account.state === 'signed-in' ? app.value.account.user.name : '', formatDate(new Date(made).toISOString(), lang.value))}</p>
      <div class="recovery">
        <img class="qr" src={qr} alt={m.recovery_qr_alt} width={200} height={200} />
        <div class="recovery-text">
          <p class="recovery-key" translate={false}>
            {props.recovery.recoveryKey}
          </p>
          <p>{m.recovery_keep}</p>
          {props.oldStopped ? <p class="strong">{m.recovery_old_stopped}</p> : null}
          <p class="screen-only">
            <button type="button" class="btn secondary" onClick={() => window.print()}>
              {m.recovery_print}
            </button>
          </p>
        </div>
      </div>
    </section>
  );
}

/** A definition list of facts (label → value), wrapping on narrow windows. */
export function Facts(props: { items: [string, ComponentChildren][] }) {
  return (
    <dl class="facts">
      {props.items.map(([k, v]) => (
        <div key={k}>
          <dt>{k}</dt>
          <dd>{v}</dd>
        </div>
      ))}
    </dl>
  );
}
