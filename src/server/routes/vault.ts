/** PUT/GET /v1/me/vault: the encrypted key vault, an opaque JSON document (ETag / If-Match). */
import type { Router } from '../http/router.ts';
import type { Services } from '../services.ts';
import { clientIp, readText, sendJson } from '../http/respond.ts';
import { MAX_VAULT_BYTES } from '../store/vault.ts';

export function vaultRoutes(r: Router, s: Services): void {
  r.on('GET', '/v1/me/vault', async ({ req, res }) => {
    const u = await s.authenticate(req);
    const v = await s.vault.get(u.id);
    await s.audit.record(u.id, 'vault.read', 'vault', clientIp(req));
    res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8', ETag: v.etag, 'Cache-Control': 'no-store', 'Content-Length': Buffer.byteLength(v.doc) });
    res.end(req.method === 'HEAD' ? undefined : v.doc);
  });

  r.on('PUT', '/v1/me/vault', async ({ req, res }) => {
    const u = await s.authenticate(req);
    const text = await readText(req, MAX_VAULT_BYTES);
    const ifMatch = req.headers['if-match'];
    const etag = await s.vault.put(u.id, text, typeof ifMatch === 'string' ? ifMatch : undefined);
    await s.audit.record(u.id, 'vault.update', 'vault', clientIp(req));
    sendJson(res, 200, { etag }, { ETag: etag });
  });
}
