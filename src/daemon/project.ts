/** Pure projection of the restore actor's snapshot to what the wizard shows (UiState). */
import type { RestoreContext } from '../restore-machine/types.ts';
import type { Phase, ProgressView, StepView, UiState } from './ui-state.ts';

export interface ProjectionExtras {
  mode: UiState['mode'];
  defaults: UiState['defaults'];
  qrSvg?: string;
  confirmed?: boolean;
  /** Epoch ms when the current apply started (held by the session, not persisted). */
  applyStartedAt?: number;
  now?: number;
}

/** Minimal view of an XState machine snapshot: enough to project it. */
export interface MachineView {
  value: unknown;
  context: RestoreContext;
  status: string;
}

function phaseOf(value: unknown): Phase {
  if (typeof value === 'string') {
    const simple: Record<string, Phase> = { welcome: 'welcome', refused: 'refused', waitTarget: 'ready', report: 'report', skipped: 'skipped' };
    return simple[value] ?? 'welcome';
  }
  const [state, sub] = Object.entries(value as Record<string, string>)[0] ?? [];
  switch (state) {
    case 'login': return sub === 'failed' ? 'login-failed' : 'login';
    case 'choose': return sub === 'loading' ? 'loading' : sub === 'failed' ? 'list-failed' : 'choose';
    case 'prepare': return sub === 'failed' ? 'prepare-failed' : 'preparing';
    case 'apply': return sub === 'failed' ? 'apply-failed' : 'applying';
    default: return 'welcome';
  }
}

export function projectUi(snap: MachineView, x: ProjectionExtras): UiState {
  const c = snap.context;
  const phase = phaseOf(snap.value);
  const ui: UiState = { phase, mode: x.mode, defaults: x.defaults };
  if (c.login && (phase === 'login' || phase === 'login-failed')) ui.login = { ...c.login, qrSvg: x.qrSvg ?? '' };
  if (c.user) ui.user = c.user;
  if (c.snapshots) ui.snapshots = c.snapshots;
  if (c.choice) ui.choice = c.choice;
  if (c.error) ui.error = c.error;
  if (c.report) ui.report = c.report;
  if (x.confirmed) ui.confirmed = true;
  if (c.prepared) {
    const results = new Map(c.results.map((r) => [r.stepId, r]));
    const steps: StepView[] = c.prepared.plan.steps.map((s) => {
      const r = results.get(s.id);
      const p = c.progress[s.id];
      const status: StepView['status'] = r ? r.status : c.current === s.id ? 'running' : 'pending';
      const view: StepView = { ...s, status, doneBytes: r?.status === 'done' ? s.bytes : p?.bytes ?? 0, doneItems: r?.status === 'done' ? s.items : p?.items ?? 0 };
      if (r?.message) view.message = r.message;
      if (r?.details) view.details = r.details;
      return view;
    });
    ui.plan = { steps, deferred: c.prepared.plan.deferred, vault: c.prepared.vault };
    if (phase === 'applying' || phase === 'apply-failed' || phase === 'report') ui.progress = progressOf(steps, c.current, x);
  }
  return ui;
}

function progressOf(steps: StepView[], current: string | undefined, x: ProjectionExtras): ProgressView {
  const totalBytes = steps.reduce((n, s) => n + s.bytes, 0);
  const doneBytes = steps.reduce((n, s) => n + Math.min(s.doneBytes, s.bytes), 0);
  const totalItems = steps.reduce((n, s) => n + s.items, 0);
  const doneItems = steps.reduce((n, s) => n + Math.min(s.doneItems, s.items), 0);
  const p: ProgressView = { totalBytes, doneBytes, totalItems, doneItems };
  if (current) p.current = current;
  if (x.applyStartedAt) {
    p.startedAt = x.applyStartedAt;
    const elapsed = ((x.now ?? Date.now()) - x.applyStartedAt) / 1000;
    // Bytes dominate the time when there are any; else count steps.
    const fraction = totalBytes > 0 ? doneBytes / totalBytes : steps.filter((s) => s.status !== 'pending' && s.status !== 'running').length / Math.max(1, steps.length);
    if (fraction > 0.02 && elapsed > 1) p.etaSeconds = Math.max(0, Math.round((elapsed / fraction) * (1 - fraction)));
  }
  return p;
}
