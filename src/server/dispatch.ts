/**
 * Which part of the server answers a request, chosen on the raw path once
 * request-target.ts accepted it (a path a URL parser would rewrite — dot
 * segments, `\`, `//` — is a 400 before anything routes):
 *   /v1, /v1/…       → the API router (JSON, typed errors)
 *   /interaction/…   → the login and consent pages
 *   /healthz, /      → here
 *   anything else    → oidc-provider
 * Every request gets an answer; the body deadline of timeouts.ts starts here.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Router } from './http/router.ts';
import { parseRequestTarget } from './http/request-target.ts';
import { sendError, sendJson, settleBody, trustForwardedFor } from './http/respond.ts';
import { BODY_TIMEOUT, type BodyDeadlines } from './http/timeouts.ts';
import { handleInteraction, type InteractionDeps } from './oidc/interactions.ts';

export interface DispatchDeps {
  issuer: string;
  api: Router;
  interactions: InteractionDeps;
  oidc: (req: IncomingMessage, res: ServerResponse) => void;
  deadlines: BodyDeadlines;
  log: (line: string) => void;
  /** Behind a reverse proxy: the client's address from its X-Forwarded-For. */
  trustProxy?: boolean;
}

export function dispatcher(d: DispatchDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const logError = (req: IncomingMessage, where: string) => (err: unknown) =>
    d.log(`${where} error ${req.method} ${req.url}: ${(err as Error).stack ?? String(err)}`);

  const refuse = async (req: IncomingMessage, res: ServerResponse, e: unknown, where: string) => {
    if (clientGone(e)) {
      res.destroy(); // nobody to answer, nothing went wrong here
      return;
    }
    await settleBody(req, res);
    sendError(res, e, logError(req, where));
  };

  return (req, res) => {
    d.deadlines.watch(req, res);
    if (d.trustProxy) trustForwardedFor(req);
    let target;
    try {
      target = parseRequestTarget(req.url);
    } catch (e) {
      void refuse(req, res, e, 'target');
      return;
    }
    const { path, query } = target;
    req.url = path + query; // absolute-form reduced to origin-form, for oidc-provider too
    if (path === '/v1' || path.startsWith('/v1/')) {
      void (async () => {
        try {
          const { handler, params } = d.api.match(req.method ?? 'GET', path);
          await handler({ req, res, params, url: new URL(path + query, d.issuer) });
        } catch (e) {
          await refuse(req, res, e, 'api');
        }
      })();
      return;
    }
    if (path.startsWith('/interaction/')) {
      void handleInteraction(req, res, d.interactions, path).catch((e) => refuse(req, res, e, 'interaction'));
      return;
    }
    if (path === '/healthz') {
      sendJson(res, 200, { ok: true });
      return;
    }
    if (path === '/' && (req.method === 'GET' || req.method === 'HEAD')) {
      res.writeHead(302, { Location: '/device' });
      res.end();
      return;
    }
    d.oidc(req, res);
  };
}

/** The client went away (or was cut off for being too slow) while its request was read. */
function clientGone(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return code === 'ECONNRESET' || code === 'EPIPE' || code === 'ERR_STREAM_PREMATURE_CLOSE' || code === BODY_TIMEOUT;
}
