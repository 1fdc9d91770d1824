/** GET /v1/me, DELETE /v1/me (erasure after the grace), POST /v1/me/cancel-erasure, GET /v1/me/audit. */
import type { Router } from '../http/router.ts';
import type { Services } from '../services.ts';
import { clientIp, sendJson } from '../http/respond.ts';

export function meRoutes(r: Router, s: Services): void {
  r.on('GET', '/v1/me', async ({ req, res }) => {
    const u = await s.authenticate(req);
    const limit = Number.isFinite(s.quota.limit) ? s.quota.limit : null;
    sendJson(res, 200, { id: u.id, name: u.name, created_at: u.created_at, erase_after: u.erase_after, usage: { used: await s.quota.used(u.id), limit } });
  });

  r.on('DELETE', '/v1/me', async ({ req, res }) => {
    const u = await s.authenticate(req);
    const at = await s.erasure.request(u.id);
    await s.audit.record(u.id, 'account.erase-requested', `user:${u.id}`, clientIp(req));
    sendJson(res, 202, { erase_after: at, grace_ms: s.erasure.graceMs });
  });

  r.on('POST', '/v1/me/cancel-erasure', async ({ req, res }) => {
    const u = await s.authenticate(req);
    const canceled = await s.erasure.cancel(u.id);
    if (canceled) await s.audit.record(u.id, 'account.erase-canceled', `user:${u.id}`, clientIp(req));
    sendJson(res, 200, { canceled });
  });

  r.on('GET', '/v1/me/audit', async ({ req, res, url }) => {
    const u = await s.authenticate(req);
    const limit = Number(url.searchParams.get('limit') ?? 100) || 100;
    const before = url.searchParams.has('before') ? Number(url.searchParams.get('before')) : undefined;
    sendJson(res, 200, { entries: await s.audit.list(u.id, limit, before) });
  });
}
