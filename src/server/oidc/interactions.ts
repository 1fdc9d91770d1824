/**
 * Login and consent, the two prompts oidc-provider hands to us during the
 * device flow (after the person confirmed the user code):
 *   GET  /interaction/<uid>          → the login form, or the consent form
 *   POST /interaction/<uid>/login    → check the password (Argon2id), finish "login"
 *   POST /interaction/<uid>/confirm  → record the grant (scopes + API resource), finish "consent"
 *   POST /interaction/<uid>/abort    → finish with access_denied (the device sees it)
 * oidc-provider binds an interaction to its cookie, so another browser cannot
 * drive it; the cookies are SameSite=Lax, so another site cannot post to it.
 * Every request under /interaction/ gets a page: 404 for another path, 405
 * for another method, 400 for an expired interaction (or no cookie) or a
 * form with a field missing (saying which), 413 for a form too big.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { errors, type default as Provider } from 'oidc-provider';
import type { Database } from '../db/database.ts';
import type { LoginThrottle } from './throttle.ts';
import type { Audit } from '../audit.ts';
import { checkPassword, findUser } from '../users.ts';
import { clientIp, readForm, settleBody } from '../http/respond.ts';
import { ApiError } from '../errors.ts';
import { consentPage, loginPage, messagePage, PAGE_CSP, type LoginProblem } from './pages.ts';
import { langOfRequest } from './lang.ts';
import type { Lang } from './i18n.ts';

function sendPage(res: ServerResponse, status: number, html: string) {
  res.writeHead(status, {
    'Content-Type': 'text/html; charset=utf-8',
    'Content-Length': Buffer.byteLength(html),
    'Content-Security-Policy': PAGE_CSP,
    'Cache-Control': 'no-store',
    'X-Frame-Options': 'DENY',
  });
  res.end(html);
}

export interface InteractionDeps {
  provider: Provider;
  db: Database;
  audit: Audit;
  throttle: LoginThrottle;
}

export { LoginThrottle } from './throttle.ts';

/**
 * Answers a request under /interaction/ (`path`: its raw path). A refusal the
 * person can act on (an expired interaction, no cookie, a form too big) is a
 * 4xx page; anything else is thrown to the caller (logged, 500).
 */
export async function handleInteraction(req: IncomingMessage, res: ServerResponse, deps: InteractionDeps, path: string): Promise<void> {
  const lang = langOfRequest(req, res);
  try {
    await interaction(req, res, deps, path, lang);
  } catch (e) {
    const status = e instanceof ApiError ? e.status : e instanceof errors.OIDCProviderError && e.expose ? e.statusCode : 500;
    if (status >= 500 || res.headersSent) throw e;
    await settleBody(req, res);
    sendPage(res, status, messagePage(lang, 'errorTitle', status === 413 ? 'formTooLarge' : 'interactionGone', true));
  }
}

