/**
 * Screen 4 (local, before CHOOSE): hostname, target user, categories with
 * their sizes, and how to unlock secrets (passphrase, recovery key, or skip).
 * A snapshot whose chain fails verification (the details say so) is refused
 * here, at once: no form, only "choose another snapshot".
 */
import type { ComponentChildren } from 'preact';
import { useEffect, useLayoutEffect, useState } from 'preact/hooks';
import type { SnapshotDetails } from '../../daemon/ui-state.ts';
import { CATEGORIES, type Category } from '../../restore-machine/plan.ts';
import { send } from '../api.ts';
import { details, isRefused, loadDetails, loadedDetails } from '../../ui/details.ts';
import { RefusedScreen, Screen, Size, Status, groupName } from '../components.tsx';
import { formatDate } from '../../ui/format.ts';
import { checkHostname, checkUserName, type HostnameProblem } from '../hostname.ts';
import { lang, msgs, type Messages } from '../i18n/index.ts';
import { configuring, isWrongSecret, ui } from '../state.ts';

function hostnameMessage(m: Messages, p: HostnameProblem): string {
  return {
    empty: m.hostname_empty,
    too_long: m.hostname_too_long,
    label_empty: m.hostname_label_empty,
    label_too_long: m.hostname_label_too_long,
    chars: m.hostname_chars,
    hyphen: m.hostname_hyphen,
    numeric: m.hostname_numeric,
  }[p];
}

function describe(m: Messages, c: Category, d: SnapshotDetails): string {
  const items = d.byCategory[c]?.items ?? 0;
  if (items === 0) return m.cat_nothing;
  switch (c) {
    case 'system': return m.desc_system(items);
    case 'apps': return m.desc_apps(d.counts.apt, d.counts.flatpak, d.counts.snap);
    case 'repos': return m.desc_repos(items);
    case 'secrets': return m.desc_secrets(d.counts.secrets || items);
    case 'files': return m.desc_files(items);
  }
}

export function Configure() {
  const id = configuring.value!;
  const d = details.value[id];
  useEffect(() => loadDetails(id), [id]);
  // Failed verification when its details were read: refused before anything is configured or sent.
  if (isRefused(d)) return <RefusedScreen error={{ code: 'MANIFEST_VERIFY', message: d.message }} onBack={() => (configuring.value = null)} />;
  return <ConfigureForm id={id} />;
}

