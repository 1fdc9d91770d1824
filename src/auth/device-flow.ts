/**
 * Login on a device without a keyboard-friendly browser (RFC 8628), with
 * openid-client:
 *   start → { user_code, verification_uri, verification_uri_complete, expires_in,
 *             interval, QR of verification_uri_complete (SVG + terminal) }
 *   wait  → polls the token endpoint every `interval` seconds (slow_down adds
 *           5 s, as RFC 8628 §3.5 says) until the person approves or denies
 *           on their phone, the code expires, or the caller aborts; network
 *           hiccups are retried until the code expires.
 * Every way it can end is a typed outcome, never a thrown error.
 */
import * as client from 'openid-client';
import { AuthError } from './errors.ts';
import { DEFAULT_CLIENT_ID, DEFAULT_SCOPE, discover } from './oidc-config.ts';
import { qrSvg, qrTerminal } from '../util/qr.ts';
import { serverKey } from './secure-url.ts';
import type { StoredTokens } from './token-store.ts';

export interface DeviceLoginOptions {
  server: string;
  clientId?: string;
  scope?: string;
  /** Preferred languages of the sign-in pages (`pt-BR en`). */
  uiLocales?: string;
}

export type LoginOutcome =
  | { status: 'approved'; tokens: StoredTokens }
  | { status: 'denied'; description?: string }
  | { status: 'expired' }
  | { status: 'aborted' }
  | { status: 'failed'; error: Error };

export interface DeviceLogin {
  user_code: string;
  verification_uri: string;
  /** The URL with the code filled in: what the QR code holds. */
  verification_uri_complete: string;
  expires_in: number;
  interval: number;
  qr: { svg: string; text: string };
  wait(opts?: { signal?: AbortSignal }): Promise<LoginOutcome>;
}

export async function startDeviceLogin(o: DeviceLoginOptions): Promise<DeviceLogin> {
  const server = serverKey(o.server);
  const config = await discover(server, o.clientId ?? DEFAULT_CLIENT_ID);
  const params: Record<string, string> = { scope: o.scope ?? DEFAULT_SCOPE };
  if (o.uiLocales) params.ui_locales = o.uiLocales;
  let res: client.DeviceAuthorizationResponse;
  try {
    res = await client.initiateDeviceAuthorization(config, params);
  } catch (e) {
    throw new AuthError('device_start', `device login could not start: ${describe(e)}`, { cause: e });
  }
  const complete = res.verification_uri_complete ?? withCode(res.verification_uri, res.user_code);
  const interval = res.interval ?? 5;
  const startedAt = Date.now();
  return {
    user_code: res.user_code,
    verification_uri: res.verification_uri,
    verification_uri_complete: complete,
    expires_in: res.expires_in,
    interval,
    qr: { svg: qrSvg(complete), text: qrTerminal(complete) },
    wait: (w) => poll(config, res, server, startedAt, w?.signal),
  };
}

function withCode(uri: string, code: string): string {
  const u = new URL(uri);
  u.searchParams.set('user_code', code);
  return u.href;
}

async function poll(
  config: client.Configuration,
  res: client.DeviceAuthorizationResponse,
  server: string,
  startedAt: number,
  signal: AbortSignal | undefined,
): Promise<LoginOutcome> {
  const deadline = startedAt + res.expires_in * 1000;
  for (;;) {
    const left = deadline - Date.now();
    if (left <= 0) return { status: 'expired' };
    if (signal?.aborted) return { status: 'aborted' };
    const timeout = AbortSignal.timeout(left);
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
    try {
      const t = await client.pollDeviceAuthorizationGrant(config, res, undefined, { signal: combined });
      return { status: 'approved', tokens: toStored(config, server, t) };
    } catch (e) {
      const outcome = classify(e, signal);
      if (outcome) return outcome;
      // a transient failure (network, 5xx): wait one interval and poll again until expiry
      await sleep(Math.min((res.interval ?? 5) * 1000, Math.max(0, deadline - Date.now())), signal);
    }
  }
}

/** Maps an error of openid-client to an outcome; undefined for transient ones. */
export function classify(e: unknown, signal?: AbortSignal): LoginOutcome | undefined {
  if (e instanceof client.ResponseBodyError) {
    if (e.error === 'access_denied') return { status: 'denied', description: e.error_description };
    if (e.error === 'expired_token') return { status: 'expired' };
    if (e.status >= 500) return undefined;
    return { status: 'failed', error: e };
  }
  const code = (e as { code?: string }).code;
  if (code === 'OAUTH_ABORT' || (signal?.aborted && code !== 'OAUTH_TIMEOUT')) return { status: 'aborted' };
  if (code === 'OAUTH_TIMEOUT') return { status: 'expired' };
  if (e instanceof TypeError || (e instanceof client.ClientError && code === 'OAUTH_RESPONSE_IS_NOT_CONFORM')) return undefined;
  return { status: 'failed', error: e instanceof Error ? e : new Error(String(e)) };
}

export function toStored(config: client.Configuration, server: string, t: client.TokenEndpointResponse & client.TokenEndpointResponseHelpers, previous?: StoredTokens): StoredTokens {
  const claims = t.claims();
  return {
    server,
    issuer: config.serverMetadata().issuer,
    client_id: config.clientMetadata().client_id,
    access_token: t.access_token,
    expires_at: Date.now() + (t.expiresIn() ?? 300) * 1000,
    refresh_token: t.refresh_token ?? previous?.refresh_token,
    scope: t.scope ?? previous?.scope,
    id_token: t.id_token ?? previous?.id_token,
    sub: claims?.sub ?? previous?.sub,
    user_name: (claims?.preferred_username as string | undefined) ?? previous?.user_name,
  };
}

function describe(e: unknown): string {
  if (e instanceof client.ResponseBodyError) return `${e.error}${e.error_description ? `: ${e.error_description}` : ''}`;
  return (e as Error).message ?? String(e);
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
