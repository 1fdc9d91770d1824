/**
 * Account: who is signed in, since when, the storage used; sign out; the
 * audit log (what was created, read, shared, from which address, when —
 * newest first, more on demand); and deleting the account: asked for, it is
 * erased after the server's 24 h grace, counted down here (and in a banner
 * on every screen), cancellable until then.
 */
import { useState } from 'preact/hooks';
import type { AuditEntryView } from '../../daemon/app/contract.ts';
import { Callout, Size, Status, useSecondsLeft } from '../../ui/components.tsx';
import { formatDate } from '../../ui/format.ts';
import { lang } from '../../ui/i18n/index.ts';
import { call, type ApiCallError } from '../api.ts';
import { ConfirmDialog, ErrorCallout, Facts, Screen, useData } from '../components.tsx';
import { msgs, type Messages } from '../i18n/index.ts';
import { app } from '../state.ts';
import { signOut } from '../app.tsx';

/** Seconds as H:MM:SS. */
export function hms(s: number): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${Math.floor(s / 3600)}:${p(Math.floor((s % 3600) / 60))}:${p(s % 60)}`;
}

/** The time left until the erasure, exact to the second (src/ui: useSecondsLeft). */
export function EraseClock({ until }: { until: number }) {
  return (
    <span class="countdown" translate={false}>
      {hms(useSecondsLeft(until))}
    </span>
  );
}

function actionName(m: Messages, a: string): string {
  const t: Record<string, string> = {
    login: m.audit_login, 'snapshot.create': m.audit_snapshot_create, 'snapshot.read': m.audit_snapshot_read, 'snapshot.delete': m.audit_snapshot_delete,
    'snapshot.share': m.audit_snapshot_share, 'blob.create': m.audit_blob_create, 'blob.read': m.audit_blob_read, 'keys.update': m.audit_keys_update,
    'vault.read': m.audit_vault_read, 'vault.update': m.audit_vault_update, 'account.erase-requested': m.audit_erase_requested, 'account.erase-canceled': m.audit_erase_canceled,
  };
  return t[a] ?? a;
}

/** `snapshot:<64 hex>` → `snapshot:1a2b3c4d5e6f…` (the whole one in the title). */
const shortObject = (o: string) => o.replace(/([0-9a-f]{12})[0-9a-f]{52}/, '$1…');

export function Account() {
  const m = msgs.value;
  const l = lang.value;
  const d = useData((signal) => call('GET /api/app/account', { signal }), []);
  const acc = d.data;
  const eraseAfter = app.value?.account.state === 'signed-in' ? app.value.account.eraseAfter : null;
  const [outError, setOutError] = useState<ApiCallError>();
  return (
    <Screen
      title={m.account_title}
      class="account"
      actions={
        <button type="button" class="btn secondary" onClick={() => void signOut().catch(setOutError)}>
          {m.sign_out}
        </button>
      }
    >
      {!acc ? (
        d.error ? <ErrorCallout error={d.error} /> : <Status busy>{m.loading}</Status>
      ) : (
        <Facts
          items={[
            [m.fact_user, <span translate={false}>{acc.name}</span>],
            [m.fact_since, formatDate(new Date(acc.createdAt).toISOString(), l)],
            [m.storage, acc.usage.limit !== null ? m.bytes_of_quota(<Size bytes={acc.usage.used} />, <Size bytes={acc.usage.limit} />) : m.bytes_used(<Size bytes={acc.usage.used} />)],
            [m.fact_server, <span class="mono" translate={false}>{new URL(app.value!.server).host}</span>],
          ]}
        />
      )}
      <ErrorCallout error={outError} />
      <Erasure eraseAfter={eraseAfter} name={acc?.name ?? ''} />
      <Audit />
    </Screen>
  );
}

function Erasure({ eraseAfter, name }: { eraseAfter: number | null; name: string }) {
  const m = msgs.value;
  const [open, setOpen] = useState(false);
  const [typed, setTyped] = useState('');
  const [error, setError] = useState<ApiCallError>();
  const ask = async () => {
    setError(undefined);
    try {
      await call('POST /api/app/account/erase');
      setOpen(false);
    } catch (e) {
      setError(e as ApiCallError);
    }
  };
  const cancel = async () => {
    setError(undefined);
    try {
      await call('POST /api/app/account/erase/cancel');
    } catch (e) {
      setError(e as ApiCallError);
    }
  };
  return (
    <section class="panel danger-zone" aria-labelledby="erase-title">
      <h2 id="erase-title">{m.erase_title}</h2>
      {eraseAfter !== null ? (
        <>
          <Callout tone="bad" role="status">
            {m.erase_pending} <EraseClock until={eraseAfter} />
          </Callout>
          <p>
            <button type="button" class="btn primary" onClick={() => void cancel()}>
              {m.erase_cancel}
            </button>
          </p>
        </>
      ) : (
        <>
          <p>{m.erase_text}</p>
          <p>
            <button type="button" class="btn danger" onClick={() => (setTyped(''), setOpen(true))}>
              {m.erase_button}
            </button>
          </p>
        </>
      )}
      <ErrorCallout error={error} />
      <ConfirmDialog id="erase" title={m.erase_confirm_title} open={open} onClose={() => setOpen(false)} confirm={m.erase_confirm_button} confirmDisabled={typed !== name} onConfirm={() => void ask()}>
        <p>{m.erase_confirm_text}</p>
        <div class="field">
          <label for="erase-name">{m.erase_type_name(name)}</label>
          <input id="erase-name" type="text" value={typed} autoComplete="off" spellcheck={false} onInput={(e) => setTyped((e.target as HTMLInputElement).value)} />
        </div>
      </ConfirmDialog>
    </section>
  );
}

function Audit() {
  const m = msgs.value;
  const l = lang.value;
  const [before, setBefore] = useState<number[]>([]);
  const first = useData((signal) => call('GET /api/app/audit', { signal }), []);
  const [more, setMore] = useState<AuditEntryView[]>([]);
  const [next, setNext] = useState<number | undefined>();
  const entries = [...(first.data?.entries ?? []), ...more];
  const nextPage = next ?? first.data?.next;
  const loadMore = async () => {
    if (nextPage === undefined) return;
    const page = await call('GET /api/app/audit', { query: { before: String(nextPage) } });
    setMore([...more, ...page.entries]);
    setNext(page.next);
    setBefore([...before, nextPage]);
  };
  return (
    <section class="panel" aria-labelledby="audit-title">
      <h2 id="audit-title">{m.audit_title}</h2>
      <p class="hint">{m.audit_hint}</p>
      {!first.data ? (
        first.error ? <ErrorCallout error={first.error} /> : <Status busy>{m.loading}</Status>
      ) : (
        <>
          <ul class="audit">
            {entries.map((e) => (
              <li key={e.seq} class="audit-row">
                <time dateTime={new Date(e.at).toISOString()}>{formatDate(new Date(e.at).toISOString(), l)}</time>
                <span class="audit-what">{actionName(m, e.action)}</span>
                {e.object ? (
                  <span class="mono audit-object" translate={false} title={e.object}>
                    {shortObject(e.object)}
                  </span>
                ) : null}
                {e.otherUser ? (
                  <span class="muted">
                    {m.audit_other}{' '}
                    <span class="mono" translate={false}>
                      {e.otherUser.slice(0, 8)}
                    </span>
                  </span>
                ) : null}
                {e.ip ? (
                  <span class="muted">
                    {m.audit_from}{' '}
                    <span class="mono" translate={false}>
                      {e.ip}
                    </span>
                  </span>
                ) : null}
              </li>
            ))}
          </ul>
          {nextPage !== undefined ? (
            <p>
              <button type="button" class="btn small" onClick={() => void loadMore()}>
                {m.audit_more}
              </button>
            </p>
          ) : null}
        </>
      )}
    </section>
  );
}
