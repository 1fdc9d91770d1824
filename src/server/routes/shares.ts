/**
 * Sharing (read-only, a snapshot with its chain and blobs):
 *   POST   /v1/snapshots/<id>/share  { "user": NAME }
 *   DELETE /v1/snapshots/<id>/share/<NAME>
 *   GET    /v1/me/snapshots/<id>/shares   who I shared it with
 *   GET    /v1/me/shared                  what others shared with me
 *   GET    /v1/users/<owner>/snapshots/<id>/share-keys   the data v2 keys sealed to me
 *   GET    /v1/directory/<NAME>           a user's public keys (to seal a share's keys to them)
 */
import type { Router } from '../http/router.ts';
import type { Services } from '../services.ts';
import { clientIp, readJson, sendEmpty, sendJson } from '../http/respond.ts';
import { BadRequestError, NotFoundError } from '../errors.ts';
import { findUserByName } from '../users.ts';

const MAX_SHARE_BODY = 256 * 1024;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

export function shareRoutes(r: Router, s: Services): void {
  r.on('POST', '/v1/snapshots/:id/share', async ({ req, res, params }) => {
    const u = await s.authenticate(req);
    const body = (await readJson(req, MAX_SHARE_BODY)) as { user?: unknown; keys?: unknown } | null;
    if (typeof body?.user !== 'string') throw new BadRequestError('invalid_share', 'expected { "user": "NAME", "keys"?: BASE64 }');
    if (body.keys !== undefined && (typeof body.keys !== 'string' || !BASE64.test(body.keys) || body.keys.length < 64)) {
      throw new BadRequestError('invalid_share', 'keys must be base64 (the snapshot\'s tree keys sealed to the user)');
    }
    const { grantee_id, created } = await s.snapshots.share(u.id, params.id!, body.user, body.keys as string | undefined);
    await s.audit.record(u.id, 'snapshot.share', `snapshot:${params.id}`, clientIp(req), grantee_id);
    sendJson(res, created ? 201 : 200, { snapshot: params.id, user: body.user, created });
  });

  r.on('DELETE', '/v1/snapshots/:id/share/:user', async ({ req, res, params }) => {
    const u = await s.authenticate(req);
    await s.snapshots.unshare(u.id, params.id!, params.user!);
    sendEmpty(res, 204);
  });

  r.on('GET', '/v1/me/snapshots/:id/shares', async ({ req, res, params }) => {
    const u = await s.authenticate(req);
    sendJson(res, 200, { shares: await s.snapshots.sharesOf(u.id, params.id!) });
  });

  r.on('GET', '/v1/users/:owner/snapshots/:id/share-keys', async ({ req, res, params }) => {
    const u = await s.authenticate(req);
    const keys = await s.snapshots.shareKeys(u.id, params.owner!, params.id!);
    if (keys === undefined) throw new NotFoundError('share_keys', 'this share carries no data v2 keys');
    sendJson(res, 200, { keys });
  });

  r.on('GET', '/v1/directory/:name', async ({ req, res, params }) => {
    await s.authenticate(req);
    const user = await findUserByName(s.db, params.name!);
    if (!user) throw new NotFoundError('user', `user '${params.name}' not found`);
    sendJson(res, 200, { user_id: user.id, name: params.name, keys: await s.keys.list(user.id) });
  });

  r.on('GET', '/v1/me/shared', async ({ req, res }) => {
    const u = await s.authenticate(req);
    sendJson(res, 200, { shared: await s.snapshots.sharedWith(u.id) });
  });
}
