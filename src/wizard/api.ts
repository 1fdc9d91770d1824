/**
 * Talking to the daemon, same origin only (the session token is a cookie the
 * daemon set): UiState as Server-Sent Events with reconnection (src/ui/state-stream.ts), UiEvents as
 * POSTs. Snapshot details (the cards, the configure screen) are loaded by
 * src/ui/details.ts, shared with the Backup app.
 */
import type { UiEvent, UiState } from '../daemon/ui-state.ts';
import { connection, receiveState, sendFailed } from './state.ts';
import { connectStateStream } from '../ui/state-stream.ts';

const EVENTS_PATH = '/api/events';

/** Opens the state stream (src/ui/state-stream.ts); reopened whenever the browser gives up on it. */
export function connectState(): () => void {
  return connectStateStream<UiState>(receiveState, connection);
}

let inFlight = false;

/** Sends one event; a second one while the first is in flight is dropped (double clicks). */
export async function send(event: UiEvent): Promise<boolean> {
  if (inFlight) return false;
  inFlight = true;
  try {
    const res = await fetch(EVENTS_PATH, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(event),
    });
    sendFailed.value = !res.ok;
    return res.ok;
  } catch {
    sendFailed.value = true;
    return false;
  } finally {
    inFlight = false;
  }
}
