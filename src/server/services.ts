/** Everything a route handler may call, built once by app.ts (backend-agnostic: the database and the object store behind are either kind). */
import type { Database } from './db/database.ts';
import type { Clock } from './clock.ts';
import type { Audit } from './audit.ts';
import type { Authenticate } from './auth-middleware.ts';
import type { Erasure } from './erasure.ts';
import type { Quota } from './quota.ts';
import type { BlobStore } from './store/blobs.ts';
import type { KeyStore } from './store/keys.ts';
import type { SnapshotStore } from './store/snapshots.ts';
import type { VaultStore } from './store/vault.ts';

export interface Services {
  db: Database;
  clock: Clock;
  audit: Audit;
  authenticate: Authenticate;
  erasure: Erasure;
  quota: Quota;
  blobs: BlobStore;
  keys: KeyStore;
  snapshots: SnapshotStore;
  vault: VaultStore;
}
