/** What the /v1 API answers (see src/server/README.md). */
export interface Me {
  id: string;
  name: string;
  created_at: number;
  /** ms since epoch when an erasure is pending, else null. */
  erase_after: number | null;
  usage: { used: number; limit: number | null };
}

export interface SnapshotSummary {
  id: string;
  hostname: string;
  created_at: string;
  parent: string | null;
  depth: number;
  key_id: string;
  uploaded_at: number;
  manifest_size: number;
  blobs_size: number;
  blob_count: number;
}

export interface SharedSnapshot extends SnapshotSummary {
  owner_id: string;
  owner_name: string;
  shared_at: number;
}

export interface PostedSnapshot extends SnapshotSummary {
  created: boolean;
  blobs?: { address: string; size: number; created: boolean }[];
}

export interface PublicKeyEntry {
  key_id: string;
  ed25519: string;
  x25519: string;
}

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
