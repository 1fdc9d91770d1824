/**
 * Screen 1: restore from Koder ID, from a drive (an export the daemon found
 * on a mounted drive, or a folder the person points to: no sign-in on that
 * path), or skip.
 */
import { useState } from 'preact/hooks';
import { send } from '../api.ts';
import { Callout, Screen } from '../components.tsx';
import { formatDate } from '../../ui/format.ts';
import { lang, msgs } from '../i18n/index.ts';
import { ui } from '../state.ts';

export function Welcome() {
  const m = msgs.value;
  const found = ui.value?.exports ?? [];
  const [asking, setAsking] = useState(false);
  const [folder, setFolder] = useState('');
  const [folderError, setFolderError] = useState<string | null>(null);
  const openFolder = (e: Event) => {
    e.preventDefault();
    const dir = folder.trim();
    if (!dir.startsWith('/')) {
      setFolderError(m.drive_folder_absolute);
      document.getElementById('drive-folder')?.focus();
      return;
    }
    void send({ type: 'START_EXPORT', dir });
  };
  return (
    <Screen
      title={m.welcome_title}
      class="welcome"
      actions={
        <>
          <button type="button" class="btn secondary" onClick={() => send({ type: 'SKIP' })} aria-describedby="skip-hint">
            {m.welcome_skip}
          </button>
          <span class="hint actions-hint" id="skip-hint">
            {m.welcome_skip_hint}
          </span>
          {found.length === 1 ? (
            <button type="button" class="btn secondary" onClick={() => send({ type: 'START_EXPORT', dir: found[0]!.dir })} aria-describedby="drive-found">
              {m.welcome_drive}
            </button>
          ) : null}
          <button type="button" class="btn primary" onClick={() => send({ type: 'START' })}>
            {m.welcome_start}
          </button>
        </>
      }
    >
      <p class="lead">{m.welcome_lead}</p>
      <ul class="checklist">
        <li>{m.welcome_p1}</li>
        <li>{m.welcome_p2}</li>
        <li>{m.welcome_p3}</li>
        <li>{m.welcome_p4}</li>
        <li>{m.welcome_p5}</li>
      </ul>
      <Callout tone="ok" icon="ok">
        {m.welcome_safe}
      </Callout>
      {found.length === 1 ? (
        <p class="hint" id="drive-found">
          {m.drive_found(found[0]!.hostname, formatDate(found[0]!.createdAt, lang.value), found[0]!.dir)}
        </p>
      ) : found.length > 1 ? (
        <section class="drives" aria-labelledby="drives-title">
          <h2 id="drives-title">{m.welcome_drive}</h2>
          <ul class="drive-list">
            {found.map((x) => (
              <li key={x.dir}>
                <button type="button" class="btn secondary" onClick={() => send({ type: 'START_EXPORT', dir: x.dir })}>
                  {m.drive_choice(x.hostname, formatDate(x.createdAt, lang.value))}
                </button>{' '}
                <span class="hint">{x.dir}</span>
              </li>
            ))}
          </ul>
        </section>
      ) : null}
      {asking ? (
        <form class="drive-folder" onSubmit={openFolder} noValidate>
          <label for="drive-folder">{m.drive_folder_label}</label>
          <span class="input-row">
            <input
              id="drive-folder"
              name="drive-folder"
              value={folder}
              autocomplete="off"
              spellcheck={false}
              aria-invalid={folderError ? 'true' : 'false'}
              aria-describedby={folderError ? 'drive-folder-error drive-folder-hint' : 'drive-folder-hint'}
              onInput={(e) => {
                setFolder(e.currentTarget.value);
                setFolderError(null);
              }}
            />
            <button type="submit" class="btn small">
              {m.drive_folder_open}
            </button>
          </span>
          <span class="hint" id="drive-folder-hint">
            {m.drive_folder_hint}
          </span>
          {folderError ? (
            <span class="field-error" id="drive-folder-error">
              {folderError}
            </span>
          ) : null}
        </form>
      ) : (
        <p class="link-row">
          <button type="button" class="link" onClick={() => setAsking(true)}>
            {m.drive_folder_ask}
          </button>
        </p>
      )}
    </Screen>
  );
}
