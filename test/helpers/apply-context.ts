/**
 * The one ApplyContext builder of the appliers' tests: the plan computed from
 * the manifest and the choice (as the restore does), the plan's first-boot
 * tasks, and the log lines kept in `logs`. Blobs, when the test has none,
 * come from a source that refuses every read.
 */
import type { ApplyContext, BlobSource } from '../../src/chroot-appliers/applier.ts';
import type { Target } from '../../src/chroot-appliers/target.ts';
import type { Identity } from '../../src/keys/identity.ts';
import type { Manifest } from '../../src/manifest/types.ts';
import { CATEGORIES, planRestore, type RestoreChoice } from '../../src/restore-machine/plan.ts';

export interface TestApplyContext extends ApplyContext {
  logs: string[];
}

export const NO_BLOBS: BlobSource = {
  open: async () => {
    throw new Error('no blobs in this test');
  },
};

export function applyContext(o: {
  target: Target;
  manifest: Manifest;
  /** Defaults: every category, hostname 'new-laptop', the target's user, a dummy snapshot id. */
  choice?: Partial<RestoreChoice>;
  blobs?: BlobSource;
  identity?: Identity;
  /** Data v2 tree keys a share handed over. */
  treeKeys?: Map<string, Uint8Array>;
  host?: ApplyContext['host'];
  signal?: AbortSignal;
  logs?: string[];
}): TestApplyContext {
  const choice: RestoreChoice = { snapshotId: 'x'.repeat(64), hostname: 'new-laptop', targetUser: o.target.user, categories: [...CATEGORIES], ...o.choice };
  const plan = planRestore(o.manifest, choice);
  const logs = o.logs ?? [];
  return {
    target: o.target,
    manifest: o.manifest,
    choice,
    plan,
    blobs: o.blobs ?? NO_BLOBS,
    ...(o.identity ? { identity: o.identity } : {}),
    ...(o.treeKeys ? { treeKeys: o.treeKeys } : {}),
    ...(o.host ? { host: o.host } : {}),
    ...(o.signal ? { signal: o.signal } : {}),
    deferred: [...plan.deferred],
    log: (l) => logs.push(l),
    logs,
  };
}
