/**
 * The Backup app's one client of the daemon (same origin; the session token
 * is the cookie the daemon set): the state stream (AppState, Server-Sent
 * Events, reopened when the browser gives up on it) and `call`, typed route
 * by route by the daemon's own contract (src/daemon/app/contract.ts).
 */
import type { AppApi, AppRoute, AppState } from '../daemon/app/contract.ts';
import { app, connection } from './state.ts';

/** An answer of the daemon that is an error: its code (stable, switch on it) and message (data). */
export class ApiCallError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

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
    throw new ApiCallError(0, 'network', (e as Error).message);
  }
  const data = (await res.json().catch(() => undefined)) as { error?: { code?: string; message?: string } } | undefined;
  if (!res.ok) throw new ApiCallError(res.status, data?.error?.code ?? `http_${res.status}`, data?.error?.message ?? `HTTP ${res.status}`);
  return data as AppApi[R]['answer'];
}

/** Opens the state stream; reopens it (backing off to 10 s) whenever the browser gives up on it. */
export function connectState(): () => void {
  let source: EventSource | null = null;
  let delay = 500;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;
  const open = () => {
    source = new EventSource('/api/state');
    source.onopen = () => {
      connection.value = 'open';
      delay = 500;
    };
    source.onmessage = (e: MessageEvent<string>) => {
      try {
        app.value = JSON.parse(e.data) as AppState;
        connection.value = 'open';
      } catch {
        /* a malformed message is ignored; the next one replaces it */
      }
    };
    source.onerror = () => {
      connection.value = 'lost';
      if (source?.readyState === EventSource.CLOSED && !stopped) {
        source.close();
        timer = setTimeout(open, delay);
        delay = Math.min(delay * 2, 10_000);
      }
    };
  };
  open();
  return () => {
    stopped = true;
    clearTimeout(timer);
    source?.close();
  };
}
