/** POST /v1/me/packs/rewrite { remove: [hex], add: [hex] }: a prune's repack (store/pack-rewrite.ts). */
import type { Router } from '../http/router.ts';
import type { Services } from '../services.ts';
import { clientIp, readJson, sendJson } from '../http/respond.ts';
import { parseRewrite, rewritePacks } from '../store/pack-rewrite.ts';

export function packRoutes(r: Router, s: Services): void {
  r.on('POST', '/v1/me/packs/rewrite', async ({ req, res }) => {
    const u = await s.authenticate(req);
    const rw = parseRewrite(await readJson(req, 2 * 1024 * 1024));
    const out = await rewritePacks(s.db, s.blobs, u.id, rw);
    await s.audit.record(u.id, 'packs.rewrite', `packs:${rw.remove.length}->${rw.add.length}`, clientIp(req));
    sendJson(res, 200, out);
  });
}