async function interaction(req: IncomingMessage, res: ServerResponse, deps: InteractionDeps, path: string, lang: Lang): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://x');
  const m = /^\/interaction\/([A-Za-z0-9_-]+)(?:\/(login|confirm|abort))?$/.exec(path);
  if (!m) {
    await settleBody(req, res);
    sendPage(res, 404, messagePage(lang, 'notFoundTitle', 'notFoundText', true));
    return;
  }
  const [, uid, action] = m;
  const { provider } = deps;

  let details;
  try {
    details = await provider.interactionDetails(req, res);
  } catch {
    await settleBody(req, res);
    sendPage(res, 400, messagePage(lang, 'errorTitle', 'interactionGone', true));
    return;
  }
  if (details.uid !== uid) {
    await settleBody(req, res);
    sendPage(res, 400, messagePage(lang, 'errorTitle', 'interactionGone', true));
    return;
  }
  const client = await provider.Client.find(String(details.params.client_id));
  const clientName = client?.clientName ?? String(details.params.client_id);
  const prompt = details.prompt.name;

  if (req.method === 'GET' && !action) {
    if (prompt === 'login') {
      sendPage(res, 200, loginPage({ lang, uid: uid!, clientName, selfUrl: url.pathname + url.search }));
    } else if (prompt === 'consent') {
      const user = details.session?.accountId ? await findUser(deps.db, details.session.accountId) : undefined;
      sendPage(res, 200, consentPage({ lang, uid: uid!, clientName, userName: user?.name ?? '', scopes: requestedScopes(details), selfUrl: url.pathname + url.search }));
    } else {
      sendPage(res, 400, messagePage(lang, 'errorTitle', 'interactionGone', true));
    }
    return;
  }

  if (req.method !== 'POST' || !action) {
    await settleBody(req, res);
    res.writeHead(405, { Allow: action ? 'POST' : 'GET' });
    res.end();
    return;
  }

  if (action === 'abort') {
    await drain(req);
    await provider.interactionFinished(req, res, { error: 'access_denied', error_description: 'End-User aborted interaction' }, { mergeWithLastSubmission: false });
    return;
  }

  if (action === 'login' && prompt === 'login') {
    const form = await readForm(req);
    const username = form.get('username') ?? '';
    const password = form.get('password') ?? '';
    const missing: LoginProblem | undefined =
      !username.trim() && !password ? 'missingBoth' : !username.trim() ? 'missingUser' : !password ? 'missingPassword' : undefined;
    if (missing) {
      sendPage(res, 400, loginPage({ lang, uid: uid!, clientName, problem: missing, username }));
      return;
    }
    const ip = clientIp(req);
    if (await deps.throttle.blocked(username, ip)) {
      sendPage(res, 429, loginPage({ lang, uid: uid!, clientName, problem: 'throttled', username }));
      return;
    }
    const user = await checkPassword(deps.db, username, password);
    if (!user) {
      await deps.throttle.fail(username, ip);
      sendPage(res, 200, loginPage({ lang, uid: uid!, clientName, problem: 'failed', username }));
      return;
    }
    await deps.throttle.succeed(username);
    await deps.audit.record(user.id, 'login', `client:${String(details.params.client_id)}`, clientIp(req));
    await provider.interactionFinished(req, res, { login: { accountId: user.id } }, { mergeWithLastSubmission: false });
    return;
  }

  if (action === 'confirm' && prompt === 'consent') {
    await drain(req);
    const accountId = details.session?.accountId;
    if (!accountId) {
      sendPage(res, 400, messagePage(lang, 'errorTitle', 'interactionGone', true));
      return;
    }
    const d = details.prompt.details as {
      missingOIDCScope?: string[];
      missingOIDCClaims?: string[];
      missingResourceScopes?: Record<string, string[]>;
    };
    const grant = details.grantId
      ? ((await provider.Grant.find(details.grantId)) ?? new provider.Grant({ accountId, clientId: String(details.params.client_id) }))
      : new provider.Grant({ accountId, clientId: String(details.params.client_id) });
    if (d.missingOIDCScope?.length) grant.addOIDCScope(d.missingOIDCScope.join(' '));
    if (d.missingOIDCClaims?.length) grant.addOIDCClaims(d.missingOIDCClaims);
    for (const [indicator, scopes] of Object.entries(d.missingResourceScopes ?? {})) grant.addResourceScope(indicator, scopes.join(' '));
    const grantId = await grant.save();
    await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
    return;
  }

  // a form posted for a prompt that is no longer current (back button, double submit)
  await drain(req);
  res.writeHead(303, { Location: path.replace(/\/(login|confirm|abort)$/, '') });
  res.end();
  return;
}

function requestedScopes(details: Awaited<ReturnType<Provider['interactionDetails']>>): string[] {
  const d = details.prompt.details as { missingOIDCScope?: string[]; missingResourceScopes?: Record<string, string[]> };
  const all = new Set<string>([...(d.missingOIDCScope ?? []), ...Object.values(d.missingResourceScopes ?? {}).flat()]);
  if (all.size === 0) for (const s of String(details.params.scope ?? '').split(' ').filter(Boolean)) all.add(s);
  return [...all].filter((s) => s !== 'profile' || !all.has('openid'));
}

async function drain(req: IncomingMessage) {
  for await (const _ of req) {
    // ignore
  }
}
