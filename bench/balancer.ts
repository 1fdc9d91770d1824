/**
 * bench/balancer.ts — the small loopback load balancer of bench/server.ts:
 * a TCP proxy that hands each new connection to the next backend in turn
 * (round robin by connection, as an L4 balancer does; HTTP keep-alive
 * connections stay with their process). Runs in its own process, so its
 * CPU time is counted apart from the servers'.
 *
 *   node --import tsx bench/balancer.ts --port P --to http://127.0.0.1:A,http://127.0.0.1:B
 * prints `{"url": "http://127.0.0.1:P"}` when listening; stops when stdin closes.
 */
import { createServer, connect, type Socket } from 'node:net';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { port: { type: 'string', default: '0' }, to: { type: 'string' } } });
const backends = (values.to ?? '').split(',').filter(Boolean).map((u) => new URL(u));
if (!backends.length) throw new Error('--to URL[,URL…]');
let next = 0;

const server = createServer((client: Socket) => {
  const b = backends[next++ % backends.length]!;
  const upstream = connect({ host: b.hostname, port: Number(b.port) });
  client.setNoDelay(true);
  upstream.setNoDelay(true);
  client.pipe(upstream);
  upstream.pipe(client);
  const close = () => {
    client.destroy();
    upstream.destroy();
  };
  client.on('error', close);
  upstream.on('error', close);
  client.on('close', close);
  upstream.on('close', close);
});
server.listen(Number(values.port), '127.0.0.1', () => {
  const port = (server.address() as { port: number }).port;
  process.stdout.write(JSON.stringify({ url: `http://127.0.0.1:${port}` }) + '\n');
});
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
