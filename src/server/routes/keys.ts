/** PUT/GET /v1/me/keys (the caller's public keys), GET /v1/users/<owner>/keys (an owner who shared with me). */
import type { Router } from '../http/router.ts';
import type { Services } from '../services.ts';
import { clientIp, readJson, sendJson } from '../http/respond.ts';
import { validateKeys } from '../store/keys.ts';
import { NotFoundError } from '../errors.ts';

export function keyRoutes(r: Router, s: Services): void {
  r.on('GET', '/v1/me/keys', async ({ req, res }) => {
    const u = await s.authenticate(req);
    sendJson(res, 200, { keys: await s.keys.list(u.id) });
  });

  r.on('PUT', '/v1/me/keys', async ({ req, res }) => {
    const u = await s.authenticate(req);
    const keys = validateKeys(await readJson(req, 64 * 1024));
    await s.keys.replace(u.id, keys);
    await s.audit.record(u.id, 'keys.update', `keys:${keys.length}`, clientIp(req));
    sendJson(res, 200, { keys: await s.keys.list(u.id) });
  });

  r.on('GET', '/v1/users/:owner/keys', async ({ req, res, params }) => {
    const u = await s.authenticate(req);
    const owner = params.owner === 'me' ? u.id : params.owner!;
    if (!(await s.snapshots.hasAnyShareFrom(u.id, owner))) throw new NotFoundError('user');
    sendJson(res, 200, { keys: await s.keys.list(owner) });
  });
}
