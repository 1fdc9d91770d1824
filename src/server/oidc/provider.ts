/**
 * The Koder ID OpenID provider (oidc-provider): device authorization grant
 * (RFC 8628) for the public client `koder-installer`, refresh tokens
 * (offline_access), and JWT access tokens for one resource server, the
 * snapshot API (RFC 8707 resource indicator `<issuer>/v1`), signed EdDSA and
 * verified by the API against this provider's JWKS. Storage: the server's
 * database (adapter.ts), shared by every process.
 * The device-code pages (enter code, confirm, success) are ours (pages.ts);
 * login and consent are served by interactions.ts under /interaction/<uid>.
 */
import Provider, { errors, type Configuration, type KoaContextWithOIDC } from 'oidc-provider';
import type { Database } from '../db/database.ts';
import { findUser } from '../users.ts';
import { dbAdapterFactory } from './adapter.ts';
import type { ProviderSecrets } from './keys.ts';
import { deviceConfirmPage, deviceInputPage, messagePage, errorPage, PAGE_CSP, type CodeProblem } from './pages.ts';
import { langOf } from './lang.ts';

export const CLIENT_ID = 'koder-installer';
export const API_SCOPE = 'snapshots';
export const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

export interface ProviderOptions {
  issuer: string;
  /** The resource indicator of the snapshot API (audience of its access tokens). */
  resource: string;
  db: Database;
  secrets: ProviderSecrets;
  /** Seconds a device code lives (default 600). */
  deviceCodeTtl?: number;
  /** Seconds between polls the device is told to keep (RFC 8628 `interval`, default 5). */
  deviceInterval?: number;
  /** Seconds an access token lives (default 600). */
  accessTokenTtl?: number;
  /** Seconds a refresh token lives, renewed at each rotation (default 30 days). */
  refreshTokenTtl?: number;
  /** Behind a TLS-terminating proxy: trust X-Forwarded-* headers. */
  trustProxy?: boolean;
}

/** The session cookie, as oidc-provider's own (it is given to the provider as `cookies.long`). */
const SESSION_COOKIE = { httpOnly: true, sameSite: 'lax' } as const;
const SESSION_TTL = 14 * 24 * 3600;

/**
 * The code form is shown again after an error with a fresh xsrf secret in the
 * session. A session the browser had no cookie for was never saved; saved
 * now, or oidc-provider fails persisting it ("persist can only be called on
 * previously persisted Sessions": a 500) and the form could never be sent.
 */
async function keepFormSession(ctx: KoaContextWithOIDC): Promise<void> {
  const session = ctx.oidc.session;
  if (!session || typeof session.exp === 'number') return;
  ctx.oidc.cookies.set(ctx.oidc.provider.cookieName('session'), session.jti, { ...SESSION_COOKIE });
  await session.save(SESSION_TTL);
}

function page(ctx: KoaContextWithOIDC, html: string) {
  ctx.type = 'html';
  ctx.set('Content-Security-Policy', PAGE_CSP);
  ctx.set('Cache-Control', 'no-store');
  ctx.body = html;
}

