/** Pure projection of the restore actor's snapshot to what the wizard shows (UiState). */
import type { AheadProgress, RestoreContext } from '../restore-machine/types.ts';
import type { Phase, ProgressView, StepView, UiState } from './ui-state.ts';
import { guessedWork, type EtaEstimator, type EtaTask } from './eta.ts';
import type { FoundExport } from '../export/find.ts';

export interface ProjectionExtras {
  mode: UiState['mode'];
  defaults: UiState['defaults'];
  qrSvg?: string;
  confirmed?: boolean;
  /** Epoch ms when the current apply started (held by the session, not persisted). */
  applyStartedAt?: number;
  /** The apply's ETA model (held by the session): fed with the steps at each projection. */
  eta?: EtaEstimator;
  now?: number;
  /** Exports found on the mounted drives (shown on Welcome). */
  exports?: FoundExport[];
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
  if (c.source) ui.source = c.source;
  if (x.exports?.length && phase === 'welcome') ui.exports = x.exports;
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
      if (status === 'running' && p?.phase) view.phase = p.phase;
      if (status === 'running' && p?.detail) view.detail = p.detail;
      if (r?.message) view.message = r.message;
      if (r?.details) view.details = r.details;
      return view;
    });
    ui.plan = { steps, deferred: c.prepared.plan.deferred, vault: c.prepared.vault };
    if (phase === 'applying' || phase === 'apply-failed' || phase === 'report') ui.progress = progressOf(steps, c, x);
  }
  return ui;
}

const finished = (s: StepView) => s.status !== 'pending' && s.status !== 'running';

/**
 * The steps as the ETA model's tasks: one after the other, with the work
 * each reported (else a guess from the plan). The fetch-ahead is one more
 * task, in the group of the step it runs beside (its network bytes); a step
 * it staged has only its commit left, one it fetched reads from the disk.
 */
export function etaTasks(steps: readonly StepView[], progress: RestoreContext['progress'], ahead?: AheadProgress): EtaTask[] {
  const staged = new Set(ahead?.staged);
  const ready = new Set(ahead?.ready);
  const tasks: EtaTask[] = steps.map((s, i) => {
    const p = progress[s.id];
    const pending = s.status === 'pending';
    const work =
      s.status === 'running' && p?.work?.length
        ? { parts: p.work, measured: true }
        : pending && staged.has(s.id)
          ? { parts: [{ rate: 'time' as const, total: STAGED_SECONDS, done: 0 }], measured: false }
          : pending && ready.has(s.id) && s.bytes > 0
            ? { parts: [{ rate: 'extract' as const, total: s.bytes, done: 0 }], measured: false }
            : guessedWork(s, { bytes: s.doneBytes, items: s.doneItems });
    return { id: s.id, group: i, status: finished(s) ? 'finished' : s.status === 'running' ? 'running' : 'pending', ...work };
  });
  if (ahead && ahead.total > 0) {
    const beside = Math.max(0, steps.findIndex((s) => !finished(s)));
    tasks.push({ id: AHEAD_TASK, group: beside, status: ahead.bytes >= ahead.total ? 'finished' : 'running', parts: [{ rate: 'network', total: ahead.total, done: ahead.bytes }], measured: true });
  }
  return tasks;
}

/** A staged step's commit: a rename or two (0.01–0.06 s measured for a folder of 12,000 files in bench/install-restore.ts). */
const STAGED_SECONDS = 0.2;

/** The fetch-ahead's id among the ETA's tasks. */
export const AHEAD_TASK = 'fetch-ahead';

function progressOf(steps: StepView[], c: RestoreContext, x: ProjectionExtras): ProgressView {
  const totalBytes = steps.reduce((n, s) => n + s.bytes, 0);
  const doneBytes = steps.reduce((n, s) => n + Math.min(s.doneBytes, s.bytes), 0);
  const totalItems = steps.reduce((n, s) => n + s.items, 0);
  const doneItems = steps.reduce((n, s) => n + Math.min(s.doneItems, s.items), 0);
  const plain = totalBytes > 0 ? doneBytes / totalBytes : totalItems > 0 ? doneItems / totalItems : steps.filter(finished).length / Math.max(1, steps.length);
  const p: ProgressView = { totalBytes, doneBytes, totalItems, doneItems, fraction: plain };
  const current = steps.find((s) => s.id === c.current && s.status === 'running');
  if (c.current) p.current = c.current;
  if (current?.phase) p.phase = current.phase;
  if (current?.detail) p.detail = current.detail;
  if (x.applyStartedAt) p.startedAt = x.applyStartedAt;
  if (c.ahead) p.ahead = c.ahead;
  if (x.eta) {
    const now = x.now ?? Date.now();
    const r = x.eta.update(now, etaTasks(steps, c.progress, c.ahead));
    p.fraction = r.fraction;
    for (const s of steps) {
      s.share = r.shares[s.id] ?? (finished(s) ? 1 : 0);
      s.seconds = Math.round((r.seconds[s.id] ?? 0) * 10) / 10;
    }
    if (r.etaSeconds !== undefined) {
      p.etaSeconds = r.etaSeconds;
      p.etaAt = now;
    }
  }
  return p;
}
