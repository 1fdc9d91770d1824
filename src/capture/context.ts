/**
 * What every collector gets, and the blobs they produce. Collectors read
 * this machine (under `root` for system files, under `home` for the
 * person's), put blobs in the cache, and report problems as warnings: a
 * collector never fails the capture for one item it could not read.
 */
import type { Manifest } from '../manifest/types.ts';
import { InvalidField, validateManifest } from '../manifest/validate.ts';
import type { BlobStore } from './blob-store.ts';
import type { CaptureConfig } from './config.ts';
import type { CaptureEvent } from './progress.ts';
import type { SkipMatcher } from './skips.ts';
import type { CaptureState } from './state.ts';
import type { DataV2 } from './data-v2.ts';

export interface BlobItem {
  hex: string;
  /** What it holds, for progress lines: `~/Documentos`, `repo ~/dev/app`, `keyring nodesource`. */
  label: string;
  /** Bytes of the stored blob. */
  size: number;
  /** Builds the blob again (same bytes) into the cache; for a reused entry whose file is gone. */
  rebuild?: () => Promise<void>;
}

export interface Sealer {
  /** Seals plaintext to the identity's X25519 key; base64. */
  seal(plain: Uint8Array): Promise<string>;
  /** Opens a sealed value of the parent snapshot (to reuse it when unchanged); undefined if it cannot. */
  open(sealed: string): Promise<Uint8Array | undefined>;
}

export interface CollectContext {
  /** Root of the system files (`/`, or a fixture root in tests). */
  root: string;
  /** The captured home (`~` in the manifest). */
  home: string;
  config: CaptureConfig;
  /** Environment for tools that read the person's settings (HOME = `home`). */
  userEnv: NodeJS.ProcessEnv;
  store: BlobStore;
  state: CaptureState;
  skip: SkipMatcher;
  /** The latest snapshot of this host, folded (to reuse sealed secrets). */
  parent?: Manifest;
  /** Absent when there is no identity (a dry run before `init`): secrets are then left out. */
  sealer?: Sealer;
  /** Data v2 (files.format = 2): the chunk store this capture writes into. */
  v2?: DataV2;
  /** Blobs referenced so far, by hex. */
  blobs: Map<string, BlobItem>;
  /** Worktrees of the repositories captured (their .git is left out of file archives). */
  repoWorktrees: string[];
  warn(message: string): void;
  emit(e: CaptureEvent): void;
  signal?: AbortSignal;
}

const STUB = { version: 1, hostname: 'stub', created_at: '2000-01-01T00:00:00Z', koder_user_id: 'stub' };

/**
 * Why a piece of manifest would not validate (the rules of
 * src/manifest/validate.ts), or undefined. Collectors drop such an item with
 * a warning instead of producing a manifest the server would refuse.
 */
export function manifestProblem(sections: Record<string, unknown>): string | undefined {
  try {
    validateManifest({ snapshot: STUB, ...sections });
    return undefined;
  } catch (e) {
    if (e instanceof InvalidField) return `${e.path.join('.')}: ${e.reason}`;
    throw e;
  }
}
