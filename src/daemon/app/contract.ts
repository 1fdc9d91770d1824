/**
 * The contract between the daemon in app mode and the Backup app's page
 * (src/app): what the page is shown on the state stream (AppState, GET
 * /api/state, Server-Sent Events, as the wizard's UiState), and every route
 * of the app's API with its request and answer (AppApi). The page's one
 * client module (src/app/api.ts) and the daemon's routes (routes.ts) are both
 * typed by this file, so a change here is a compile error on both sides.
 *
 * The state stream carries what changes by itself (sign-in, keys, the
 * backup and restore jobs with their progress); lists and details are asked
 * for, and asked again when `revision` moves.
 */
import type { Category } from '../../restore-machine/plan.ts';
import type { LoginCode, SnapshotSummary } from '../../restore-machine/types.ts';
import type { SnapshotDetails } from '../ui-state.ts';

export type { SnapshotSummary, SnapshotDetails, Category };

export interface ErrorView {
  code: string;
  message: string;
}

export type AccountView =
  | { state: 'checking' }
  | { state: 'signed-out' }
  /** `login` is absent while the code is being asked for. */
  | { state: 'signing-in'; login?: LoginCode & { qrSvg: string } }
  /** error.code: 'EXPIRED' | 'DENIED' | other. */
  | { state: 'sign-in-failed'; error: ErrorView }
  | { state: 'signed-in'; user: { id: string; name: string }; eraseAfter: number | null };

/**
 * This computer's keys (the identity that signs backups and opens the
 * snapshots' folders, src/capture/init.ts):
 *  - ready: here, and the same as the account's vault;
 *  - fetch: the account has a vault, this computer no identity: the passphrase brings it here;
 *  - create: no vault yet: a passphrase makes one (and a recovery key, shown once);
 *  - conflict: this computer's identity is not the vault's (the message says what to do);
 *  - unknown: signed out, or not checked yet.
 */
export interface KeysView {
  state: 'unknown' | 'ready' | 'fetch' | 'create' | 'conflict';
  keyId?: string;
  /** Fingerprint of my X25519 public key (what a person sharing with me compares), src/keys/fingerprint.ts. */
  fingerprint?: string;
  message?: string;
}

export type JobState = 'running' | 'cancelling' | 'done' | 'failed' | 'cancelled';

/** A long operation the daemon runs (an actor): the page follows it; closing the page loses nothing. */
export interface JobView<P, R> {
  id: string;
  state: JobState;
  startedAt: number;
  endedAt?: number;
  progress: P;
  result?: R;
  error?: ErrorView;
}

export interface ProgressCommon {
  doneBytes: number;
  totalBytes: number;
  /** Share done, 0..1, never going back. */
  fraction: number;
  /** Seconds left as estimated at `etaAt` (epoch ms): the page counts down from there. */
  etaSeconds?: number;
  etaAt?: number;
}

export type CollectorState = 'pending' | 'running' | 'done' | 'skipped';

export interface BackupProgress extends ProgressCommon {
  phase: 'starting' | 'collecting' | 'uploading' | 'posting';
  collectors: { name: Category; state: CollectorState; summary?: string }[];
  /** One per folder, in the order they were read: bytes read of the folder's size. */
  folders: { label: string; done: number; total: number; state: 'running' | 'done'; unchanged?: boolean }[];
  /** Bytes uploaded of those started. */
  upload: { done: number; total: number };
  warnings: number;
}

export interface BackupResult {
  id: string;
  kind: 'full' | 'delta';
  parentId?: string;
  uploadedBytes: number;
  /** Folders and their sizes as the snapshot has them. */
  folders: { label: string; size: number; files?: number }[];
  /** What was left out and why (the capture's own words: data, not translated). */
  warnings: string[];
}

export interface RestoreProgress extends ProgressCommon {
  items: { path: string; state: 'pending' | 'running' | 'done' | 'skipped' | 'failed'; doneBytes: number; totalBytes: number }[];
}

