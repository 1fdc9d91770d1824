/**
 * The Backup app's one client of the daemon (same origin; the session token
 * is the cookie the daemon set): the state stream (AppState, Server-Sent
 * Events, reopened when the browser gives up on it) and `call`, typed route
 * by route by the daemon's own contract (src/daemon/app/contract.ts).
 */
import type { AppApi, AppRoute, AppState } from '../daemon/app/contract.ts';
import { app, connection } from './state.ts';
import { connectStateStream } from '../ui/state-stream.ts';
import { ApiCallError } from './api-error.ts';

export { ApiCallError };


export interface CallOptions<R extends AppRoute> {
  params?: Record<string, string>;
  query?: Record<string, string | undefined>;
  body?: AppApi[R]['body'];
  signal?: AbortSignal;
}

export async function call<R extends AppRoute>(route: R, o: CallOptions<R> = {}): Promise<AppApi[R]['answer']> {
  const [method, pattern] = route.split(' ') as [string, string];
  let path = pattern.replace(/:([a-z]+)/g, (_, n: string) => encodeURIComponent(o.params?.[n] ?? ''));
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(o.query ?? {})) if (v !== undefined) q.set(k, v);
  if (q.toString()) path += `?${q}`;
  const hasBody = method === 'POST' || method === 'PUT';
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      credentials: 'same-origin',
      ...(hasBody ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(o.body ?? {}) } : {}),
      ...(o.signal ? { signal: o.signal } : {}),
    });
  } catch (e) {
    throw new ApiCallError(0, undefined, (e as Error).message, 'network');
  }
  const data = (await res.json().catch(() => undefined)) as { error?: { code?: unknown; message?: unknown } } | undefined;
  if (!res.ok) throw new ApiCallError(res.status, typeof data?.error?.code === 'string' ? data.error.code : undefined, typeof data?.error?.message === 'string' ? data.error.message : `HTTP ${res.status}`);
  return data as AppApi[R]['answer'];
}

/** Opens the state stream (src/ui/state-stream.ts); reopened whenever the browser gives up on it. */
export function connectState(): () => void {
  return connectStateStream<AppState>((s) => (app.value = s), connection);
}
