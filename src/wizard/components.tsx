/**
 * The wizard's own pieces: the refused screen, status badges, labels of plan
 * steps. The frame, icons, callouts, spinners and sizes are the pages'
 * shared ones (src/ui/components.tsx), re-exported here for the screens.
 */
import { CATEGORIES, type Category, type DeferredTask, type PlanStep } from '../restore-machine/plan.ts';
import type { MachineError } from '../restore-machine/types.ts';
import type { StepView } from '../daemon/ui-state.ts';
import { msgs, type Messages } from './i18n/index.ts';
import { Callout, ErrorDetail, Screen } from '../ui/components.tsx';

export { Badge, Callout, ErrorDetail, Icon, Screen, Size, Spinner, Status, statusText, type AnyStatus } from '../ui/components.tsx';

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

export type Group = Category | 'firstboot';
export const GROUPS: readonly Group[] = [...CATEGORIES, 'firstboot'];

export function groupName(m: Messages, g: Group): string {
  return { system: m.cat_system, apps: m.cat_apps, repos: m.cat_repos, secrets: m.cat_secrets, files: m.cat_files, firstboot: m.cat_firstboot }[g];
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
