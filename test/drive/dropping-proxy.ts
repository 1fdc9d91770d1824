/**
 * An HTTP proxy on 127.0.0.1 that forwards to the real server and, for the
 * first `drops` blob GETs, cuts the connection after a random number of
 * response body bytes (a Wi-Fi that drops mid-download). Records each
 * request's Range header and each PUT.
 */
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface DroppingProxy {
  url: string;
  ranges: (string | undefined)[];
  puts: string[];
  dropsLeft: number;
  close(): Promise<void>;
}

export async function droppingProxy(target: string, o: { drops: number; minBytes: number; maxBytes: number }): Promise<DroppingProxy> {
  const up = new URL(target);
  const state: DroppingProxy = { url: '', ranges: [], puts: [], dropsLeft: o.drops, close: async () => {} };
  const server: Server = createServer((req, res) => {
    const isBlobGet = req.method === 'GET' && /\/blobs\/[0-9a-f]{64}$/.test(req.url ?? '');
    if (isBlobGet) state.ranges.push(req.headers.range);
    if (req.method === 'PUT') state.puts.push(req.url ?? '');
    const upstream = request(
      { host: up.hostname, port: up.port, method: req.method, path: req.url, headers: { ...req.headers, host: up.host } },
      (ures) => {
        res.writeHead(ures.statusCode ?? 502, ures.headers);
        if (isBlobGet && state.dropsLeft > 0 && (ures.statusCode === 200 || ures.statusCode === 206)) {
          state.dropsLeft--;
          let budget = o.minBytes + Math.floor(Math.random() * (o.maxBytes - o.minBytes));
          ures.on('data', (chunk: Buffer) => {
            if (budget <= 0) return;
            const part = chunk.subarray(0, budget);
            budget -= part.length;
            if (budget > 0) {
              res.write(part);
              return;
            }
            ures.destroy();
            // the connection dies mid-body, once these bytes reached the client
            res.write(part, () => res.socket?.destroy());
          });
          ures.on('end', () => res.end());
        } else {
          ures.pipe(res);
        }
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.close = () =>
    new Promise((r) => {
      server.close(() => r());
      server.closeAllConnections();
    });
  return state;
}
