/**
 * Talking to the daemon, same origin only (the session token is a cookie the
 * daemon set): UiState as Server-Sent Events with reconnection, UiEvents as
 * POSTs. Snapshot details (the cards, the configure screen) are loaded by
 * src/ui/details.ts, shared with the Backup app.
 */
import type { UiEvent, UiState } from '../daemon/ui-state.ts';
import { connection, receiveState, sendFailed } from './state.ts';

const STATE_PATH = '/api/state';
const EVENTS_PATH = '/api/events';

/** Opens the state stream; reopens it (backing off to 10 s) whenever the browser gives up on it. */
export function connectState(): () => void {
  let source: EventSource | null = null;
  let delay = 500;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;
  const open = () => {
    source = new EventSource(STATE_PATH, { withCredentials: false });
    source.onopen = () => {
      connection.value = 'open';
      delay = 500;
    };
    source.onmessage = (e: MessageEvent<string>) => {
      try {
        receiveState(JSON.parse(e.data) as UiState);
        connection.value = 'open';
      } catch {
        /* a malformed message is ignored; the next one replaces it */
      }
    };
    source.onerror = () => {
      connection.value = 'lost';
      // CONNECTING: the browser retries by itself. CLOSED (HTTP error, bad type): we do.
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
