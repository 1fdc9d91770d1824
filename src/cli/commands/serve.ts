/**
 * `koder-snapshot serve`: the reference Koder ID + Drive server;
 * `serve user add NAME` / `serve user list`: its accounts.
 */
import { firstLineOfStdin, promptHidden } from '../prompt.ts';
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { EXIT_FAILED, EXIT_OK, UsageError, parseCommandArgs, type Command, type Io } from '../command.ts';
import { DEFAULT_PORT } from '../../server/defaults.ts';
import { openDb } from '../../server/db/open.ts';
import { addUser, listUsers } from '../../server/users.ts';
import { systemClock } from '../../server/clock.ts';
import { ApiError } from '../../server/errors.ts';

const usage = `Usage: koder-snapshot serve [--port ${DEFAULT_PORT}] [--host 127.0.0.1] [--data DIR] [--issuer URL]
                            [--tls-cert FILE --tls-key FILE] [--quota BYTES] [--trust-proxy]
       koder-snapshot serve user add NAME [--password-stdin] [--data DIR]
       koder-snapshot serve user list [--data DIR]

Runs the reference Koder ID (OpenID provider with device-flow login) and
Koder Drive (snapshot API under /v1) on one port, storing everything under
DIR: koder.sqlite (accounts, metadata, audit) and blobs/ (content-addressed
files). Stops cleanly on Ctrl-C / SIGTERM.

Options:
  --port N          TCP port (default ${DEFAULT_PORT}; 0 picks a free one)
  --host ADDR       address to listen on (default 127.0.0.1; 0.0.0.0 for the LAN)
  --data DIR        data folder (default $XDG_DATA_HOME/koder-snapshot/server)
  --issuer URL      the public URL people and devices reach this server at
                    (default: http(s)://HOST:PORT); the QR code points there
  --tls-cert FILE   PEM certificate: serve HTTPS (clients refuse plain http
  --tls-key FILE    except to this machine)
  --quota BYTES     storage per user (blobs + manifests); past it, 413
  --trust-proxy     trust X-Forwarded-* from a TLS-terminating proxy
  --password-stdin  (user add) read the password from standard input; without
                    it the password is asked on the terminal, not echoed
  -h, --help        this help

Exit status: 0 stopped cleanly / done, 1 failed, 2 usage error.`;

export function defaultDataDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_DATA_HOME?.startsWith('/') ? env.XDG_DATA_HOME : join(env.HOME ?? homedir(), '.local', 'share');
  return join(base, 'koder-snapshot', 'server');
}

async function readPassword(io: Io, fromStdin: boolean): Promise<string> {
  if (fromStdin) return firstLineOfStdin(io);
  const a = await promptHidden('Password: ');
  const b = await promptHidden('Password again: ');
  if (a !== b) throw new UsageError('the passwords differ');
  return a;
}

export const serve: Command = {
  name: 'serve',
  summary: 'run the reference Koder ID + Drive server; manage its users',
  usage,
  async run(args, io) {
    const parsed = parseCommandArgs(
      this,
      args,
      {
        port: { type: 'string' },
        host: { type: 'string' },
        data: { type: 'string' },
        issuer: { type: 'string' },
        'tls-cert': { type: 'string' },
        'tls-key': { type: 'string' },
        quota: { type: 'string' },
        'trust-proxy': { type: 'boolean' },
        'password-stdin': { type: 'boolean' },
      },
      io,
    );
    if (!parsed) return EXIT_OK;
    const v = parsed.values;
    const dataDir = v.data ?? defaultDataDir();
    const [sub, action, name, ...extra] = parsed.positionals;

    if (sub !== undefined) {
      if (sub !== 'user') throw new UsageError(`unknown subcommand '${sub}'`);
      if (action === 'list' && name === undefined) {
        const db = openDb(dataDir);
        try {
          const users = listUsers(db);
          for (const u of users) io.out(`${u.name}\t${u.id}\t${new Date(u.created_at).toISOString()}${u.erase_after ? `\terasure at ${new Date(u.erase_after).toISOString()}` : ''}`);
          if (users.length === 0) io.err('no users yet: koder-snapshot serve user add NAME');
        } finally {
          db.close();
        }
        return EXIT_OK;
      }
      if (action === 'add' && name !== undefined && extra.length === 0) {
        const password = await readPassword(io, v['password-stdin'] === true);
        const db = openDb(dataDir);
        try {
          const u = await addUser(db, systemClock, name, password);
          io.out(`added ${u.name} (${u.id})`);
          return EXIT_OK;
        } catch (e) {
          if (e instanceof ApiError) {
            io.err(`koder-snapshot serve user add: ${e.message}`);
            return EXIT_FAILED;
          }
          throw e;
        } finally {
          db.close();
        }
      }
      throw new UsageError('expected `serve user add NAME` or `serve user list`');
    }

    const port = v.port === undefined ? DEFAULT_PORT : Number(v.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port: not a port number: ${v.port}`);
    if (!!v['tls-cert'] !== !!v['tls-key']) throw new UsageError('--tls-cert and --tls-key go together');
    const quota = v.quota === undefined ? undefined : Number(v.quota);
    if (quota !== undefined && !(Number.isSafeInteger(quota) && quota > 0)) throw new UsageError(`--quota: not a byte count: ${v.quota}`);
    if (v.issuer !== undefined) {
      try {
        new URL(v.issuer);
      } catch {
        throw new UsageError(`--issuer: not a URL: ${v.issuer}`);
      }
    }
    const tls = v['tls-cert'] ? { cert: readFileSync(v['tls-cert']), key: readFileSync(v['tls-key']!) } : undefined;
    // Loaded here: the OpenID provider is heavy and warns on Node 20 at import.
    const { startServer } = await import('../../server/app.ts');
    const srv = await startServer({ dataDir, port, host: v.host ?? '127.0.0.1', issuer: v.issuer, tls, quotaBytes: quota, trustProxy: v['trust-proxy'] === true, log: io.err });
    io.out(`Koder ID + Drive listening on ${srv.url} (data: ${dataDir})`);
    io.out(`  device login: ${srv.url}/device    API: ${srv.resource}`);
    if (listUsers(srv.db).length === 0) io.err('no users yet: add one with `koder-snapshot serve user add NAME`');
    await new Promise<void>((resolve) => {
      const stop = () => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        resolve();
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
    io.err('stopping…');
    await srv.close();
    return EXIT_OK;
  },
};
