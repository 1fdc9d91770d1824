/** Pieces every screen uses: the screen frame, status badges, spinners, labels of plan steps. */
import type { ComponentChildren } from 'preact';
import { CATEGORIES, type Category, type DeferredTask, type PlanStep } from '../restore-machine/plan.ts';
import type { MachineError } from '../restore-machine/types.ts';
import type { StepView } from '../daemon/ui-state.ts';
import { lang, msgs, type Messages } from './i18n/index.ts';
import { formatBytes } from './format.ts';

/** A screen: its heading (focused on arrival), a body that fits, and the action bar. */
export function Screen(props: { title: string; children?: ComponentChildren; actions?: ComponentChildren; class?: string }) {
  return (
    <>
      <h1 id="screen-title" tabIndex={-1}>
        {props.title}
      </h1>
      <div class={`content ${props.class ?? ''}`}>{props.children}</div>
      {props.actions ? <div class="actions">{props.actions}</div> : null}
    </>
  );
}

const ICON_PATHS = {
  ok: 'M12 2a10 10 0 1 0 0 20 10 10 0 0 0 0-20zm-1.6 14.6-4.2-4.2 1.4-1.4 2.8 2.8 6.4-6.4 1.4 1.4z',
  warn: 'M1 21h22L12 2zm12-3h-2v-2h2zm0-4h-2v-4h2z',
  bad: 'M12 2a10 10 0 1 0 0 20 10 10 0 0 0 0-20zm1 15h-2v-2h2zm0-4h-2V7h2z',
  shield: 'M12 1 3 5v6c0 5.55 3.84 10.74 9 12 5.16-1.26 9-6.45 9-12V5zm3.5 13.09-1.41 1.41L12 13.41 9.91 15.5 8.5 14.09 10.59 12 8.5 9.91 9.91 8.5 12 10.59l2.09-2.09 1.41 1.41L13.41 12z',
} as const;

export function Icon(props: { kind: keyof typeof ICON_PATHS; class?: string }) {
  return (
    <svg class={`icon ${props.class ?? ''}`} viewBox="0 0 24 24" aria-hidden="true" focusable="false">
      <path d={ICON_PATHS[props.kind]} fill="currentColor" />
    </svg>
  );
}

/** A coloured message with an icon (the colour is never the only signal: the words say it). */
export function Callout(props: { tone: 'ok' | 'warn' | 'bad'; icon?: keyof typeof ICON_PATHS; children: ComponentChildren; id?: string; role?: 'status' | 'alert' }) {
  return (
    <p class={`callout ${props.tone}`} id={props.id} role={props.role}>
      <Icon kind={props.icon ?? props.tone} />
      <span>{props.children}</span>
    </p>
  );
}

export function Spinner() {
  return <span class="spinner" aria-hidden="true" />;
}

/** A line that screen readers announce when it changes. */
export function Status(props: { children: ComponentChildren; busy?: boolean; class?: string }) {
  return (
    <p class={`status ${props.class ?? ''}`} role="status" aria-live="polite">
      {props.busy ? <Spinner /> : null}
      {props.children}
    </p>
  );
}

/** The daemon's own error text (not translated: it is data). */
export function ErrorDetail(props: { error?: MachineError }) {
  const m = msgs.value;
  if (!props.error?.message) return null;
  return (
    <div class="error-detail">
      <p class="error-detail-label">{m.error_detail}</p>
      <p class="error-detail-text" translate={false}>
        {props.error.message}
      </p>
    </div>
  );
}

/** A snapshot refused for failing verification: why, the daemon's reason, and only a way back to the list. */
export function RefusedScreen(props: { error?: MachineError; onBack: () => void }) {
  const m = msgs.value;
  return (
    <Screen
      title={m.refused_title}
      actions={
        <button type="button" class="btn primary" onClick={props.onBack}>
          {m.refused_back}
        </button>
      }
    >
      <Callout tone="bad" icon="shield">
        {m.refused_text}
      </Callout>
      <ErrorDetail error={props.error} />
    </Screen>
  );
}

