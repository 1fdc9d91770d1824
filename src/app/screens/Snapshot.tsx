/**
 * A snapshot: what it holds (its verified, folded chain: system settings,
 * apps with counts, repositories, secrets by name only, folders with sizes),
 * its files to browse and restore, and — for my own — sharing it with
 * another Koder ID user (their key's fingerprint shown to compare), who it
 * is shared with (revoke), and deleting it, with what that frees first.
 */
import { useState } from 'preact/hooks';
import { Callout, Icon, Size, Status } from '../../ui/components.tsx';
import { formatBytes, formatDate } from '../../ui/format.ts';
import { lang } from '../../ui/i18n/index.ts';
import { forgetDetails } from '../../ui/details.ts';
import type { SnapshotFull, UserLookup } from '../../daemon/app/contract.ts';
import { call, type ApiCallError } from '../api.ts';
import { ConfirmDialog, ErrorCallout, Facts, Screen, useData } from '../components.tsx';
import { msgs } from '../i18n/index.ts';
import { go, hrefOf } from '../state.ts';

export function Snapshot({ id }: { id: string }) {
  const m = msgs.value;
  const l = lang.value;
  const d = useData((signal) => call('GET /api/app/snapshots/:id', { params: { id }, signal }), [id]);
  const s = d.data;
  if (!s) {
    return (
      <Screen title={m.snapshot_title_loading}>
        {d.error ? (
          <>
            <ErrorCallout error={d.error}>{d.error.code === 'not_found' ? m.snapshot_gone : d.error.code === 'manifest_verify' ? m.snapshot_refused : undefined}</ErrorCallout>
            <p>
              <a href="#/snapshots">{m.back_to_snapshots}</a>
            </p>
          </>
        ) : (
          <Status busy>{m.loading}</Status>
        )}
      </Screen>
    );
  }
  const mine = !s.owner;
  return (
    <Screen
      title={m.snapshot_title(s.hostname)}
      class="snapshot"
      actions={
        <>
          {mine ? <DeleteButton s={s} /> : null}
          <a class="btn primary" href={hrefOf({ name: 'files', id })}>
            {m.browse_files}
          </a>
        </>
      }
    >
      <Facts
        items={[
          [m.fact_created, <time dateTime={s.createdAt}>{formatDate(s.createdAt, l)}</time>],
          [m.fact_size, <Size bytes={s.bytes} />],
          [m.fact_chain, s.chain.length <= 1 ? m.chain_full : m.chain_depth(s.chain.length)],
          [m.fact_format, s.version === 2 ? m.format_v2 : m.format_v1],
          ...(s.owner ? ([[m.fact_shared_by, <span translate={false}>{s.ownerName ?? s.owner}</span>]] as [string, preact.ComponentChildren][]) : []),
        ]}
      />
      <div class="holds">
        <section aria-labelledby="h-folders">
          <h2 id="h-folders">{m.cat_files}</h2>
          {s.folders.length ? (
            <ul class="rows">
              {s.folders.map((f) => (
                <li key={f.path} class="row">
                  <Icon kind="folder" />
                  <a class="row-name mono" translate={false} href={hrefOf({ name: 'files', id, path: f.version === 2 ? f.path : undefined })}>
                    {f.path}
                  </a>
                  <Size bytes={f.size} />
                  {f.files !== undefined ? <span class="row-detail">{m.count_files(f.files)}</span> : <span class="row-detail">{m.folder_v1}</span>}
                </li>
              ))}
            </ul>
          ) : (
            <p class="muted">{m.nothing_saved}</p>
          )}
        </section>
        <section aria-labelledby="h-system">
          <h2 id="h-system">{m.cat_system}</h2>
          <ul class="plain">
            {s.system.timezone ? <li>{m.sys_timezone} <span class="mono" translate={false}>{s.system.timezone}</span></li> : null}
            {s.system.locale ? <li>{m.sys_locale} <span class="mono" translate={false}>{s.system.locale}</span></li> : null}
            {s.system.keyboard ? <li>{m.sys_keyboard} <span class="mono" translate={false}>{s.system.keyboard}</span></li> : null}
            {s.system.gpuDriver ? <li>{m.sys_gpu} <span class="mono" translate={false}>{s.system.gpuDriver}</span></li> : null}
            <li>{m.sys_desktop(s.system.desktopSettings)}</li>
          </ul>
        </section>
        <section aria-labelledby="h-apps">
          <h2 id="h-apps">{m.cat_apps}</h2>
          <p>{m.apps_counts(s.apps.apt, s.apps.flatpak, s.apps.snap, s.apps.kpkg)}</p>
          {s.apps.sources ? <p class="muted">{m.apps_sources(s.apps.sources)}</p> : null}
        </section>
        <section aria-labelledby="h-repos">
          <h2 id="h-repos">{m.cat_repos}</h2>
          {s.repos.length ? (
            <ul class="plain">
              {s.repos.map((r) => (
                <li key={r.path}>
                  <span class="mono" translate={false}>
                    {r.path}
                  </span>{' '}
                  <span class="muted">{r.bundled ? m.repo_bundled : m.repo_remote}</span>
                </li>
              ))}
            </ul>
          ) : (
            <p class="muted">{m.nothing_saved}</p>
          )}
        </section>
        <section aria-labelledby="h-secrets">
          <h2 id="h-secrets">{m.cat_secrets}</h2>
          {s.secrets.length ? (
            <>
              <p class="hint">{m.secrets_names_only}</p>
              <ul class="plain">
                {s.secrets.map((n) => (
                  <li key={n} class="mono" translate={false}>
                    {n}
                  </li>
                ))}
              </ul>
            </>
          ) : (
            <p class="muted">{m.nothing_saved}</p>
          )}
        </section>
      </div>
      {mine ? <Sharing id={id} /> : null}
    </Screen>
  );
}

