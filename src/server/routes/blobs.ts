/**
 * Blobs by sha256 (bare hex in the path):
 *   HEAD/GET /v1/me/blobs/<hex>          the caller's own (GET honours one Range)
 *   PUT      /v1/me/blobs/<hex>          idempotent upload, verified by hash
 *   HEAD/GET /v1/users/<owner>/blobs/<hex>  a blob of a chain shared with me
 */
import type { ServerResponse } from 'node:http';
import type { Router, RouteContext } from '../http/router.ts';
import type { Services } from '../services.ts';
import { clientIp, sendJson } from '../http/respond.ts';
import { parseRange } from '../http/range.ts';
import { assertBlobHex } from '../store/blobs.ts';
import { BadRequestError, NotFoundError, RangeNotSatisfiableError } from '../errors.ts';
import { pipeline } from 'node:stream/promises';

export function blobRoutes(r: Router, s: Services): void {
  const serve = async ({ req, res, params }: RouteContext, ownerParam?: string) => {
    const u = await s.authenticate(req);
    const hex = params.hex!;
    assertBlobHex(hex);
    const owner = ownerParam === undefined || ownerParam === 'me' ? u.id : ownerParam;
    const info = await s.snapshots.readableBlob(u.id, owner, hex);
    if (!info) throw new NotFoundError('blob');
    const base = {
      'Content-Type': 'application/octet-stream',
      'Accept-Ranges': 'bytes',
      ETag: `"${hex}"`,
      'Cache-Control': 'private, max-age=31536000, immutable',
    };
    if (req.method === 'HEAD') {
      res.writeHead(200, { ...base, 'Content-Length': info.size });
      res.end();
      return;
    }
    const range = parseRange(req.headers.range, info.size);
    if (range.kind === 'unsatisfiable') {
      res.setHeader('Content-Range', `bytes */${info.size}`);
      throw new RangeNotSatisfiableError(info.size);
    }
    await s.audit.record(u.id, 'blob.read', `blob:${hex}`, clientIp(req), owner === u.id ? null : owner);
    if (range.kind === 'range') {
      const stream = await s.blobs.open(owner, info, { start: range.start, end: range.end });
      res.writeHead(206, { ...base, 'Content-Length': range.end - range.start + 1, 'Content-Range': `bytes ${range.start}-${range.end}/${info.size}` });
      await pipe(stream, res);
    } else {
      const stream = await s.blobs.open(owner, info);
      res.writeHead(200, { ...base, 'Content-Length': info.size });
      await pipe(stream, res);
    }
  };

  r.on('GET', '/v1/me/blobs/:hex', (ctx) => serve(ctx));
  r.on('GET', '/v1/users/:owner/blobs/:hex', (ctx) => serve(ctx, ctx.params.owner));

  r.on('PUT', '/v1/me/blobs/:hex', async ({ req, res, params }) => {
    const u = await s.authenticate(req);
    const hex = params.hex!;
    assertBlobHex(hex);
    const cl = req.headers['content-length'];
    const declared = cl === undefined ? undefined : Number(cl);
    if (declared !== undefined && !Number.isSafeInteger(declared)) throw new BadRequestError('invalid_length', 'bad Content-Length');
    const { created, size } = await s.blobs.put(u.id, hex, req, declared);
    if (created) await s.audit.record(u.id, 'blob.create', `blob:${hex}`, clientIp(req));
    sendJson(res, created ? 201 : 200, { address: `sha256:${hex}`, size, created });
  });
}

async function pipe(stream: NodeJS.ReadableStream, res: ServerResponse): Promise<void> {
  try {
    await pipeline(stream, res);
  } catch {
    // the client went away mid-stream: nothing to answer
    res.destroy();
  }
}
