/**
 * The contract between the daemon and the wizard: what the wizard is shown
 * (UiState, sent as Server-Sent Events on GET /api/state) and what it may
 * send (UiEvent, POST /api/events). The wizard is a pure view of UiState.
 */
import type { Category, DeferredTask, PlanStep, RestoreChoice } from '../restore-machine/plan.ts';
import type { AheadProgress, LoginCode, MachineError, RestoreReport, SnapshotSummary, SourceRef, StepStatus } from '../restore-machine/types.ts';
import type { FoundExport } from '../export/find.ts';

export type Phase =
  | 'welcome'
  | 'login'            // showing the code; login.expiresAt tells the time left
  | 'login-failed'     // error.code: 'EXPIRED' | 'DENIED' | other
  | 'loading'          // listing snapshots
  | 'list-failed'      // retry
  | 'choose'           // snapshots listed; the wizard runs choose → configure locally, then sends CHOOSE
  | 'preparing'        // verifying the chain, opening the vault, fetching small blobs
  | 'prepare-failed'   // retry or back
  | 'refused'          // verification failed: final for that snapshot (back only)
  | 'ready'            // plan known: the summary screen; CONFIRM starts (standalone) or hands over to the installer
  | 'applying'
  | 'apply-failed'
  | 'report'
  | 'skipped';

export interface StepView extends PlanStep {
  status: 'pending' | 'running' | StepStatus;
  doneBytes: number;
  doneItems: number;
  /** While applying: share of the step done, 0..1 (time spent / (spent + left), daemon/eta.ts), and its seconds in all (spent + left). */
  share?: number;
  seconds?: number;
  /** Running: what it is doing ('download', 'install'…) and the item in hand (a package). */
  phase?: string;
  detail?: string;
  message?: string;
  details?: string[];
}

export interface ProgressView {
  current?: string;
  /** The current step's phase and item in hand (apt: 'install', 'python3.11'). */
  phase?: string;
  detail?: string;
  totalBytes: number;
  doneBytes: number;
  totalItems: number;
  doneItems: number;
  /** Share of the whole restore done, 0..1, never going back (what the bars show). */
  fraction: number;
  /** Epoch ms when apply started. */
  startedAt?: number;
  /** Seconds left (daemon/eta.ts), as estimated at `etaAt` (epoch ms): a view counts down from there. */
  etaSeconds?: number;
  etaAt?: number;
  /** The fetch-ahead beside the running steps: later steps' data on the target's disk (bytes of total), the steps it is ready or staged for. */
  ahead?: AheadProgress;
}

export interface SnapshotDetails {
  id: string;
  byCategory: Record<Category, { bytes: number; items: number }>;
  counts: { apt: number; snap: number; flatpak: number; repos: number; files: number; secrets: number };
  hostname: string;
}

export interface UiState {
  phase: Phase;
  /** 'installer': apply runs later, in the installer's exec phase. 'standalone': CONFIRM starts it. */
  mode: 'installer' | 'standalone';
  /** Prefill for the configure screen. */
  defaults: { hostname: string; targetUser: string };
  login?: LoginCode & { qrSvg: string };
  user?: { id: string };
  snapshots?: SnapshotSummary[];
  choice?: RestoreChoice;
  error?: MachineError;
  plan?: { steps: StepView[]; deferred: DeferredTask[]; vault: 'unlocked' | 'locked' | 'absent' };
  progress?: ProgressView;
  report?: RestoreReport;
  /** Installer mode: the person confirmed; the installer may go on. */
  confirmed?: boolean;
  /** Welcome: exports found on the mounted drives ("Restore from a drive"). */
  exports?: FoundExport[];
  /** The restore reads an export on a drive (no login; the passphrase or recovery key is needed). */
  source?: SourceRef;
}

export type UiEvent =
  | { type: 'START' }
  /** Restore from the export in `dir` (a drive): no login on that path. */
  | { type: 'START_EXPORT'; dir: string }
  | { type: 'SKIP' }
  | { type: 'NEW_CODE' }
  /** The passphrase (or recovery key) stays in the daemon's memory; never persisted. */
  | { type: 'CHOOSE'; choice: RestoreChoice; passphrase?: string; recoveryKey?: string }
  | { type: 'BACK' }
  | { type: 'RETRY' }
  | { type: 'CONFIRM' }
  | { type: 'RETRY_FAILED' };

/** GET /api/snapshots/<id>/details → SnapshotDetails (verified chain, folded). */
export const DETAILS_PATH = '/api/snapshots/';