export interface RestoreResult {
  /** The folder restored into, as a path under the home (`~/Restored 2026-05-02`) or `~` in place. */
  into: string;
  /** `message`: why a path was skipped or failed (data, not translated); `kept`: files that were there and different, kept as NAME.pre-restore (`~/…`). */
  items: { path: string; status: 'done' | 'skipped' | 'failed'; message?: string; kept?: string[] }[];
}

export interface AppState {
  /** Moves whenever what the page lists may have changed (a backup posted, a snapshot deleted or shared, keys changed, signed in or out). */
  revision: number;
  server: string;
  host: { hostname: string; user: string; home: string };
  account: AccountView;
  keys: KeysView;
  backup?: JobView<BackupProgress, BackupResult>;
  restore?: JobView<RestoreProgress, RestoreResult>;
}

// ── answers of the API ──────────────────────────────────────────────────────

export interface ScheduleView {
  /** The weekly timer's unit files are written and enabled. */
  enabled: boolean;
  /** The next run (epoch ms): systemd's, or the next Monday 00:00 when systemd could not be asked. */
  nextAt?: number;
  /** `nextAt` is our reading of OnCalendar=weekly, not systemd's answer. */
  nextEstimated?: boolean;
  lastAt?: number;
  lastResult?: string;
  /** Why systemd could not be asked or could not enable it (the files are written anyway), and what finishes the job. */
  problem?: string;
  manual?: string[];
}

export interface IncludeView {
  categories: Category[];
  folders: string[];
  skips: string[];
}

export interface ConfigView {
  file: string;
  /** config.toml exists (else every key is the default). */
  exists: boolean;
  include: IncludeView;
  /** The effective configuration, as TOML (what `koder-snapshot config` prints). */
  effective: string;
}

export interface MachineView {
  hostname: string;
  count: number;
  last: SnapshotSummary;
}

export interface Overview {
  me: { name: string; usage: { used: number; limit: number | null } };
  thisMachine: {
    hostname: string;
    last?: SnapshotSummary;
    /** How the last backup of this computer went (src/capture/last-result.ts), when it is the listed one. */
    outcome?: { state: 'ok' | 'partial'; warnings: number };
  };
  schedule: ScheduleView;
  others: MachineView[];
}

export interface SnapshotFull {
  id: string;
  owner?: string;
  ownerName?: string;
  hostname: string;
  createdAt: string;
  version: 1 | 2;
  /** Ids of the chain, leaf first. */
  chain: string[];
  system: { timezone?: string; locale?: string; keyboard?: string; gpuDriver?: string; desktopSettings: number };
  apps: { apt: number; flatpak: number; snap: number; kpkg: number; sources: number };
  repos: { path: string; url?: string; branch?: string; bundled: boolean }[];
  /** Names only: the values are sealed. */
  secrets: string[];
  folders: { path: string; size: number; files?: number; version: 1 | 2 }[];
  /** Bytes of everything it restores. */
  bytes: number;
}

export interface FileEntryView {
  name: string;
  /** The path to ask for (or restore): the folder's manifest path and the names below it. */
  path: string;
  type: 'dir' | 'file' | 'symlink' | 'folder-v1';
  size?: number;
  /** ISO time. */
  mtime?: string;
  files?: number;
  target?: string;
  /** False for a name that is not valid UTF-8 (it cannot be asked for by path). */
  selectable: boolean;
}

export interface FileList {
  /** '' for the snapshot's folders. */
  path: string;
  entries: FileEntryView[];
}

export interface DeletePlan {
  /** This snapshot and the later ones built on it, deleted together. */
  deletes: string[];
  /** Bytes the server frees: blobs no remaining snapshot references. */
  frees: number;
}

export interface ShareView {
  user: string;
  sharedAt: number;
}

export interface UserLookup {
  name: string;
  /** Absent when they have no key yet (they sign in to the app, or run `koder-snapshot init`, once). */
  fingerprint?: string;
}

export interface SlotView {
  id: string;
  kind: 'passphrase' | 'recovery';
}

export interface KeysInfo {
  keyId: string;
  fingerprint: string;
  slots: SlotView[];
}

