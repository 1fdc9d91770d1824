/**
 * The app's restore: chosen files and folders of a snapshot into the home
 * of the person running it (home-target.ts), with the files applier of every
 * restore (chroot-appliers/files.ts: data v2 trees fetched pack by pack,
 * authenticated, staged, committed; version 1 folders whole).
 *
 *   paths (`~/…`) checked ─ plan: files steps with `select` (restore-machine/plan.ts)
 *   ─ target: the home, into `~/Restored <date>/` (default) or in place
 *   ─ each step: the files applier (a differing file already there is kept as
 *     NAME.pre-restore) ─ the outcome per path
 *
 * A verification failure (a tree or chunk that does not authenticate) stops
 * it, nothing of that folder left in the home; a path that cannot be
 * restored is reported and the others go on. Cancelled or killed: the
 * staging folder and its journal stay in `~/.koder-restore-staging`, and the
 * same restore started again fetches only the files not finished.
 */
import type { BlobSource } from '../../chroot-appliers/applier.ts';
import { applyFiles } from '../../chroot-appliers/files.ts';
import type { Identity } from '../../keys/identity.ts';
import { isV2Files, type Manifest } from '../../manifest/types.ts';
import { planRestore, type PlanStep } from '../../restore-machine/plan.ts';
import { locatePath } from '../../store/snapshot-files.ts';
import { CodedError } from '../../util/coded-error.ts';
import { errMessage } from '../../util/fs.ts';
import { EtaEstimator } from '../eta.ts';
import type { RestoreMode, RestoreProgress, RestoreResult } from './contract.ts';
import { checkHomePath, checkNoLinkOnTheWay, homeTarget, restoredFolderName } from './home-target.ts';

export interface RestoreFilesOptions {
  snapshotId: string;
  /** The owner of a snapshot shared with me. */
  owner?: string;
  folded: Manifest;
  paths: string[];
  mode: RestoreMode;
  home: string;
  user: string;
  uid: number;
  gid: number;
  blobs: BlobSource;
  /** My identity: opens my own snapshots' trees. */
  identity?: Identity;
  /** A shared snapshot's tree keys (the share's, opened with my key). */
  treeKeys?: Map<string, Uint8Array>;
  /** The size of a chosen file (read from its tree), when it is one: a truer total than its folder's. */
  sizeOf?: (path: string) => Promise<number | undefined>;
  now?: Date;
  signal: AbortSignal;
  report: (p: RestoreProgress) => void;
  log?: (line: string) => void;
}

/** Checks the chosen paths against the snapshot: `~/…`, in one of its folders, said once. */
export function checkPaths(folded: Manifest, paths: readonly string[]): string[] {
  if (!Array.isArray(paths) || paths.length === 0) throw new CodedError('app_bad_request', 'choose at least one file or folder to restore');
  const out: string[] = [];
  for (const raw of paths) {
    if (typeof raw !== 'string') throw new CodedError('app_bad_request', 'paths must be strings');
    const p = raw.replace(/\/+$/, '');
    checkHomePath(p);
    if (!locatePath(folded, p)) throw new CodedError('path_not_in_snapshot', `${p} is not in any folder of the snapshot`);
    if (!out.includes(p)) out.push(p);
  }
  return out;
}

export async function restoreFiles(o: RestoreFilesOptions): Promise<RestoreResult> {
  const paths = checkPaths(o.folded, o.paths);
  const into = o.mode === 'new-folder' ? restoredFolderName(o.now ?? new Date()) : undefined;
  const target = await homeTarget({ home: o.home, user: o.user, uid: o.uid, gid: o.gid, ...(into ? { into } : {}) });
  const plan = planRestore(o.folded, { snapshotId: o.snapshotId, ...(o.owner ? { owner: o.owner } : {}), hostname: o.folded.snapshot.hostname, targetUser: o.user, categories: ['files'], paths });
  const stepPath = (s: PlanStep) => (s.select ? `${s.key}/${s.select}` : s.key!);
  const items: RestoreProgress['items'] = plan.steps.map((s) => ({ path: stepPath(s), state: 'pending', doneBytes: 0, totalBytes: s.bytes }));
  const eta = new EtaEstimator();
  const emit = () => {
    const now = Date.now();
    const r = eta.update(now, items.map((it, i) => ({ id: it.path, group: i, status: it.state === 'pending' ? 'pending' : it.state === 'running' ? 'running' : 'finished', parts: [{ rate: 'network', total: Math.max(1, it.totalBytes), done: it.doneBytes }], measured: it.state === 'running' })));
    const p: RestoreProgress = { items: items.map((x) => ({ ...x })), doneBytes: items.reduce((n, x) => n + Math.min(x.doneBytes, x.totalBytes), 0), totalBytes: items.reduce((n, x) => n + x.totalBytes, 0), fraction: r.fraction };
    if (r.etaSeconds !== undefined) {
      p.etaSeconds = r.etaSeconds;
      p.etaAt = now;
    }
    o.report(p);
  };
  const ctx = {
    target,
    manifest: o.folded,
    choice: { snapshotId: o.snapshotId, ...(o.owner ? { owner: o.owner } : {}), hostname: o.folded.snapshot.hostname, targetUser: o.user, categories: ['files' as const], paths },
    plan,
    blobs: o.blobs,
    ...(o.identity ? { identity: o.identity } : {}),
    ...(o.treeKeys ? { treeKeys: o.treeKeys } : {}),
    deferred: [],
    signal: o.signal,
    log: (l: string) => o.log?.(l),
  };
  const result: RestoreResult = { into: into ? `~/${into}` : '~', items: [] };
  // A chosen file counts its own size, not its folder's (the browsing's reader has its tree: no read, usually).
  if (o.sizeOf) {
    for (const [i, step] of plan.steps.entries()) {
      if (!step.select) continue;
      const size = await o.sizeOf(items[i]!.path).catch(() => undefined);
      if (size !== undefined) items[i]!.totalBytes = size;
    }
  }
  emit();
  for (const [i, step] of plan.steps.entries()) {
    o.signal.throwIfAborted();
    const item = items[i]!;
    item.state = 'running';
    emit();
    if (!into) {
      try {
        await checkNoLinkOnTheWay(target.root, item.path);
      } catch (e) {
        item.state = 'failed';
        result.items.push({ path: item.path, status: 'failed', message: errMessage(e) });
        continue;
      }
    }
    const entry = o.folded.files?.entry?.find((f) => f.local_path === step.key);
    let last = 0;
    const outcome = await applyFiles(step, ctx, (pr) => {
      item.doneBytes = pr.bytes;
      const t = Date.now();
      if (t - last >= 200) {
        last = t;
        emit();
      }
    });
    item.state = outcome.status;
    if (outcome.status === 'done') item.doneBytes = item.totalBytes;
    // The page says a done path in its own words; a skipped or failed one keeps the applier's reason. Paths inside
    // the applier's root (the home) are said as the person knows them (~/…).
    const message = outcome.status === 'done' ? undefined : outcome.message;
    const kept = outcome.preRestored?.map((p) => `~${p}`);
    result.items.push({ path: item.path, status: outcome.status, ...(message ? { message } : {}), ...(kept?.length ? { kept } : {}) });
    o.log?.(`restore ${item.path} (${entry && isV2Files(entry) ? 'v2' : 'v1'}) into ${result.into}: ${outcome.status}${outcome.message ? ` — ${outcome.message}` : ''}`);
    emit();
  }
  return result;
}
