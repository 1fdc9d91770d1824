/**
 * The daemon's state stream (GET /api/state, Server-Sent Events), for
 * either page: each message's state handed to `receive`, the connection
 * said in `connection`; reopened (backing off to 10 s) whenever the browser
 * gives up on it. Same origin only: the session token is the cookie the
 * daemon set.
 */
import type { Signal } from '@preact/signals';

export type Connection = 'connecting' | 'open' | 'lost';

export function connectStateStream<T>(receive: (state: T) => void, connection: Signal<Connection>, path = '/api/state'): () => void {
  let source: EventSource | null = null;
  let delay = 500;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;
  const open = () => {
    source = new EventSource(path, { withCredentials: false });
    source.onopen = () => {
      connection.value = 'open';
      delay = 500;
    };
    source.onmessage = (e: MessageEvent<string>) => {
      try {
        receive(JSON.parse(e.data) as T);
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