export type AnyStatus = StepView['status'];
const ICONS: Record<AnyStatus, string> = { pending: '○', running: '◐', done: '✓', skipped: '–', failed: '✕' };

export function statusText(m: Messages, s: AnyStatus): string {
  return { pending: m.status_pending, running: m.status_running, done: m.status_done, skipped: m.status_skipped, failed: m.status_failed }[s];
}

export function Badge(props: { status: AnyStatus }) {
  const m = msgs.value;
  return (
    <span class={`badge badge-${props.status}`}>
      <span aria-hidden="true">{ICONS[props.status]}</span> {statusText(m, props.status)}
    </span>
  );
}

export type Group = Category | 'firstboot';
export const GROUPS: readonly Group[] = [...CATEGORIES, 'firstboot'];

export function groupName(m: Messages, g: Group): string {
  return { system: m.cat_system, apps: m.cat_apps, repos: m.cat_repos, secrets: m.cat_secrets, files: m.cat_files, firstboot: m.cat_firstboot }[g];
}

export function Size(props: { bytes: number }) {
  return (
    <span class="size" translate={false}>
      {formatBytes(props.bytes, lang.value)}
    </span>
  );
}

/** A translated description of a plan step, plus the data it names (a path, a time zone…). */
export function stepLabel(m: Messages, step: Pick<PlanStep, 'kind' | 'key' | 'items' | 'label'>): { text?: string; value?: string } {
  const after = () => step.label.slice(step.label.indexOf(' ') + 1);
  switch (step.kind) {
    case 'system.hostname': return { text: m.kind_hostname, value: after() };
    case 'system.timezone': return { text: m.kind_timezone, value: after() };
    case 'system.locale': return { text: m.kind_locale, value: after() };
    case 'system.keyboard': return { text: m.kind_keyboard, value: after() };
    case 'system.gpu': return { text: m.kind_gpu, value: step.label.replace(/^GPU driver /, '') };
    case 'system.gsettings': return { text: m.kind_gsettings };
    case 'apt.sources': return { text: m.kind_apt_sources(step.items) };
    case 'apt.install': return { text: m.kind_apt(step.items) };
    case 'flatpak.system': return { text: m.kind_flatpak(step.items) };
    case 'kpkg.install': return { text: m.kind_kpkg(step.items) };
    case 'files.restore': return { text: m.kind_files, value: step.key ?? step.label };
    case 'repo.restore': return { text: m.kind_repo, value: step.key ?? step.label };
    case 'secrets.restore': return { text: m.kind_secrets(step.items) };
    case 'firstboot.install': return { text: m.kind_firstboot(step.items) };
    default: return { value: step.label };
  }
}

export function deferredLabel(m: Messages, d: DeferredTask): { text?: string; value?: string } {
  const arg = (k: string) => (typeof d.args[k] === 'string' ? (d.args[k] as string) : undefined);
  switch (d.kind) {
    case 'snap': return { text: m.deferred_snap, value: arg('name') ?? d.label };
    case 'flatpak.user': return { text: m.deferred_flatpak_user, value: arg('ref') ?? d.label };
    case 'repo.ssh': return { text: m.deferred_repo_ssh, value: arg('path') ?? arg('url') ?? d.label };
    case 'kpkg': return { text: m.deferred_kpkg, value: arg('name') ?? d.label };
    case 'gsettings': return { text: m.kind_gsettings };
    default: return { value: d.label };
  }
}

/** Renders a label; `short` drops the kind word where the group already says it (files, repos). */
export function Label(props: { label: { text?: string; value?: string }; short?: boolean }) {
  const { text, value } = props.label;
  const showText = text && !(props.short && value);
  return (
    <span class="label">
      {showText ? <span class="label-text">{text}</span> : null}
      {value ? (
        <span class="label-value" translate={false}>
          {value}
        </span>
      ) : null}
    </span>
  );
}