export interface RecoveryKeyView {
  /** Shown once: the daemon keeps no copy. */
  recoveryKey: string;
  qrSvg: string;
}

export interface AccountInfo {
  id: string;
  name: string;
  createdAt: number;
  usage: { used: number; limit: number | null };
  eraseAfter: number | null;
}

export interface AuditEntryView {
  seq: number;
  action: string;
  object: string | null;
  otherUser: string | null;
  at: number;
  ip: string | null;
}

export interface AuditPage {
  entries: AuditEntryView[];
  /** `before` for the next page, when there is one. */
  next?: number;
}

export type RestoreMode = 'new-folder' | 'in-place';

// ── the routes ──────────────────────────────────────────────────────────────

/** Every route of the app's API: `METHOD path` → its body (or query) and answer. `:x` is a path parameter. */
export interface AppApi {
  'POST /api/app/sign-in': { body: Record<string, never>; answer: { started: boolean } };
  'POST /api/app/sign-in/cancel': { body: Record<string, never>; answer: { canceled: boolean } };
  'POST /api/app/sign-out': { body: Record<string, never>; answer: { signedOut: boolean } };
  /** Brings the account's identity here (fetch) or makes one (create: the recovery key in the answer, once). */
  'POST /api/app/setup': { body: { passphrase: string }; answer: { kind: 'created' | 'fetched' | 'already'; recovery?: RecoveryKeyView } };
  'GET /api/app/overview': { body: never; answer: Overview };
  'POST /api/app/backup': { body: Record<string, never>; answer: { job: string } };
  'POST /api/app/backup/cancel': { body: Record<string, never>; answer: { canceled: boolean } };
  'GET /api/app/schedule': { body: never; answer: { schedule: ScheduleView; config: ConfigView } };
  'POST /api/app/schedule': { body: { enabled: boolean }; answer: ScheduleView };
  'PUT /api/app/config': { body: IncludeView; answer: ConfigView };
  'GET /api/app/snapshots': { body: never; answer: { mine: SnapshotSummary[]; shared: SnapshotSummary[] } };
  /** The card's details (src/ui/details.ts): the same route and answer as the wizard's daemon. */
  'GET /api/snapshots/:id/details': { body: never; answer: SnapshotDetails };
  'GET /api/app/snapshots/:id': { body: never; answer: SnapshotFull };
  'GET /api/app/snapshots/:id/files': { body: never; query: { path?: string }; answer: FileList };
  'GET /api/app/snapshots/:id/delete-plan': { body: never; answer: DeletePlan };
  'DELETE /api/app/snapshots/:id': { body: never; answer: { deleted: string[] } };
  'POST /api/app/restore': { body: { snapshotId: string; paths: string[]; mode: RestoreMode }; answer: { job: string } };
  'POST /api/app/restore/cancel': { body: Record<string, never>; answer: { canceled: boolean } };
  'GET /api/app/snapshots/:id/shares': { body: never; answer: { shares: ShareView[] } };
  'POST /api/app/snapshots/:id/shares': { body: { user: string }; answer: { user: string; created: boolean; fingerprint?: string } };
  'DELETE /api/app/snapshots/:id/shares/:user': { body: never; answer: { revoked: boolean } };
  'GET /api/app/users/:name': { body: never; answer: UserLookup };
  'GET /api/app/keys': { body: never; answer: KeysInfo };
  'POST /api/app/keys/passphrase': { body: { current: string; next: string }; answer: { slots: SlotView[] } };
  'POST /api/app/keys/recovery': { body: { passphrase: string }; answer: RecoveryKeyView & { slots: SlotView[] } };
  'GET /api/app/account': { body: never; answer: AccountInfo };
  'GET /api/app/audit': { body: never; query: { before?: string }; answer: AuditPage };
  'POST /api/app/account/erase': { body: Record<string, never>; answer: { eraseAfter: number } };
  'POST /api/app/account/erase/cancel': { body: Record<string, never>; answer: { canceled: boolean } };
}

export type AppRoute = keyof AppApi;
