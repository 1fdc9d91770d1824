/**
 * Sharing (read-only, a snapshot with its chain and blobs):
 *   POST   /v1/snapshots/<id>/share  { "user": NAME }
 *   DELETE /v1/snapshots/<id>/share/<NAME>
 *   GET    /v1/me/snapshots/<id>/shares   who I shared it with
 *   GET    /v1/me/shared                  what others shared with me
 */
import type { Router } from '../http/router.ts';
import type { Services } from '../services.ts';
import { clientIp, readJson, sendEmpty, sendJson } from '../http/respond.ts';
import { BadRequestError } from '../errors.ts';

export function shareRoutes(r: Router, s: Services): void {
  r.on('POST', '/v1/snapshots/:id/share', async ({ req, res, params }) => {
    const u = await s.authenticate(req);
    const body = (await readJson(req, 4096)) as { user?: unknown } | null;
    if (typeof body?.user !== 'string') throw new BadRequestError('invalid_share', 'expected { "user": "NAME" }');
    const { grantee_id, created } = s.snapshots.share(u.id, params.id!, body.user);
    s.audit.record(u.id, 'snapshot.share', `snapshot:${params.id}`, clientIp(req), grantee_id);
    sendJson(res, created ? 201 : 200, { snapshot: params.id, user: body.user, created });
  });

  r.on('DELETE', '/v1/snapshots/:id/share/:user', async ({ req, res, params }) => {
    const u = await s.authenticate(req);
    s.snapshots.unshare(u.id, params.id!, params.user!);
    sendEmpty(res, 204);
  });

  r.on('GET', '/v1/me/snapshots/:id/shares', async ({ req, res, params }) => {
    const u = await s.authenticate(req);
    sendJson(res, 200, { shares: s.snapshots.sharesOf(u.id, params.id!) });
  });

  r.on('GET', '/v1/me/shared', async ({ req, res }) => {
    const u = await s.authenticate(req);
    sendJson(res, 200, { shared: s.snapshots.sharedWith(u.id) });
  });
}
