/** The /v1 API: every route of the snapshot service on one router. */
import { Router } from '../http/router.ts';
import type { Services } from '../services.ts';
import { blobRoutes } from './blobs.ts';
import { blobListRoutes } from './blob-list.ts';
import { packRoutes } from './packs.ts';
import { keyRoutes } from './keys.ts';
import { meRoutes } from './me.ts';
import { shareRoutes } from './shares.ts';
import { snapshotRoutes } from './snapshots.ts';
import { vaultRoutes } from './vault.ts';

export function apiRouter(s: Services): Router {
  const r = new Router();
  meRoutes(r, s);
  snapshotRoutes(r, s);
  shareRoutes(r, s);
  blobListRoutes(r, s);
  packRoutes(r, s);
  blobRoutes(r, s);
  keyRoutes(r, s);
  vaultRoutes(r, s);
  return r;
}
