/**
 * bench/server-child.ts — one server process of bench/server.ts: starts the
 * reference server on the storage given, creates the bench users if asked,
 * prints `{"url": …}` (where it listens), runs until stdin closes.
 *   node --import tsx bench/server-child.ts (--data DIR | --db URL --blobs URL) [--issuer URL] [--make-users --users N]
 */
import { parseArgs } from 'node:util';
import { startServer } from '../src/server/index.ts';

const { values } = parseArgs({
  options: {
    data: { type: 'string' },
    db: { type: 'string' },
    blobs: { type: 'string' },
    issuer: { type: 'string' },
    users: { type: 'string', default: '5' },
    'make-users': { type: 'boolean' },
  },
});
const srv = await startServer({
  ...(values.data ? { dataDir: values.data } : {}),
  ...(values.db ? { db: values.db, blobs: values.blobs } : {}),
  ...(values.issuer ? { issuer: values.issuer } : {}),
  port: 0,
  maintenanceIntervalMs: 0,
  deviceInterval: 0.05,
  log: (l) => process.stderr.write(l + '\n'),
});
if (values['make-users']) for (let u = 0; u < Number(values.users); u++) await srv.addUser(`bench${u}`, `bench-password-${u}`);
process.stdout.write(JSON.stringify({ url: srv.address }) + '\n');
process.stdin.resume();
process.stdin.on('end', async () => {
  await srv.close();
  process.exit(0);
});
