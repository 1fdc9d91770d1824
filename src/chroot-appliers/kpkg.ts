/**
 * kpkg packages: installed in the chroot when the target has `kpkg`; else
 * each becomes a first-boot task (kind 'kpkg') for the firstboot runner.
 */
import type { StepApplier } from './applier.ts';
import type { DeferredTask } from '../restore-machine/plan.ts';
import { errorSummary, runInTarget, targetHasCommand } from './chroot-commands.ts';

/** A kpkg slug: never an option, never a path. */
export const KPKG_SLUG = /^[A-Za-z0-9][A-Za-z0-9._+@-]*$/;

export function kpkgTask(slug: string): DeferredTask {
  return { id: `kpkg:${slug}`, kind: 'kpkg', label: `kpkg ${slug}`, asUser: false, args: { slug } };
}

export const applyKpkg: StepApplier = async (_step, ctx, progress) => {
  const all = [...new Set(ctx.manifest.apps?.kpkg ?? [])];
  if (all.length === 0) return { status: 'done', message: 'no kpkg packages' };
  const details: string[] = [];
  const slugs = all.filter((s) => {
    if (KPKG_SLUG.test(s)) return true;
    details.push(`${JSON.stringify(s)}: not a kpkg package name`);
    return false;
  });
  let items = all.length - slugs.length;

  if (!(await targetHasCommand(ctx, 'kpkg'))) {
    for (const s of slugs) {
      const task = kpkgTask(s);
      if (!ctx.deferred.some((t) => t.id === task.id)) ctx.deferred.push(task);
    }
    progress({ bytes: 0, items: all.length });
    return { status: 'skipped', message: 'deferred to first boot', details: [...details, ...slugs.map((s) => `${s}: kpkg is not in the target; deferred to first boot`)] };
  }

  let installed = 0;
  for (const s of slugs) {
    const r = await runInTarget(ctx, ['kpkg', 'install', s]);
    if (r.code === 0) installed++;
    else details.push(`${s}: kpkg install failed: ${errorSummary(r)}`);
    progress({ bytes: 0, items: ++items });
  }
  return {
    status: installed < all.length ? 'failed' : 'done',
    message: `${installed} of ${all.length} kpkg packages installed`,
    ...(details.length ? { details } : {}),
  };
};
