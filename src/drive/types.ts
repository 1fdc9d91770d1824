/** What the /v1 API answers (see src/server/README.md). */
import type { PublicIdentity } from '../keys/identity.ts';
import type { SnapshotSummary } from '../server/store/snapshots.ts';

export interface Me {
  id: string;
  name: string;
  created_at: number;
  /** ms since epoch when an erasure is pending, else null. */
  erase_after: number | null;
  usage: { used: number; limit: number | null };
}

// The snapshot listings are the server's own types (type-only: nothing of the server is loaded).
export type { SharedSnapshot, SnapshotSummary } from '../server/store/snapshots.ts';

export interface PostedSnapshot extends SnapshotSummary {
  created: boolean;
  blobs?: { address: string; size: number; created: boolean }[];
}

/** A registered public key: the shape `publicIdentity()` (src/keys) produces. */
export type PublicKeyEntry = PublicIdentity;

export interface AuditEntry {
  seq: number;
  action: string;
  object: string | null;
  other_user_id: string | null;
  at: number;
  ip: string | null;
}

export interface ShareEntry {
  user: string;
  user_id: string;
  shared_at: number;
}

/** Where an access token comes from: an AuthSession, or a fixed token. */
export interface TokenSource {
  accessToken(): Promise<string>;
  /** Called once after a 401; absent for fixed tokens. */
  refresh?(): Promise<void>;
}
