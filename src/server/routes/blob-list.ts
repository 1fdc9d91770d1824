/**
 * GET /v1/me/blobs?after=<hex>&limit=<n>: the caller's blobs in address
 * order, `{ blobs: [{ hash, size }], next? }` — how a second machine of the
 * account finds the packs the first one stored (data v2 dedup), and how the
 * owner's tools (prune, check) see what is stored. Only the caller's own.
 */
import type { Router } from '../http/router.ts';
import type { Services } from '../services.ts';
import { sendJson } from '../http/respond.ts';
import { BadRequestError } from '../errors.ts';
import { HEX64 } from '../store/blobs.ts';

const MAX_LIMIT = 10_000;

export function blobListRoutes(r: Router, s: Services): void {
  r.on('GET', '/v1/me/blobs', async ({ req, res, url }) => {
    const u = await s.authenticate(req);
    const after = url.searchParams.get('after') ?? '';
    if (after !== '' && !HEX64.test(after)) throw new BadRequestError('invalid_blob_address', 'after must be a blob address (64 lowercase hex)');
    const limitText = url.searchParams.get('limit') ?? String(MAX_LIMIT);
    const limit = /^[1-9][0-9]{0,5}$/.test(limitText) ? Math.min(Number(limitText), MAX_LIMIT) : undefined;
    if (limit === undefined) throw new BadRequestError('invalid_limit', `limit must be 1…${MAX_LIMIT}`);
    const rows = await s.blobs.list(u.id, after, limit + 1);
    const page = rows.slice(0, limit);
    sendJson(res, 200, { blobs: page, ...(rows.length > limit ? { next: page[page.length - 1]!.hash } : {}) });
  });
}
