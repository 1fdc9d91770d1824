/**
 * The app's state: the daemon's AppState (the truth, from the state stream),
 * the connection, a clock that ticks every second (countdowns, "time
 * left"), the screen (the address's #fragment: a reload or the browser's
 * back button keeps the place), and a new recovery key while it is shown
 * (in this page's memory only, never sent back or stored).
 */
import { computed, signal } from '@preact/signals';
import type { AppState, RecoveryKeyView } from '../daemon/app/contract.ts';

export const app = signal<AppState | null>(null);
export const connection = signal<'connecting' | 'open' | 'lost'>('connecting');
export const now = signal(Date.now());
setInterval(() => (now.value = Date.now()), 1000);

export type RouteName = 'overview' | 'backup' | 'schedule' | 'snapshots' | 'snapshot' | 'files' | 'restore' | 'shared' | 'keys' | 'account';

export interface Route {
  name: RouteName;
  /** A snapshot id (snapshot, files). */
  id?: string;
  /** A path inside the snapshot (files). */
  path?: string;
}

/** `#/snapshots/<id>/files?path=~/Documentos` → { name: 'files', id, path }. */
export function parseHash(hash: string): Route {
  const [p = '', q = ''] = hash.replace(/^#\/?/, '').split('?');
  const parts = p.split('/').filter(Boolean).map(decodeURIComponent);
  const query = new URLSearchParams(q);
  const simple: RouteName[] = ['backup', 'schedule', 'snapshots', 'restore', 'shared', 'keys', 'account'];
  if (parts[0] === 'snapshots' && parts[1] && /^[0-9a-f]{64}$/.test(parts[1])) {
    if (parts[2] === 'files') return { name: 'files', id: parts[1], ...(query.get('path') ? { path: query.get('path')! } : {}) };
    return { name: 'snapshot', id: parts[1] };
  }
  if (parts.length === 1 && (simple as string[]).includes(parts[0]!)) return { name: parts[0] as RouteName };
  return { name: 'overview' };
}

export function hrefOf(r: Route): string {
  switch (r.name) {
    case 'overview': return '#/';
    case 'snapshot': return `#/snapshots/${r.id}`;
    case 'files': return `#/snapshots/${r.id}/files${r.path ? `?path=${encodeURIComponent(r.path)}` : ''}`;
    default: return `#/${r.name}`;
  }
}

export const route = signal<Route>(parseHash(location.hash));
window.addEventListener('hashchange', () => (route.value = parseHash(location.hash)));

export function go(r: Route): void {
  const h = hrefOf(r);
  if (location.hash !== h) location.hash = h;
  else route.value = parseHash(h);
}

/** What the screen shows: the sign-in, the setup, or the route. */
export const gate = computed<'connecting' | 'signin' | 'setup' | 'ready'>(() => {
  const s = app.value;
  if (!s) return 'connecting';
  if (s.account.state !== 'signed-in') return 'signin';
  return s.keys.state === 'ready' ? 'ready' : 'setup';
});

/** A recovery key just made (setup, or Keys): shown once, then gone. */
export const freshRecovery = signal<RecoveryKeyView | null>(null);
