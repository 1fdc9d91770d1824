/**
 * Snapshots:
 *   GET    /v1/me/snapshots                 list (id, hostname, created_at, parent, sizes, depth)
 *   POST   /v1/me/snapshots                 the manifest text, or multipart (manifest + blob files)
 *   GET    /v1/me/snapshots/<id>            the .kvg text
 *   DELETE /v1/me/snapshots/<id>[?cascade=true]
 *   GET    /v1/users/<owner>/snapshots/<id> a snapshot of a chain shared with me
 */
import { Readable } from 'node:stream';
import type { Router } from '../http/router.ts';
import type { Services } from '../services.ts';
import { clientIp, readBody, sendJson } from '../http/respond.ts';
import { boundaryOf, readMultipart } from '../http/multipart.ts';
import { MAX_MANIFEST_BYTES } from '../store/snapshots.ts';
import { BadRequestError } from '../errors.ts';
import { decodeManifest, ManifestParseError } from '../../manifest/index.ts';

export const KVG_TYPE = 'application/toml; charset=utf-8';

/** A posted manifest's bytes as text: strict UTF-8, else a 400 like any other parse error. */
function manifestText(bytes: Uint8Array): string {
  try {
    return decodeManifest(bytes, 'manifest');
  } catch (e) {
    if (e instanceof ManifestParseError) throw new BadRequestError('manifest_parse', e.message, { field: e.field, position: e.position });
    throw e;
  }
}

export function snapshotRoutes(r: Router, s: Services): void {
  r.on('GET', '/v1/me/snapshots', async ({ req, res }) => {
    const u = await s.authenticate(req);
    sendJson(res, 200, { snapshots: await s.snapshots.list(u.id) });
  });

  r.on('POST', '/v1/me/snapshots', async ({ req, res }) => {
    const u = await s.authenticate(req);
    const ip = clientIp(req);
    const boundary = boundaryOf(req.headers['content-type']);
    let text: string | undefined;
    const stored: { address: string; size: number; created: boolean }[] = [];
    if (boundary) {
      for await (const part of readMultipart(req, boundary)) {
        if (part.name === 'manifest') {
          const chunks: Buffer[] = [];
          let n = 0;
          for await (const c of part.body) {
            n += c.length;
            if (n > MAX_MANIFEST_BYTES) throw new BadRequestError('manifest_too_large', `a manifest is limited to ${MAX_MANIFEST_BYTES} bytes`);
            chunks.push(Buffer.from(c));
          }
          text = manifestText(Buffer.concat(chunks));
        } else if (part.name === 'blob' || part.name === 'blobs') {
          const b = await s.blobs.putUnaddressed(u.id, Readable.from(part.body));
          if (b.created) await s.audit.record(u.id, 'blob.create', `blob:${b.hash}`, ip);
          stored.push({ address: `sha256:${b.hash}`, size: b.size, created: b.created });
        }
      }
      if (text === undefined) throw new BadRequestError('manifest_missing', 'the multipart form has no "manifest" part');
    } else {
      text = manifestText(await readBody(req, MAX_MANIFEST_BYTES));
    }
    const { id, created } = await s.snapshots.create(u.id, text);
    if (created) await s.audit.record(u.id, 'snapshot.create', `snapshot:${id}`, ip);
    sendJson(res, created ? 201 : 200, { ...(await s.snapshots.summary(u.id, id)), created, ...(boundary ? { blobs: stored } : {}) }, { Location: `/v1/me/snapshots/${id}` });
  });

  const getText = (ownerFrom: (me: string, p: Record<string, string>) => string) =>
    async ({ req, res, params }: Parameters<Parameters<Router['on']>[2]>[0]) => {
      const u = await s.authenticate(req);
      const owner = ownerFrom(u.id, params);
      const text = await s.snapshots.text(u.id, owner, params.id!);
      await s.audit.record(u.id, 'snapshot.read', `snapshot:${params.id}`, clientIp(req), owner === u.id ? null : owner);
      res.writeHead(200, { 'Content-Type': KVG_TYPE, 'Content-Length': Buffer.byteLength(text), ETag: `"${params.id}"`, 'Cache-Control': 'private, no-cache' });
      res.end(req.method === 'HEAD' ? undefined : text);
    };

  r.on('GET', '/v1/me/snapshots/:id', getText((me) => me));
  r.on('GET', '/v1/users/:owner/snapshots/:id', getText((me, p) => (p.owner === 'me' ? me : p.owner!)));

  r.on('DELETE', '/v1/me/snapshots/:id', async ({ req, res, params, url }) => {
    const u = await s.authenticate(req);
    const deleted = await s.snapshots.delete(u.id, params.id!, url.searchParams.get('cascade') === 'true');
    for (const id of deleted) await s.audit.record(u.id, 'snapshot.delete', `snapshot:${id}`, clientIp(req));
    sendJson(res, 200, { deleted });
  });
}
