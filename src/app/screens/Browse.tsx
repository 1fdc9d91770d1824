/**
 * A snapshot's files: its folders, then inside them (data v2 trees, read
 * and authenticated by the daemon on the way down; a version 1 folder is an
 * archive, chosen whole). Choose files and folders (the choice stays while
 * going in and out of folders), then restore them into a new folder
 * `~/Restored <date>/` (the default) or in place, where a file that differs
 * is kept as `NAME.pre-restore`. The restore runs in the daemon (the
 * Restore screen follows it).
 */
import { signal } from '@preact/signals';
import { useState } from 'preact/hooks';
import { Callout, Icon, Size, Status } from '../../ui/components.tsx';
import { formatBytes, formatDate } from '../../ui/format.ts';
import { lang } from '../../ui/i18n/index.ts';
import type { FileEntryView, RestoreMode } from '../../daemon/app/contract.ts';
import { call, type ApiCallError } from '../api.ts';
import { ErrorCallout, Screen, useData } from '../components.tsx';
import { msgs } from '../i18n/index.ts';
import { go, hrefOf } from '../state.ts';

/** The chosen paths (and their sizes when known), per snapshot: kept while moving between folders. */
const chosen = signal<{ id: string; paths: Map<string, number | undefined> }>({ id: '', paths: new Map() });

function choice(id: string) {
  if (chosen.value.id !== id) chosen.value = { id, paths: new Map() };
  return chosen.value.paths;
}

/** `~/Documentos/2026/a` → [['~/Documentos', 'Documentos'], ['~/Documentos/2026', '2026'], …] under the snapshot's folders. */
function crumbs(path: string): [string, string][] {
  const parts = path.split('/');
  const out: [string, string][] = [];
  for (let i = 2; i <= parts.length; i++) out.push([parts.slice(0, i).join('/'), i === 2 ? parts.slice(0, 2).join('/') : parts[i - 1]!]);
  return out;
}

export function Browse({ id, path }: { id: string; path: string | undefined }) {
  const m = msgs.value;
  const l = lang.value;
  const snap = useData((signal) => call('GET /api/app/snapshots/:id', { params: { id }, signal }), [id]);
  const list = useData((signal) => call('GET /api/app/snapshots/:id/files', { params: { id }, query: { path }, signal }), [id, path]);
  const paths = choice(id);
  const [mode, setMode] = useState<RestoreMode>('new-folder');
  const [error, setError] = useState<ApiCallError>();
  const toggle = (e: FileEntryView) => {
    const next = new Map(paths);
    if (next.has(e.path)) next.delete(e.path);
    else next.set(e.path, e.type === 'file' ? e.size : undefined);
    chosen.value = { id, paths: next };
  };
  const restore = async () => {
    setError(undefined);
    try {
      await call('POST /api/app/restore', { body: { snapshotId: id, paths: [...paths.keys()], mode } });
      chosen.value = { id, paths: new Map() };
      go({ name: 'restore' });
    } catch (e) {
      setError(e as ApiCallError);
    }
  };
  const host = snap.data?.hostname ?? '';
  const known = [...paths.values()].every((x) => x !== undefined);
  const total = [...paths.values()].reduce<number>((n, x) => n + (x ?? 0), 0);
  return (
    <Screen
      title={m.browse_title(host)}
      class="browse"
      actions={
        <>
          <span class="selection" role="status">
            {paths.size ? m.selected(paths.size) + (known && total ? ` · ${formatBytes(total, l)}` : '') : m.selected_none}
          </span>
          <button type="button" class="btn primary" disabled={paths.size === 0} onClick={() => void restore()}>
            {m.restore_button}
          </button>
        </>
      }
    >
      <nav class="crumbs" aria-label={m.crumbs_label}>
        <ol>
          <li>
            <a href={hrefOf({ name: 'snapshot', id })}>{m.crumbs_snapshot(host)}</a>
          </li>
          <li>
            <a href={hrefOf({ name: 'files', id })} aria-current={!path ? 'page' : undefined}>
              {m.crumbs_folders}
            </a>
          </li>
          {path
            ? crumbs(path).map(([p, name], i, all) => (
                <li key={p}>
                  <a href={hrefOf({ name: 'files', id, path: p })} aria-current={i === all.length - 1 ? 'page' : undefined} translate={false}>
                    {name}
                  </a>
                </li>
              ))
            : null}
        </ol>
      </nav>
      {!list.data ? (
        list.error ? <ErrorCallout error={list.error}>{list.error.code === 'data_keys_locked' ? m.browse_locked : list.error.code === 'not_found' ? m.snapshot_gone : undefined}</ErrorCallout> : <Status busy>{m.loading}</Status>
      ) : list.data.entries.length === 0 ? (
        <p class="muted">{m.folder_empty}</p>
      ) : (
        <ul class="files" aria-label={m.files_label}>
          {list.data.entries.map((e) => (
            <li key={e.path} class="file">
              <input type="checkbox" id={`pick-${e.path}`} checked={paths.has(e.path)} disabled={!e.selectable} onChange={() => toggle(e)} aria-label={m.choose_item(e.name)} />
              <Icon kind={e.type === 'file' ? 'file' : e.type === 'symlink' ? 'link' : 'folder'} />
              {e.type === 'dir' ? (
                <a class="file-name" href={hrefOf({ name: 'files', id, path: e.path })} translate={false}>
                  {e.name}
                </a>
              ) : (
                <label class="file-name" for={`pick-${e.path}`} translate={false}>
                  {e.name}
                </label>
              )}
              <span class="file-meta">
                {e.type === 'folder-v1' ? m.folder_v1 : e.type === 'symlink' ? m.link_to(e.target ?? '') : e.files !== undefined ? m.count_files(e.files) : null}
                {e.size !== undefined ? <Size bytes={e.size} /> : null}
                {e.mtime ? <time dateTime={e.mtime}>{formatDate(e.mtime, l)}</time> : null}
              </span>
            </li>
          ))}
        </ul>
      )}
      <fieldset class="restore-mode">
        <legend>{m.restore_where}</legend>
        <label class="check">
          <input type="radio" name="mode" checked={mode === 'new-folder'} onChange={() => setMode('new-folder')} />
          <span>
            {m.restore_new_folder}
            <span class="hint block">{m.restore_new_folder_hint}</span>
          </span>
        </label>
        <label class="check">
          <input type="radio" name="mode" checked={mode === 'in-place'} onChange={() => setMode('in-place')} />
          <span>
            {m.restore_in_place}
            <span class="hint block">{m.restore_in_place_hint}</span>
          </span>
        </label>
      </fieldset>
      {snap.data?.version === 1 ? <Callout tone="warn">{m.browse_v1}</Callout> : null}
      <ErrorCallout error={error} />
    </Screen>
  );
}
