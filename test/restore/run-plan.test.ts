import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runPlan, type ApplyEvent } from '../../src/chroot-appliers/run-plan.ts';
import type { ApplierTable, ApplyContext } from '../../src/chroot-appliers/applier.ts';
import { resolveTarget } from '../../src/chroot-appliers/target.ts';
import type { RestoreChoice } from '../../src/restore-machine/plan.ts';
import { applyContext } from '../helpers/apply-context.ts';
import { normalize, parse } from '../../src/manifest/index.ts';
import { fixtureText } from '../helpers/manifests.ts';
import { BlobHashMismatchError } from '../helpers/blob-dir.ts';

const manifest = normalize(parse(fixtureText(), 'full.kvg'));
const choice: RestoreChoice = { snapshotId: 'f'.repeat(64), hostname: 'novo', targetUser: 'ana', categories: ['system', 'apps', 'files', 'repos', 'secrets'] };
let root: string, state: string;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'ks-target-'));
  state = await mkdtemp(join(tmpdir(), 'ks-state-'));
  await mkdir(join(root, 'etc'));
  await writeFile(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nana:x:1000:1000:Ana:/home/ana:/bin/bash\n');
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
  await rm(state, { recursive: true, force: true });
});

/** Appliers that write a marker file per step and count their runs. */
function markerAppliers(runs: Map<string, number>, opts: { failOn?: string; abortAfter?: number; verifyFailOn?: string; controller?: AbortController } = {}): ApplierTable {
  let n = 0;
  const mark = async (stepId: string, ctx: ApplyContext) => {
    runs.set(stepId, (runs.get(stepId) ?? 0) + 1);
    if (opts.verifyFailOn === stepId) throw new BlobHashMismatchError(`sha256:${'0'.repeat(64)}`, '1'.repeat(64));
    if (opts.failOn === stepId) throw new Error('mirror unreachable');
    await writeFile(join(ctx.target.root, `step-${stepId.replace(/[^a-z.]/gi, '_')}`), 'x');
    if (opts.abortAfter !== undefined && ++n >= opts.abortAfter) opts.controller!.abort(new Error('killed'));
    return { status: 'done' as const };
  };
  const table: ApplierTable = {};
  for (const kind of ['system.hostname', 'system.timezone', 'system.locale', 'system.keyboard', 'system.gpu', 'apt.sources', 'apt.install', 'flatpak.system', 'files.restore', 'repo.restore', 'secrets.restore', 'firstboot.install'] as const) {
    table[kind] = (step, ctx) => mark(step.id, ctx);
  }
  table['kpkg.install'] = async (step, ctx) => {
    runs.set(step.id, (runs.get(step.id) ?? 0) + 1);
    ctx.deferred.push({ id: 'kpkg:koder-stack', kind: 'kpkg', label: 'kpkg koder-stack', asUser: false, args: { slug: 'koder-stack' } });
    return { status: 'skipped' as const, message: 'deferred to first boot' };
  };
  return table;
}

async function context(signal?: AbortSignal): Promise<ApplyContext> {
  return applyContext({ target: await resolveTarget(root, 'ana'), manifest, choice, ...(signal ? { signal } : {}) });
}

describe('runPlan', () => {
  it('runs every step once, in plan order, and writes the report into the target', async () => {
    const runs = new Map<string, number>();
    const ctx = await context();
    const events: ApplyEvent[] = [];
    const report = await runPlan({ plan: ctx.plan, ctx, appliers: markerAppliers(runs), journalPath: join(state, 'journal.json'), onEvent: (e) => events.push(e) });
    expect([...runs.keys()]).toEqual(ctx.plan.steps.map((s) => s.id));
    expect(report.status).toBe('partial'); // kpkg was deferred
    expect(report.deferred.map((d) => d.id)).toContain('kpkg:koder-stack');
    const onDisk = JSON.parse(await readFile(join(root, 'var/lib/koder-restore/report.json'), 'utf8'));
    expect(onDisk).toEqual(report);
    expect(await readFile(join(root, 'var/lib/koder-restore/report.txt'), 'utf8')).toMatch(/\[skipped\] kpkg.install — deferred to first boot/);
    expect(events.filter((e) => e.type === 'STEP.DONE')).toHaveLength(ctx.plan.steps.length);
  });

  it('after an interruption resumes without running a finished step again, keeping deferred tasks', async () => {
    const runs = new Map<string, number>();
    const controller = new AbortController();
    const ctx = await context(controller.signal);
    await expect(runPlan({ plan: ctx.plan, ctx, appliers: markerAppliers(runs, { abortAfter: 9, controller }), journalPath: join(state, 'j.json') })).rejects.toThrow();
    const firstRun = new Map(runs);
    expect(firstRun.has('kpkg.install')).toBe(true);
    expect(firstRun.has('secrets.restore')).toBe(false);

    const ctx2 = await context();
    const report = await runPlan({ plan: ctx2.plan, ctx: ctx2, appliers: markerAppliers(runs), journalPath: join(state, 'j.json') });
    for (const [id, n] of runs) expect(n, id).toBe(1);
    expect(report.results).toHaveLength(ctx2.plan.steps.length);
    expect(report.deferred.map((d) => d.id)).toContain('kpkg:koder-stack');
  });

  it('a failed item is reported and the restore goes on; retryOnly runs just that step', async () => {
    const runs = new Map<string, number>();
    const ctx = await context();
    const report = await runPlan({ plan: ctx.plan, ctx, appliers: markerAppliers(runs, { failOn: 'apt.install' }), journalPath: join(state, 'j.json') });
    expect(report.results.find((r) => r.stepId === 'apt.install')).toEqual({ stepId: 'apt.install', status: 'failed', message: 'mirror unreachable' });
    expect(runs.get('secrets.restore')).toBe(1);
    const again = await runPlan({ plan: ctx.plan, ctx: await context(), appliers: markerAppliers(runs), journalPath: join(state, 'j.json'), retryOnly: ['apt.install'] });
    expect(runs.get('apt.install')).toBe(2);
    expect(runs.get('secrets.restore')).toBe(1);
    expect(again.results.find((r) => r.stepId === 'apt.install')?.status).toBe('done');
  });

  it('a verification failure stops the restore', async () => {
    const runs = new Map<string, number>();
    const ctx = await context();
    await expect(runPlan({ plan: ctx.plan, ctx, appliers: markerAppliers(runs, { verifyFailOn: 'files.restore:~/Documentos' }), journalPath: join(state, 'j.json') }))
      .rejects.toMatchObject({ code: 'hash_mismatch' });
    expect(runs.has('repo.restore:~/dev/saude-publica')).toBe(false);
  });
});
