/**
 * The wizard's state: the daemon's UiState (the truth, from SSE) plus the
 * little the wizard keeps locally (which snapshot is being configured before
 * CHOOSE is sent, connection status, a ticking clock).
 */
import { computed, signal } from '@preact/signals';
import type { UiState } from '../daemon/ui-state.ts';

export const ui = signal<UiState | null>(null);
export const connection = signal<'connecting' | 'open' | 'lost'>('connecting');
/** A POST the daemon did not accept (network or HTTP error): shown until the next success. */
export const sendFailed = signal(false);
/** The snapshot being configured (the local step between choose and CHOOSE), or null for the list. */
export const configuring = signal<string | null>(null);
/** Epoch ms, updated every second (ETA) and whenever a state arrives. */
export const now = signal(Date.now());

/** Takes in a state from the daemon; entering 'choose' decides list vs configure. */
export function receiveState(next: UiState): void {
  const prev = ui.peek();
  if (next.phase === 'choose' && prev?.phase !== 'choose') {
    // Back from prepare with a wrong passphrase: show the form again, with the error.
    configuring.value = next.error?.code === 'WRONG_SECRET' ? next.choice?.snapshotId ?? null : null;
  }
  ui.value = next;
  now.value = Date.now();
}

export type ScreenKey = UiState['phase'] | 'connecting' | 'configure' | 'confirmed';

/** What is on screen; focus moves to the heading whenever it changes. */
export const screen = computed<ScreenKey>(() => {
  const s = ui.value;
  if (!s) return 'connecting';
  if (s.phase === 'choose' && configuring.value) return 'configure';
  if (s.phase === 'ready' && s.confirmed) return 'confirmed';
  return s.phase;
});

export const isWrongSecret = (s: UiState | null) => s?.phase === 'choose' && s.error?.code === 'WRONG_SECRET';

setInterval(() => (now.value = Date.now()), 1000);
