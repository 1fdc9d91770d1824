/**
 * Schedule: the weekly backup on or off (the systemd user timer the CLI's
 * `schedule enable` writes), with its next and last run — or, when systemd
 * could not be asked, what finishes the job; and what a backup includes
 * (categories, folders, skip patterns), saved into config.toml, with the
 * effective configuration shown as `koder-snapshot config` prints it.
 */
import { useEffect, useState } from 'preact/hooks';
import { CATEGORIES, type Category } from '../../restore-machine/plan.ts';
import { Callout, Status } from '../../ui/components.tsx';
import { formatDate } from '../../ui/format.ts';
import { lang } from '../../ui/i18n/index.ts';
import type { IncludeView, ScheduleView } from '../../daemon/app/contract.ts';
import { call, type ApiCallError } from '../api.ts';
import { ErrorCallout, Screen, useData } from '../components.tsx';
import { msgs } from '../i18n/index.ts';
import { categoryName } from './Backup.tsx';

export function Schedule() {
  const m = msgs.value;
  const d = useData((signal) => call('GET /api/app/schedule', { signal }), []);
  const [schedule, setSchedule] = useState<ScheduleView>();
  const [error, setError] = useState<ApiCallError>();
  const [busy, setBusy] = useState(false);
  const sch = schedule ?? d.data?.schedule;
  const toggle = async () => {
    if (!sch) return;
    setBusy(true);
    setError(undefined);
    try {
      setSchedule(await call('POST /api/app/schedule', { body: { enabled: !sch.enabled } }));
    } catch (e) {
      setError(e as ApiCallError);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Screen title={m.schedule_title} class="schedule">
      {!d.data || !sch ? (
        d.error ? <ErrorCallout error={d.error} /> : <Status busy>{m.loading}</Status>
      ) : (
        <>
          <section class="panel" aria-labelledby="weekly-title">
            <h2 id="weekly-title">{m.weekly_title}</h2>
            <div class="switch-row">
              <button type="button" class="switch" role="switch" aria-checked={sch.enabled} aria-describedby="weekly-state" disabled={busy} onClick={() => void toggle()}>
                <span class="switch-track" aria-hidden="true">
                  <span class="switch-thumb" />
                </span>
                {m.weekly_label}
              </button>
              <span id="weekly-state" class="muted">
                <NextRun s={sch} />
              </span>
            </div>
            {sch.problem ? (
              <>
                <Callout tone="warn">{m.schedule_problem}</Callout>
                <p class="mono small" translate={false}>
                  {sch.problem}
                </p>
                {sch.manual?.length ? (
                  <>
                    <p>{m.schedule_manual}</p>
                    {sch.manual.map((c) => (
                      <p key={c} class="command" translate={false}>
                        {c}
                      </p>
                    ))}
                  </>
                ) : null}
              </>
            ) : null}
            <ErrorCallout error={error} />
          </section>
          <Include initial={d.data.config.include} file={d.data.config.file} effective={d.data.config.effective} />
        </>
      )}
    </Screen>
  );
}

function NextRun({ s }: { s: ScheduleView }) {
  const m = msgs.value;
  const l = lang.value;
  if (!s.enabled) return <>{m.schedule_off}</>;
  return (
    <>
      {s.nextAt ? m.next_run(formatDate(new Date(s.nextAt).toISOString(), l) + (s.nextEstimated ? ` ${m.next_about}` : '')) : m.next_unknown}
      {s.lastAt ? ` · ${m.last_run(formatDate(new Date(s.lastAt).toISOString(), l))}` : ''}
    </>
  );
}

function Include(props: { initial: IncludeView; file: string; effective: string }) {
  const m = msgs.value;
  const [inc, setInc] = useState<IncludeView>(props.initial);
  const [effective, setEffective] = useState(props.effective);
  const [error, setError] = useState<ApiCallError>();
  const [saved, setSaved] = useState(false);
  const [tried, setTried] = useState(false);
  useEffect(() => setInc(props.initial), [JSON.stringify(props.initial)]);
  const dirty = JSON.stringify(inc) !== JSON.stringify(props.initial) && !saved;
  const noCategory = inc.categories.length === 0;
  const save = async () => {
    setTried(true);
    if (noCategory) return;
    setError(undefined);
    try {
      const v = await call('PUT /api/app/config', { body: inc });
      setInc(v.include);
      setEffective(v.effective);
      setSaved(true);
    } catch (e) {
      setError(e as ApiCallError);
    }
  };
  const toggle = (c: Category) => {
    setSaved(false);
    setInc({ ...inc, categories: inc.categories.includes(c) ? inc.categories.filter((x) => x !== c) : CATEGORIES.filter((x) => x === c || inc.categories.includes(x)) });
  };
  return (
    <section class="panel" aria-labelledby="include-title">
      <h2 id="include-title">{m.include_title}</h2>
      <div class="include-grid">
        <fieldset aria-describedby={tried && noCategory ? 'cat-error' : undefined}>
          <legend>{m.include_categories}</legend>
          {CATEGORIES.map((c) => (
            <label key={c} class="check">
              <input type="checkbox" checked={inc.categories.includes(c)} onChange={() => toggle(c)} />
              {categoryName(m, c)}
            </label>
          ))}
          {tried && noCategory ? (
            <p class="field-error" id="cat-error">
              {m.include_categories_none}
            </p>
          ) : null}
        </fieldset>
        <ListEditor id="folders" legend={m.include_folders} hint={m.include_folders_hint} items={inc.folders} placeholder="~/Projetos" onChange={(folders) => (setSaved(false), setInc({ ...inc, folders }))} />
        <ListEditor id="skips" legend={m.include_skips} hint={m.include_skips_hint} items={inc.skips} placeholder="*.iso" onChange={(skips) => (setSaved(false), setInc({ ...inc, skips }))} />
      </div>
      <p class="actions-inline">
        <button type="button" class="btn primary" disabled={!dirty} onClick={() => void save()}>
          {m.include_save}
        </button>
        {saved ? <span role="status">{m.include_saved}</span> : null}
      </p>
      <ErrorCallout error={error} />
      <details class="effective">
        <summary>{m.effective_config}</summary>
        <p class="hint">
          {m.effective_file}{' '}
          <span class="mono" translate={false}>
            {props.file}
          </span>
        </p>
        <pre class="toml" translate={false} tabIndex={0}>
          {effective}
        </pre>
      </details>
    </section>
  );
}

function ListEditor(props: { id: string; legend: string; hint: string; items: string[]; placeholder: string; onChange: (items: string[]) => void }) {
  const m = msgs.value;
  const [draft, setDraft] = useState('');
  const add = () => {
    const v = draft.trim();
    if (v && !props.items.includes(v)) props.onChange([...props.items, v]);
    setDraft('');
  };
  return (
    <fieldset>
      <legend>{props.legend}</legend>
      <p class="hint" id={`${props.id}-hint`}>
        {props.hint}
      </p>
      <ul class="chips">
        {props.items.map((x) => (
          <li key={x} class="chip">
            <span class="mono" translate={false}>
              {x}
            </span>
            <button type="button" class="chip-remove" aria-label={m.remove_item(x)} onClick={() => props.onChange(props.items.filter((y) => y !== x))}>
              ×
            </button>
          </li>
        ))}
      </ul>
      <div class="input-row">
        <input
          id={`${props.id}-new`}
          type="text"
          value={draft}
          placeholder={props.placeholder}
          translate={false}
          aria-label={m.add_to(props.legend)}
          aria-describedby={`${props.id}-hint`}
          spellcheck={false}
          onInput={(e) => setDraft((e.target as HTMLInputElement).value)}
          onKeyDown={(e) => {
            if (e.key === 'Enter') {
              e.preventDefault();
              add();
            }
          }}
        />
        <button type="button" class="btn small" onClick={add}>
          {m.add}
        </button>
      </div>
    </fieldset>
  );
}
