/**
 * An HTTP proxy on 127.0.0.1 in front of the real server whose blob GET
 * bodies flow at `bytesPerSecond` (a slow line), everything else at once.
 * A restore through it has time to be interrupted mid-download.
 */
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SlowProxy {
  url: string;
  close(): Promise<void>;
}

export async function slowProxy(target: string, bytesPerSecond: number): Promise<SlowProxy> {
  const up = new URL(target);
  const server: Server = createServer((req, res) => {
    const slow = req.method === 'GET' && /\/blobs\/[0-9a-f]{64}$/.test(req.url ?? '');
    const upstream = request({ host: up.hostname, port: up.port, method: req.method, path: req.url, headers: { ...req.headers, host: up.host } }, (ures) => {
      res.writeHead(ures.statusCode ?? 502, ures.headers);
      if (!slow) return void ures.pipe(res);
      // 20 slices a second of bytesPerSecond / 20 each.
      const slice = Math.max(1, Math.floor(bytesPerSecond / 20));
      let queue: Buffer[] = [];
      let ended = false;
      const timer = setInterval(() => {
        let left = slice;
        while (left > 0 && queue.length) {
          const b = queue[0]!;
          const part = b.subarray(0, left);
          res.write(part);
          left -= part.length;
          if (part.length === b.length) queue.shift();
          else queue[0] = b.subarray(part.length);
        }
        if (!queue.length) {
          ures.resume();
          if (ended) {
            clearInterval(timer);
            res.end();
          }
        }
      }, 50);
      ures.on('data', (b: Buffer) => {
        queue.push(b);
        ures.pause();
      });
      ures.on('end', () => (ended = true));
      res.on('close', () => {
        clearInterval(timer);
        queue = [];
        ures.destroy();
      });
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}