function ConfigureForm({ id }: { id: string }) {
  const m = msgs.value;
  const s = ui.value!;
  const snap = s.snapshots?.find((x) => x.id === id);
  const prior = s.choice?.snapshotId === id ? s.choice : undefined;

  const [hostname, setHostname] = useState(prior?.hostname ?? (s.defaults.hostname || snap?.hostname || ''));
  const [user, setUser] = useState(prior?.targetUser ?? s.defaults.targetUser);
  const [picked, setPicked] = useState<Set<Category> | null>(prior ? new Set(prior.categories) : null);
  const d = details.value[id];
  const [useKey, setUseKey] = useState(false);
  const [secret, setSecret] = useState('');
  const [show, setShow] = useState(false);
  const [touched, setTouched] = useState({ hostname: false, user: false });
  const [submitted, setSubmitted] = useState(false);
  /** The daemon's WRONG_SECRET shows at the field until the person edits it (and again after a new try). */
  const [secretEdited, setSecretEdited] = useState(false);
  const wrongSecret = isWrongSecret(s) && !secretEdited;
  /** After "skip secrets" / "restore secrets" the pressed button goes away: focus its counterpart. */
  const [focusNext, setFocusNext] = useState<string | null>(null);
  useLayoutEffect(() => {
    if (focusNext) document.getElementById(focusNext)?.focus();
    setFocusNext(null);
  }, [focusNext]);

  const loaded = loadedDetails(d);
  const has = (c: Category) => !loaded || (loaded.byCategory[c]?.items ?? 0) > 0;
  const chosen = picked ?? new Set(CATEGORIES.filter(has));
  const secretsExist = has('secrets');
  // From a drive the secret is always needed: it is what makes the export trustworthy (daemon/restore-source.ts).
  const fromDrive = s.source?.kind === 'export';
  const wantSecrets = (chosen.has('secrets') && secretsExist) || fromDrive;

  // The computer's name is a system setting: without "System settings" it is not written (plan.ts).
  const systemChosen = chosen.has('system') && has('system');
  const hostProblem = systemChosen ? checkHostname(hostname) : null;
  const hostError = hostProblem && (touched.hostname || submitted) ? hostnameMessage(m, hostProblem) : null;
  const userError = !checkUserName(user) && (touched.user || submitted) ? m.user_error : null;
  const catError = submitted && chosen.size === 0 ? m.categories_none : null;
  const secretError = !wantSecrets
    ? null
    : wrongSecret
      ? m.wrong_secret
      : submitted && !secret
        ? useKey ? m.recovery_key_required : m.passphrase_required
        : null;

  const toggle = (c: Category, on: boolean) => {
    const next = new Set(chosen);
    if (on) next.add(c);
    else next.delete(c);
    setPicked(next);
  };

  const submit = (e: Event) => {
    e.preventDefault();
    setSubmitted(true);
    const firstBad =
      hostProblem ? 'hostname'
      : !checkUserName(user) ? 'user'
      : chosen.size === 0 ? `cat-${CATEGORIES.find(has) ?? 'system'}`
      : wantSecrets && (!secret || wrongSecret) ? 'secret'
      : null;
    if (firstBad) {
      document.getElementById(firstBad)?.focus();
      return;
    }
    setSecretEdited(false);
    const categories = CATEGORIES.filter((c) => chosen.has(c) && (c !== 'secrets' || wantSecrets));
    void send({
      type: 'CHOOSE',
      choice: { snapshotId: id, hostname, targetUser: user, categories },
      ...(wantSecrets ? (useKey ? { recoveryKey: secret } : { passphrase: secret }) : {}),
    });
  };

  return (
    <Screen
      title={m.configure_title}
      class="configure"
      actions={
        <>
          <button type="button" class="btn secondary" onClick={() => (configuring.value = null)}>
            {m.back}
          </button>
          <button type="submit" form="configure-form" class="btn primary">
            {m.configure_next}
          </button>
        </>
      }
    >
      {snap ? (
        <p class="hint from">
          {m.configure_from}{' '}
          <span translate={false} class="strong">
            {snap.hostname}
          </span>
          {' · '}
          <time dateTime={snap.createdAt}>{formatDate(snap.createdAt, lang.value)}</time>
        </p>
      ) : null}
      <form id="configure-form" class="config-grid" noValidate onSubmit={submit}>
        <div class="config-fields">
          <Field id="hostname" label={m.hostname_label} hint={systemChosen ? m.hostname_hint : m.hostname_not_chosen} error={hostError}>
            {(describedBy) => (
              <input
                id="hostname"
                name="hostname"
                type="text"
                value={hostname}
                autocomplete="off"
                autocapitalize="none"
                spellcheck={false}
                maxLength={300}
                disabled={!systemChosen}
                aria-invalid={hostError ? 'true' : 'false'}
                aria-describedby={describedBy}
                onInput={(e) => setHostname(e.currentTarget.value)}
                onBlur={() => setTouched((t) => ({ ...t, hostname: true }))}
              />
            )}
          </Field>
          <Field id="user" label={m.user_label} hint={m.user_hint} error={userError}>
            {(describedBy) => (
              <input
                id="user"
                name="user"
                type="text"
                value={user}
                autocomplete="off"
                autocapitalize="none"
                spellcheck={false}
                aria-invalid={userError ? 'true' : 'false'}
                aria-describedby={describedBy}
                onInput={(e) => setUser(e.currentTarget.value)}
                onBlur={() => setTouched((t) => ({ ...t, user: true }))}
              />
            )}
          </Field>
        </div>
        <fieldset class="categories" aria-describedby={catError ? 'cat-err' : undefined}>
          <legend>{m.categories_legend}</legend>
          {d === 'loading' || d === undefined ? <Status busy class="small">{m.details_loading}</Status> : null}
          {typeof d === 'object' && 'failed' in d ? (
            <p class="details-failed">
              {m.details_failed}{' '}
              <button type="button" class="link" onClick={() => loadDetails(id, true)}>
                {m.retry}
              </button>
            </p>
          ) : null}
          {CATEGORIES.map((c) => (
            <label key={c} class={`cat ${has(c) ? '' : 'cat-empty'}`} for={`cat-${c}`}>
              <input id={`cat-${c}`} type="checkbox" checked={chosen.has(c) && has(c)} disabled={!has(c)} onChange={(e) => toggle(c, e.currentTarget.checked)} />
              <span class="cat-main">
                <span class="cat-name">{groupName(m, c)}</span>
                {loaded ? <span class="cat-desc">{describe(m, c, loaded)}</span> : null}
              </span>
              {loaded && loaded.byCategory[c].bytes > 0 ? <Size bytes={loaded.byCategory[c].bytes} /> : null}
            </label>
          ))}
          {catError ? (
            <p id="cat-err" class="field-error">
              {catError}
            </p>
          ) : null}
        </fieldset>
        {secretsExist || fromDrive ? (
          <div class="secrets">
            {wantSecrets ? (
              <>
                <Field id="secret" label={useKey ? m.recovery_key_label : m.passphrase_label} hint={fromDrive ? m.drive_secret_hint : useKey ? m.recovery_key_hint : m.passphrase_hint} error={secretError}>
                  {(describedBy) => (
                    <span class="input-row">
                      <input
                        id="secret"
                        name={useKey ? 'recovery-key' : 'passphrase'}
                        type={(show ? 'text' : 'password') as 'password'}
                        value={secret}
                        autocomplete="off"
                        autocapitalize="none"
                        spellcheck={false}
                        aria-invalid={secretError ? 'true' : 'false'}
                        aria-describedby={describedBy}
                        onInput={(e) => {
                          setSecret(e.currentTarget.value);
                          setSecretEdited(true);
                        }}
                      />
                      <button type="button" class="btn small" aria-pressed={show} onClick={() => setShow(!show)}>
                        {m.show_secret}
                      </button>
                    </span>
                  )}
                </Field>
                <p class="link-row">
                  <button
                    type="button"
                    class="link"
                    onClick={() => {
                      setUseKey(!useKey);
                      setSecret('');
                      setSecretEdited(true);
                    }}
                  >
                    {useKey ? m.use_passphrase : m.use_recovery_key}
                  </button>
                  {fromDrive ? null : (
                    <button
                      type="button"
                      class="link"
                      onClick={() => {
                        toggle('secrets', false);
                        setFocusNext('restore-secrets');
                      }}
                    >
                      {m.skip_secrets}
                    </button>
                  )}
                </p>
              </>
            ) : (
              <p class="link-row">
                <span>{m.secrets_skipped}</span>{' '}
                <button
                  id="restore-secrets"
                  type="button"
                  class="link"
                  onClick={() => {
                    toggle('secrets', true);
                    setFocusNext('secret');
                  }}
                >
                  {m.restore_secrets}
                </button>
              </p>
            )}
          </div>
        ) : null}
      </form>
    </Screen>
  );
}

/** A labelled input with its hint, or its error in the hint's place. */
function Field(props: { id: string; label: string; hint: string; error: string | null; children: (describedBy: string) => ComponentChildren }) {
  const described = props.error ? `${props.id}-err` : `${props.id}-hint`;
  return (
    <div class={`field ${props.error ? 'field-invalid' : ''}`}>
      <label for={props.id}>{props.label}</label>
      {props.children(described)}
      {props.error ? (
        <p id={`${props.id}-err`} class="field-error">
          <span aria-hidden="true">⚠ </span>
          {props.error}
        </p>
      ) : (
        <p id={`${props.id}-hint`} class="hint">
          {props.hint}
        </p>
      )}
    </div>
  );
}