function DeleteButton({ s }: { s: SnapshotFull }) {
  const m = msgs.value;
  const l = lang.value;
  const [open, setOpen] = useState(false);
  const [error, setError] = useState<ApiCallError>();
  const [busy, setBusy] = useState(false);
  const plan = useData((signal) => (open ? call('GET /api/app/snapshots/:id/delete-plan', { params: { id: s.id }, signal }) : Promise.resolve(undefined)), [open, s.id]);
  const confirm = async () => {
    setBusy(true);
    try {
      const r = await call('DELETE /api/app/snapshots/:id', { params: { id: s.id } });
      forgetDetails(r.deleted);
      setOpen(false);
      go({ name: 'snapshots' });
    } catch (e) {
      setError(e as ApiCallError);
    } finally {
      setBusy(false);
    }
  };
  const p = plan.data;
  return (
    <>
      <button type="button" class="btn danger" onClick={() => setOpen(true)}>
        {m.delete_snapshot}
      </button>
      <ConfirmDialog
        id="delete"
        title={m.delete_title}
        open={open}
        onClose={() => setOpen(false)}
        confirm={p && p.deletes.length > 1 ? m.delete_confirm_many(p.deletes.length) : m.delete_confirm}
        confirmDisabled={!p || busy}
        onConfirm={() => void confirm()}
      >
        {p ? (
          <>
            <p>{m.delete_frees(formatBytes(p.frees, l))}</p>
            {p.deletes.length > 1 ? <Callout tone="warn">{m.delete_children(p.deletes.length - 1)}</Callout> : null}
            <p class="hint">{m.delete_cannot_undo}</p>
          </>
        ) : plan.error ? (
          <ErrorCallout error={plan.error} />
        ) : (
          <Status busy>{m.delete_working_out}</Status>
        )}
        <ErrorCallout error={error} />
      </ConfirmDialog>
    </>
  );
}

function Sharing({ id }: { id: string }) {
  const m = msgs.value;
  const l = lang.value;
  const shares = useData((signal) => call('GET /api/app/snapshots/:id/shares', { params: { id }, signal }), [id]);
  const [user, setUser] = useState('');
  const [found, setFound] = useState<UserLookup>();
  const [error, setError] = useState<ApiCallError>();
  const [done, setDone] = useState<string>();
  const lookUp = async () => {
    setError(undefined);
    setFound(undefined);
    setDone(undefined);
    if (!user.trim()) return;
    try {
      setFound(await call('GET /api/app/users/:name', { params: { name: user.trim() } }));
    } catch (e) {
      setError(e as ApiCallError);
    }
  };
  const share = async () => {
    if (!found) return;
    setError(undefined);
    try {
      const r = await call('POST /api/app/snapshots/:id/shares', { params: { id }, body: { user: found.name } });
      setDone(r.user);
      setFound(undefined);
      setUser('');
    } catch (e) {
      setError(e as ApiCallError);
    }
  };
  const revoke = async (who: string) => {
    setError(undefined);
    try {
      await call('DELETE /api/app/snapshots/:id/shares/:user', { params: { id, user: who } });
      setDone(undefined);
    } catch (e) {
      setError(e as ApiCallError);
    }
  };
  return (
    <section class="panel sharing" aria-labelledby="sharing-title">
      <h2 id="sharing-title">{m.sharing_title}</h2>
      <p class="hint">{m.sharing_hint}</p>
      {shares.data?.shares.length ? (
        <ul class="rows">
          {shares.data.shares.map((x) => (
            <li key={x.user} class="row">
              <span class="row-name mono" translate={false}>
                {x.user}
              </span>
              <span class="row-detail">{m.shared_since(formatDate(new Date(x.sharedAt).toISOString(), l))}</span>
              <button type="button" class="btn small" onClick={() => void revoke(x.user)}>
                {m.revoke}
                <span class="visually-hidden" translate={false}> {x.user}</span>
              </button>
            </li>
          ))}
        </ul>
      ) : shares.data ? (
        <p class="muted">{m.shared_with_nobody}</p>
      ) : null}
      <form class="share-form" onSubmit={(e) => (e.preventDefault(), void (found ? share() : lookUp()))}>
        <label for="share-user">{m.share_with_label}</label>
        <div class="input-row">
          <input id="share-user" type="text" value={user} autoComplete="off" spellcheck={false} onInput={(e) => (setUser((e.target as HTMLInputElement).value), setFound(undefined))} />
          <button type="submit" class="btn small">
            {m.share_look_up}
          </button>
        </div>
      </form>
      {found ? (
        found.fingerprint ? (
          <div class="found">
            <p>{m.share_their_key(found.name)}</p>
            <p class="fingerprint" translate={false}>
              {found.fingerprint}
            </p>
            <p class="hint">{m.share_compare}</p>
            <button type="button" class="btn primary" onClick={() => void share()}>
              {m.share_button(found.name)}
            </button>
          </div>
        ) : (
          <Callout tone="warn">{m.share_no_key(found.name)}</Callout>
        )
      ) : null}
      {done ? (
        <Callout tone="ok" role="status">
          {m.share_done(done)}
        </Callout>
      ) : null}
      <ErrorCallout error={error}>{error?.code === 'not_found' ? m.share_no_user : undefined}</ErrorCallout>
    </section>
  );
}
