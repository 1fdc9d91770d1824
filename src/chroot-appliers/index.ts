/**
 * The appliers, by plan step kind (see README.md for the order and the
 * safety rules). The restore runs them through run-plan.ts.
 */
import type { ApplierTable, StagerTable } from './applier.ts';
import { applyAptInstall } from './apt.ts';
import { applyAptSources } from './apt-sources.ts';
import { applyFiles, stageFilesAhead } from './files.ts';
import { applyFirstboot } from './firstboot.ts';
import { applyFlatpakSystem } from './flatpak.ts';
import { applyGpu } from './gpu.ts';
import { applyKpkg } from './kpkg.ts';
import { applyRepo, stageRepoAhead } from './repos.ts';
import { applySecrets } from './secrets.ts';
import { applyHostname, applyKeyboard, applyLocale, applyTimezone } from './system.ts';

export const defaultAppliers: ApplierTable = {
  'system.hostname': applyHostname,
  'system.timezone': applyTimezone,
  'system.locale': applyLocale,
  'system.keyboard': applyKeyboard,
  'system.gpu': applyGpu,
  'apt.sources': applyAptSources,
  'apt.install': applyAptInstall,
  'flatpak.system': applyFlatpakSystem,
  'kpkg.install': applyKpkg,
  'files.restore': applyFiles,
  'repo.restore': applyRepo,
  'secrets.restore': applySecrets,
  'firstboot.install': applyFirstboot,
};

/** What is staged ahead of its step while earlier steps run (ahead.ts). */
export const defaultStagers: StagerTable = {
  'files.restore': stageFilesAhead,
  'repo.restore': stageRepoAhead,
};

export { runPlan, reportText, REPORT_DIR } from './run-plan.ts';
export type { ApplierTable, ApplyContext, BlobSource, StagerTable, StepApplier, StepStager } from './applier.ts';