export function createProvider(o: ProviderOptions): Provider {
  const deviceInterval = o.deviceInterval ?? 5;
  const accessTokenTtl = o.accessTokenTtl ?? 600;
  const refreshTokenTtl = o.refreshTokenTtl ?? 30 * 24 * 3600;

  const configuration: Configuration = {
    adapter: dbAdapterFactory(o.db) as unknown as Configuration['adapter'],
    jwks: o.secrets.jwks as Configuration['jwks'],
    cookies: { keys: o.secrets.cookieKeys, long: { ...SESSION_COOKIE } },
    clients: [
      {
        client_id: CLIENT_ID,
        client_name: 'Koder Snapshots',
        token_endpoint_auth_method: 'none',
        grant_types: [DEVICE_CODE_GRANT, 'refresh_token'],
        response_types: [],
        redirect_uris: [],
        id_token_signed_response_alg: 'EdDSA',
      },
    ],
    clientDefaults: { id_token_signed_response_alg: 'EdDSA', grant_types: [DEVICE_CODE_GRANT], response_types: [], token_endpoint_auth_method: 'none' },
    enabledJWA: { idTokenSigningAlgValues: ['EdDSA'], userinfoSigningAlgValues: ['EdDSA'] } as Configuration['enabledJWA'],
    scopes: ['openid', 'offline_access', 'profile'],
    claims: { openid: ['sub'], profile: ['preferred_username', 'name'] },
    async findAccount(_ctx, sub) {
      const user = await findUser(o.db, sub);
      if (!user) return undefined;
      return { accountId: user.id, claims: async () => ({ sub: user.id, preferred_username: user.name, name: user.name }) };
    },
    interactions: { url: async (_ctx, interaction) => `/interaction/${interaction.uid}` },
    features: {
      devInteractions: { enabled: false },
      revocation: {
        enabled: true,
        // a client may revoke only its own tokens (logout)
        allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId,
      },
      rpInitiatedLogout: { enabled: false },
      deviceFlow: {
        enabled: true,
        charset: 'base-20',
        mask: '****-****',
        async userCodeInputSource(ctx, _form, _out, err) {
          if (err) await keepFormSession(ctx);
          const lang = langOf(ctx);
          const secret = (ctx.oidc.session?.state as { secret?: string } | undefined)?.secret ?? '';
          const name = err?.name;
          const problem: CodeProblem = !err
            ? undefined
            : name === 'NotFoundError'
              ? 'wrong'
              : name === 'ExpiredError'
                ? 'expired'
                : name === 'AlreadyUsedError'
                  ? 'used'
                  : name === 'NoCodeError'
                    ? 'missing'
                    : name === 'AbortedError'
                      ? 'aborted'
                      : err instanceof errors.InvalidRequest
                        ? 'stale' // no or another xsrf secret: a form from an old page, sent twice, or without the cookie
                        : 'error';
          // a form re-rendered for what was typed is a 4xx (oidc-provider answers 200); a cancel stays 200
          if (problem && problem !== 'aborted' && ctx.status < 400) ctx.status = 400;
          const userCode = (err as { userCode?: string } | undefined)?.userCode;
          page(ctx, deviceInputPage({ lang, action: ctx.oidc.urlFor('code_verification'), xsrf: secret, userCode, problem, selfUrl: ctx.method === 'GET' ? ctx.url : undefined }));
        },
        userCodeConfirmSource(ctx, _form, client, deviceInfo, userCode) {
          const info = deviceInfo as { ip?: string; ua?: string } | undefined;
          const secret = (ctx.oidc.session?.state as { secret?: string } | undefined)?.secret ?? '';
          page(
            ctx,
            deviceConfirmPage({
              lang: langOf(ctx),
              action: ctx.oidc.urlFor('code_verification'),
              xsrf: secret,
              userCode,
              clientName: client.clientName ?? client.clientId,
              fromIp: info?.ip,
              fromAgent: info?.ua,
            }),
          );
        },
        successSource(ctx) {
          page(ctx, messagePage(langOf(ctx), 'successTitle', 'successText'));
        },
      },
      resourceIndicators: {
        enabled: true,
        defaultResource: async (_ctx, _client, oneOf) => oneOf ?? o.resource,
        useGrantedResource: async () => true,
        getResourceServerInfo: async (_ctx, indicator) => {
          if (indicator !== o.resource) throw new errors.InvalidTarget();
          return {
            scope: API_SCOPE,
            audience: o.resource,
            accessTokenTTL: accessTokenTtl,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'EdDSA' } },
          };
        },
      },
    },
    ttl: {
      AccessToken: (_ctx, token) => (token as { resourceServer?: { accessTokenTTL?: number } }).resourceServer?.accessTokenTTL ?? accessTokenTtl,
      DeviceCode: () => o.deviceCodeTtl ?? 600,
      RefreshToken: () => refreshTokenTtl,
      Interaction: () => 3600,
      Session: () => SESSION_TTL,
      Grant: () => 365 * 24 * 3600,
      IdToken: () => 3600,
      AuthorizationCode: () => 60,
      ClientCredentials: () => 600,
      BackchannelAuthenticationRequest: () => 600,
    },
    async renderError(ctx, out) {
      ctx.status = ctx.status >= 400 ? ctx.status : 400;
      page(ctx, errorPage(langOf(ctx), `${out.error}${out.error_description ? `: ${out.error_description}` : ''}`));
    },
  };

  const provider = new Provider(o.issuer, configuration);
  provider.proxy = !!o.trustProxy;

  // Last resort: an error thrown past oidc-provider's own handlers still gets
  // a page (and the server_error log), not Koa's bare 500 text.
  provider.use(async (ctx, next) => {
    try {
      await next();
    } catch (err) {
      const e = err as { statusCode?: number; expose?: boolean };
      ctx.status = e.expose && e.statusCode && e.statusCode < 500 ? e.statusCode : 500;
      if (ctx.status >= 500) provider.emit('server_error', ctx, err);
      const c = ctx as KoaContextWithOIDC; // page() and langOf() use only Koa's part
      page(c, errorPage(langOf(c)));
    }
  });

  // RFC 8628 §3.2: tell the device how often it may poll (oidc-provider leaves
  // `interval` out, which means 5 s; a configured value is sent explicitly).
  provider.use(async (ctx, next) => {
    await next();
    if (ctx.oidc?.route === 'device_authorization' && ctx.status === 200 && ctx.body && typeof ctx.body === 'object') {
      (ctx.body as Record<string, unknown>).interval = deviceInterval;
    }
  });
  return provider;
}
