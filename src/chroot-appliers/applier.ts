/**
 * What an applier is: a function per step kind that restores one plan step
 * into the target and says how it went. Appliers are idempotent — running a
 * step again after an interruption converges to the same target — and never
 * throw for an item they could not restore: they report it (status
 * 'skipped' / 'failed' with details) and the restore goes on. Only a
 * verification failure (a blob whose hash does not match) throws.
 */
import type { Readable } from 'node:stream';
import type { Manifest, BlobRef } from '../manifest/types.ts';
import type { DeferredTask, PlanStep, RestoreChoice, RestorePlan, StepKind } from '../restore-machine/plan.ts';
import type { StepProgress, StepStatus } from '../restore-machine/types.ts';
import type { Identity } from '../keys/identity.ts';
import type { Target } from './target.ts';
import type { RemoteBlob } from './remote-blob.ts';
import type { LocalDebs } from './apt-local-debs.ts';
import type { AptUpdateResult } from './apt.ts';

export interface BlobSource {
  /**
   * A stream of the blob's stored bytes. The stream errors (and the consumer
   * must discard what it wrote) if the bytes do not hash to `ref` — unless
   * the consumer said `callerVerifies`: then it hashes them itself (the files
   * applier does, beside zstd in its worker thread, off the busy thread) and
   * the source may skip its own digest; it still errors when it cannot
   * deliver the bytes.
   */
  open(ref: BlobRef, opts?: BlobOpenOptions): Promise<Readable>;
  /**
   * The same blob for a reader that fetches it over HTTP itself (the files
   * applier's worker thread); such a reader always checks the address.
   * Absent when the blobs are not behind HTTP.
   */
  remote?(ref: BlobRef, opts?: { signal?: AbortSignal }): RemoteBlob;
  /**
   * A whole blob, or its bytes [start, end] inclusive, in memory: for small
   * reads (data v2 tree roots and tree objects). The caller authenticates them.
   */
  read?(ref: BlobRef, start?: number, end?: number, opts?: { signal?: AbortSignal }): Promise<Buffer>;
  /**
   * Every blob of the account (address, size): the owner's, to find data v2
   * chunks a prune moved. Absent for a snapshot shared with me.
   */
  list?(): Promise<{ hash: string; size: number }[]>;
  /**
   * A local file holding the blob's bytes, when the source has one (a copy
   * fetched ahead, a drive's export), for readers that open it themselves;
   * undefined when the blob is to be fetched.
   */
  local?(ref: BlobRef): string | undefined;
  /** Whole blobs to disk, verified (fetch-ahead: ahead.ts). Absent when the blobs are local already. */
  fetch?: BlobFetch;
}

export interface BlobFetch {
  /** The blob's stored size, undefined when the source does not have it. */
  size(ref: BlobRef, opts?: { signal?: AbortSignal }): Promise<number | undefined>;
  /**
   * Downloads the blob to `dest`: `dest` appears only complete and hashing
   * to the address (a `dest.part` left by an interrupted run is resumed).
   */
  download(ref: BlobRef, dest: string, opts?: { signal?: AbortSignal; onBytes?: (n: number) => void; durable?: boolean }): Promise<{ size: number }>;
}

export interface BlobOpenOptions {
  onBytes?: (n: number) => void;
  signal?: AbortSignal;
  callerVerifies?: boolean;
}

export interface ApplyContext {
  target: Target;
  /** The folded, verified manifest. */
  manifest: Manifest;
  choice: RestoreChoice;
  plan: RestorePlan;
  blobs: BlobSource;
  /** The opened key vault's identity, when the person unlocked it. Memory only. */
  identity?: Identity;
  /**
   * Data v2 tree keys handed over by a share (tree root address → key), for
   * a snapshot someone shared with this person: their own identity does not
   * open the sharer's trees. Memory only.
   */
  treeKeys?: Map<string, Uint8Array>;
  /** Tasks to hand to the first-boot service; appliers may add to it. */
  deferred: DeferredTask[];
  signal?: AbortSignal;
  log: (line: string) => void;
  /** The .debs an export brought (apt-local-debs.ts): offered to apt at the run's first apt-get update, removed at the end. */
  localDebs?: LocalDebs;
  /**
   * The run's `apt-get update`, begun before the apply (apt.ts startAptUpdate:
   * the restore session starts it beside the vault's key derivation when the
   * person already said yes); the apt steps take it as theirs.
   */
  aptLists?: Promise<AptUpdateResult>;
  /** Facts about the live machine the installer runs on (for gpu checks). */
  host?: { gpuVendors?: string[] };
}

export interface StepOutcome {
  status: StepStatus;
  message?: string;
  details?: string[];
  /** files.restore: the files already there and different, kept as NAME.pre-restore (paths inside the target root). */
  preRestored?: string[];
}

/**
 * A step's progress: bytes and items done in the plan step's units, and,
 * when the step learns it while running, its phase, the item in hand and
 * its work by rate class (apt: archive bytes to fetch, packages for dpkg),
 * from which the daemon estimates the time left (daemon/eta.ts).
 */
export type Progress = (done: StepProgress) => void;

export type StepApplier = (step: PlanStep, ctx: ApplyContext, progress: Progress) => Promise<StepOutcome>;

export type ApplierTable = Partial<Record<StepKind, StepApplier>>;

/**
 * What can be done for a step before its turn, beside the steps before it
 * (ahead.ts): staging its data where the step will find it (a data v2
 * folder into its staging folder and journal, a repository built in its
 * own). A failure is logged by the fetch-ahead and the step's to meet
 * again and report. Resolves with the blobs the step will not read any
 * more, its data being staged whole (the fetch-ahead deletes its copies of
 * them at once, before the kernel writes them to the disk dpkg is using).
 */
export type StepStager = (step: PlanStep, ctx: ApplyContext, progress: Progress) => Promise<readonly BlobRef[] | void>;

export type StagerTable = Partial<Record<StepKind, StepStager>>;
