/** Data the restore machine holds and the UI sees: JSON only (it is persisted). */
import type { DeferredTask, RestoreChoice, RestorePlan } from './plan.ts';

export interface LoginCode {
  userCode: string;
  verificationUri: string;
  verificationUriComplete: string;
  /** Epoch ms when the code expires. */
  expiresAt: number;
}

export interface SnapshotSummary {
  id: string;
  hostname: string;
  createdAt: string;
  /** Owner's user id; differs from the caller's for a shared snapshot. */
  owner: string;
  /** Owner's user name, when the listing gave it (snapshots shared with me). */
  ownerName?: string;
  shared: boolean;
  chainDepth: number;
  /** Stored bytes of this snapshot's own blobs (a delta's, not its chain's: the wizard shows the chain's from the details). */
  bytes: number;
}

export interface Prepared {
  plan: RestorePlan;
  /** Whether the key vault was opened: secrets can be restored only then. */
  vault: 'unlocked' | 'locked' | 'absent';
  chain: string[];
}

export type StepStatus = 'done' | 'skipped' | 'failed';

export interface StepResult {
  stepId: string;
  status: StepStatus;
  message?: string;
  /** Items that were skipped or failed inside a step (e.g. packages not in the archive). */
  details?: string[];
}

export interface RestoreReport {
  status: 'done' | 'partial' | 'failed';
  snapshotId: string;
  results: StepResult[];
  deferred: DeferredTask[];
  startedAt: string;
  finishedAt: string;
}

/**
 * How fast a kind of work goes (daemon/eta.ts measures each while it runs):
 * `network` and `extract` in bytes, `apt` in packages dpkg unpacks,
 * `configure` in packages dpkg configures (apt's second half, several times
 * faster per package), `flatpak` and `kpkg` in refs / packages, `time` in
 * seconds (a fixed guess, never measured).
 */
export type RateClass = 'network' | 'extract' | 'apt' | 'configure' | 'flatpak' | 'kpkg' | 'time';

/** A part of a step's work, in the units of its rate class; a step's parts are done one after the other. */
export interface WorkPart {
  rate: RateClass;
  total: number;
  done: number;
}

/** What a running step says about itself (STEP.PROGRESS). */
export interface StepProgress {
  /** Bytes and items done, in the plan step's units. */
  bytes: number;
  items: number;
  /** What it is doing now: e.g. apt's 'update', 'download', 'install'. */
  phase?: string;
  /** The item in hand: the package being installed, a flatpak ref. */
  detail?: string;
  /** Its work as learned while running (apt: archive bytes to fetch, packages dpkg will handle). */
  work?: WorkPart[];
}

/** The fetch-ahead's state (chroot-appliers/ahead.ts): blobs of later steps brought to the target's disk while earlier steps run. */
export interface AheadProgress {
  /** Bytes of blobs on the target's disk, of `total` to fetch ahead. */
  bytes: number;
  total: number;
  /** Bytes downloaded by this run (what resumed runs found there is not counted). */
  fetched: number;
  /** Steps whose blobs are all on the target's disk (they will read nothing from the network). */
  ready: string[];
  /** Steps whose data is staged already (they only move it into place). */
  staged: string[];
}

export interface TargetInfo {
  root: string;
  user: string;
}

export interface MachineError {
  code: string;
  message: string;
}

/** Where the snapshots come from: the server (absent) or an export in a folder (a drive). */
export interface SourceRef {
  kind: 'export';
  dir: string;
}

export interface RestoreContext {
  /** An export on a drive (no login on that path); absent: the server. */
  source?: SourceRef;
  login?: LoginCode;
  user?: { id: string };
  snapshots?: SnapshotSummary[];
  choice?: RestoreChoice;
  /** The person gave a passphrase or recovery key (kept in memory by the daemon, never here). */
  unlock: boolean;
  prepared?: Prepared;
  target?: TargetInfo;
  /** Per step: bytes and items done so far, and what the step said about its work. */
  progress: Record<string, StepProgress>;
  current?: string;
  /** The fetch-ahead running beside the steps (absent when there is none). */
  ahead?: AheadProgress;
  results: StepResult[];
  /** Step ids the next apply should run (after "retry failed"); all when undefined. */
  retryOnly?: string[];
  report?: RestoreReport;
  error?: MachineError;
}

export type RestoreEvent =
  | { type: 'START' }
  | { type: 'START_EXPORT'; dir: string }
  | { type: 'SKIP' }
  | { type: 'NEW_CODE' }
  | { type: 'LOGIN.CODE'; code: LoginCode }
  | { type: 'LOGIN.DONE'; user: { id: string } }
  | { type: 'LOGIN.FAILED'; error: MachineError }
  | { type: 'CHOOSE'; choice: RestoreChoice; unlock: boolean }
  | { type: 'BACK' }
  | { type: 'RETRY' }
  | { type: 'TARGET'; target: TargetInfo }
  | { type: 'STEP.START'; stepId: string }
  | ({ type: 'STEP.PROGRESS'; stepId: string } & StepProgress)
  | ({ type: 'AHEAD.PROGRESS' } & AheadProgress)
  | { type: 'STEP.DONE'; result: StepResult }
  | { type: 'APPLY.DONE'; report: RestoreReport }
  | { type: 'APPLY.FAILED'; error: MachineError }
  | { type: 'RETRY_FAILED' };
