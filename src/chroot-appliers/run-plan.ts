/**
 * The apply loop: run the plan's steps in order with the appliers, record each
 * finished step in a journal (atomic JSON in the state dir), and write the
 * report into the target.
 *
 *   for each step: journal says done/skipped → replay its result, next
 *                  else run its applier → record result → persist journal
 *   first-boot tasks added while applying (kpkg without kpkg…) are journaled too
 *   at the end: /var/lib/koder-restore/report.json + report.txt in the target
 *
 * Guarantees on interruption: a step finished before a kill is never run
 * again; the step in flight runs again (appliers are idempotent). A failed
 * item is reported and the loop goes on; only a verification failure stops
 * it, by throwing: an error whose code the catalogue marks `verification`
 * (a blob that does not hash to its address, a data v2 chunk, pack or tree
 * that does not authenticate, a manifest that does not verify).
 */
import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../util/atomic-write.ts';
import type { PlanStep, RestorePlan, DeferredTask } from '../restore-machine/plan.ts';
import type { RestoreReport, StepProgress, StepResult } from '../restore-machine/types.ts';
import type { ApplierTable, ApplyContext } from './applier.ts';
import { ensureDirInRoot } from './safe-path.ts';
import { isVerificationError } from '../util/coded-error.ts';

export const REPORT_DIR = '/var/lib/koder-restore';

interface Journal {
  version: 1;
  snapshotId: string;
  results: Record<string, StepResult>;
  /** Deferred tasks appliers added while running (beyond the plan's). */
  deferred: DeferredTask[];
}

export type ApplyEvent =
  | { type: 'STEP.START'; stepId: string }
  | ({ type: 'STEP.PROGRESS'; stepId: string } & StepProgress)
  | { type: 'STEP.DONE'; result: StepResult };

export interface RunPlanOptions {
  plan: RestorePlan;
  ctx: ApplyContext;
  appliers: ApplierTable;
  /** Where the journal lives (in the restore's state dir, not in the target). */
  journalPath: string;
  /** Only these step ids run again (retry of failed steps); the others keep their recorded result. */
  retryOnly?: string[];
  onEvent?: (e: ApplyEvent) => void;
}

/** Minimum ms between two progress events of one step. */
const PROGRESS_INTERVAL_MS = 200;

async function loadJournal(path: string, snapshotId: string): Promise<Journal> {
  try {
    const j = JSON.parse(await readFile(path, 'utf8')) as Journal;
    if (j.version === 1 && j.snapshotId === snapshotId && j.results && Array.isArray(j.deferred)) return j;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT' && !(e instanceof SyntaxError)) throw e;
  }
  return { version: 1, snapshotId, results: {}, deferred: [] };
}

const FIRSTBOOT_STEP: PlanStep = { id: 'firstboot.install', kind: 'firstboot.install', category: 'firstboot', label: 'first-boot tasks', bytes: 0, items: 0 };

export async function runPlan(opts: RunPlanOptions): Promise<RestoreReport> {
  const { plan, ctx, appliers, onEvent = () => {} } = opts;
  const startedAt = new Date().toISOString();
  const journal = await loadJournal(opts.journalPath, plan.snapshotId);
  const planned = new Set(plan.deferred.map((d) => d.id));
  ctx.deferred.splice(0, ctx.deferred.length, ...plan.deferred, ...journal.deferred.filter((d) => !planned.has(d.id)));
  const save = () => {
    journal.deferred = ctx.deferred.filter((d) => !planned.has(d.id));
    return writeFileAtomic(opts.journalPath, JSON.stringify(journal), { mode: 0o600 });
  };

  const steps = plan.steps.filter((s) => s.kind !== 'firstboot.install');
  const runStep = async (step: PlanStep) => {
    const recorded = journal.results[step.id];
    // Never run: run it. Recorded: replay, unless this is a retry of it.
    if (recorded && !opts.retryOnly?.includes(step.id)) {
      onEvent({ type: 'STEP.DONE', result: recorded });
      return;
    }
    ctx.signal?.throwIfAborted();
    onEvent({ type: 'STEP.START', stepId: step.id });
    let last = 0;
    let lastPhase: string | undefined;
    // At most one event per interval; a new phase (apt: download → install) at once.
    const progress = (p: StepProgress) => {
      const t = Date.now();
      if (t - last < PROGRESS_INTERVAL_MS && p.phase === lastPhase) return;
      last = t;
      lastPhase = p.phase;
      onEvent({ type: 'STEP.PROGRESS', stepId: step.id, ...p });
    };
    const applier = appliers[step.kind];
    let result: StepResult;
    if (!applier) {
      result = { stepId: step.id, status: 'failed', message: `no applier for ${step.kind}` };
    } else {
      try {
        const outcome = await applier(step, ctx, progress);
        result = { stepId: step.id, ...outcome };
      } catch (e) {
        // "The data is not what was signed" stops the restore; the catalogue
        // (util/coded-error.ts) says which codes mean that. Anything else fails this step.
        if (isVerificationError(e) || ctx.signal?.aborted) throw e;
        result = { stepId: step.id, status: 'failed', message: (e as Error).message };
      }
    }
    if (result.status !== 'failed') onEvent({ type: 'STEP.PROGRESS', stepId: step.id, bytes: step.bytes, items: step.items });
    journal.results[step.id] = result;
    await save();
    onEvent({ type: 'STEP.DONE', result });
  };

  for (const step of steps) await runStep(step);
  // First-boot tasks last: appliers may have deferred work while running.
  const firstboot = plan.steps.find((s) => s.kind === 'firstboot.install') ?? (ctx.deferred.length ? FIRSTBOOT_STEP : undefined);
  if (firstboot) await runStep(firstboot);

  const order = [...steps, ...(firstboot ? [firstboot] : [])].map((s) => s.id);
  const results = order.map((id) => journal.results[id]).filter((r): r is StepResult => r !== undefined);
  const report: RestoreReport = {
    status: results.every((r) => r.status === 'done') ? 'done' : 'partial',
    snapshotId: plan.snapshotId,
    results,
    deferred: [...ctx.deferred],
    startedAt,
    finishedAt: new Date().toISOString(),
  };
  await writeReport(ctx, report);
  return report;
}

export function reportText(report: RestoreReport): string {
  const count = (s: string) => report.results.filter((r) => r.status === s).length;
  const lines = [
    `Koder Snapshots — restore of ${report.snapshotId.slice(0, 12)}: ${report.status}`,
    `${count('done')} done, ${count('skipped')} skipped, ${count('failed')} failed, ${report.deferred.length} deferred to first boot`,
    '',
  ];
  for (const r of report.results) {
    lines.push(`[${r.status}] ${r.stepId}${r.message ? ` — ${r.message}` : ''}`);
    for (const d of r.details ?? []) lines.push(`    ${d}`);
  }
  if (report.deferred.length) {
    lines.push('', 'On first boot (with network):');
    for (const d of report.deferred) lines.push(`    ${d.label}`);
  }
  return lines.join('\n') + '\n';
}

async function writeReport(ctx: ApplyContext, report: RestoreReport) {
  const { dir } = await ensureDirInRoot(ctx.target.root, REPORT_DIR, { mode: 0o755 });
  await writeFileAtomic(`${dir}/report.json`, JSON.stringify(report, null, 2) + '\n', { mode: 0o644 });
  await writeFileAtomic(`${dir}/report.txt`, reportText(report), { mode: 0o644 });
}
