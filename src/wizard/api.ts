/**
 * Talking to the daemon, same origin only (the session token is a cookie the
 * daemon set): UiState as Server-Sent Events with reconnection, UiEvents as
 * POSTs, snapshot details for the configure screen.
 */
import { DETAILS_PATH, type SnapshotDetails, type UiEvent, type UiState } from '../daemon/ui-state.ts';
import { connection, details, receiveState, sendFailed } from './state.ts';

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

/** A details request the daemon answered with an error: `code` MANIFEST_VERIFY means the chain failed verification. */
export class DetailsError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

export async function fetchDetails(id: string, signal?: AbortSignal): Promise<SnapshotDetails> {
  const res = await fetch(`${DETAILS_PATH}${encodeURIComponent(id)}/details`, { credentials: 'same-origin', signal });
  if (!res.ok) {
    const body = (await res.json().catch(() => ({}))) as { error?: { code?: string; message?: string } };
    throw new DetailsError(res.status, body.error?.code ?? `HTTP_${res.status}`, body.error?.message ?? `details: HTTP ${res.status}`);
  }
  return (await res.json()) as SnapshotDetails;
}

const queue: string[] = [];
let running = 0;
const MAX_PARALLEL = 3;

/**
 * Asks for a snapshot's details once (into the `details` signal), at most
 * three at a time; `again` asks again after an error. The daemon verifies
 * the chain to answer, so a refusal is known here.
 */
export function loadDetails(id: string, again = false): void {
  const cur = details.peek()[id];
  if (cur !== undefined && !(again && typeof cur === 'object' && 'failed' in cur && cur.failed === 'error')) return;
  details.value = { ...details.peek(), [id]: 'loading' };
  queue.push(id);
  pump();
}

function pump(): void {
  while (running < MAX_PARALLEL && queue.length) {
    const id = queue.shift()!;
    running++;
    fetchDetails(id)
      .then(
        (d) => (details.value = { ...details.peek(), [id]: d }),
        (e: unknown) => {
          const refused = e instanceof DetailsError && e.code === 'MANIFEST_VERIFY';
          details.value = { ...details.peek(), [id]: { failed: refused ? 'refused' : 'error', message: (e as Error).message } };
        },
      )
      .finally(() => {
        running--;
        pump();
      });
  }
}
