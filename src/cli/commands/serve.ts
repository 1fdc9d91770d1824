/**
 * `koder-snapshot serve`: the reference Koder ID + Drive server;
 * `serve user add NAME` / `serve user list`: its accounts;
 * `serve migrate`: copy a server to other storage (server/ops/migrate.ts);
 * `serve check`: the blob store against the database (server/ops/check.ts).
 */
import { firstLineOfStdin, promptHidden } from '../prompt.ts';
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { EXIT_FAILED, EXIT_OK, UsageError, parseCommandArgs, type Command, type Io } from '../command.ts';
import { DEFAULT_PORT } from '../../server/defaults.ts';
import { checkDatabaseUrl, openDatabase, sqliteUrlFor } from '../../server/db/open.ts';
import { checkObjectStoreUrl, dataDirObjectStore, openObjectStore } from '../../server/objects/open.ts';
import { addUser, listUsers } from '../../server/users.ts';
import { systemClock } from '../../server/clock.ts';
import { ApiError } from '../../server/errors.ts';

const usage = `Usage: koder-snapshot serve [--port ${DEFAULT_PORT}] [--host 127.0.0.1] [--data DIR | --db URL --blobs URL]
                            [--issuer URL] [--tls-cert FILE --tls-key FILE] [--quota BYTES] [--trust-proxy]
       koder-snapshot serve user add NAME [--password-stdin] [--data DIR | --db URL]
       koder-snapshot serve user list [--data DIR | --db URL]
       koder-snapshot serve migrate --from URL --to URL [--blobs-from URL --blobs-to URL] [--parallel N]
       koder-snapshot serve check [--data DIR | --db URL --blobs URL] [--fast] [--delete-orphans]

Runs the reference Koder ID (OpenID provider with device-flow login) and
Koder Drive (snapshot API under /v1) on one port. Everything it keeps is in
a database and a blob store: by default under DIR (koder.sqlite and blobs/,
one process); or PostgreSQL and an S3-compatible bucket, shared by any number
of serve processes behind a load balancer (docs/deploy.md). Stops cleanly on
Ctrl-C / SIGTERM.

Options:
  --port N          TCP port (default ${DEFAULT_PORT}; 0 picks a free one)
  --host ADDR       address to listen on (default 127.0.0.1; 0.0.0.0 for the LAN)
  --data DIR        data folder (default $XDG_DATA_HOME/koder-snapshot/server)
  --db URL          the database: sqlite:PATH (default DIR/koder.sqlite) or
                    postgres://USER@HOST:PORT/DATABASE (password: PGPASSWORD
                    or ~/.pgpass, not the command line)
  --blobs URL       the blob store: file:DIR (default DIR/blobs) or
                    s3://BUCKET[/PREFIX]?endpoint=URL&region=REGION (credentials:
                    AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment)
  --issuer URL      the public URL people and devices reach this server at
                    (default: http(s)://HOST:PORT); the QR code points there.
                    Behind a balancer: the same for every process
  --tls-cert FILE   PEM certificate: serve HTTPS (clients refuse plain http
  --tls-key FILE    except to this machine)
  --quota BYTES     storage per user (blobs + manifests); past it, 413
  --trust-proxy     trust X-Forwarded-* from a TLS-terminating proxy
  --password-stdin  (user add) read the password from standard input; without
                    it the password is asked on the terminal, not echoed

migrate (with the servers stopped): copies every row from --from to --to
(database URLs as above) and, given --blobs-from and --blobs-to, every blob
object, each hashed on the way and read back from the target; then checks
that both sides have the same rows. Run it again after an interruption: it
goes on where it stopped.

check: reads every blob back from the blob store and compares it with the
database (--fast: sizes only); lists orphan objects and unfinished uploads
(--delete-orphans deletes those older than a day).

Exit status: 0 stopped cleanly / done, 1 failed (check: problems found),
2 usage error.`;

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

const OPTIONS = {
  port: { type: 'string' },
  host: { type: 'string' },
  data: { type: 'string' },
  db: { type: 'string' },
  blobs: { type: 'string' },
  issuer: { type: 'string' },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  quota: { type: 'string' },
  'trust-proxy': { type: 'boolean' },
  'password-stdin': { type: 'boolean' },
  from: { type: 'string' },
  to: { type: 'string' },
  'blobs-from': { type: 'string' },
  'blobs-to': { type: 'string' },
  parallel: { type: 'string' },
  fast: { type: 'boolean' },
  'delete-orphans': { type: 'boolean' },
} as const;

type Values = { [K in keyof typeof OPTIONS]?: (typeof OPTIONS)[K]['type'] extends 'boolean' ? boolean : string };

export const serve: Command = {
  name: 'serve',
  summary: 'run the reference Koder ID + Drive server; manage its users and storage',
  usage,
  async run(args, io) {
    const parsed = parseCommandArgs(this, args, OPTIONS, io);
    if (!parsed) return EXIT_OK;
    const v = parsed.values as Values;
    const dataDir = v.data ?? defaultDataDir();
    const dbUrl = v.db ?? sqliteUrlFor(dataDir);
    checkDatabaseUrl(dbUrl);
    if (v.blobs !== undefined) checkObjectStoreUrl(v.blobs);
    const [sub, ...rest] = parsed.positionals;
    if (sub === 'user') return userCommand(rest, v, dbUrl, io);
    if (sub === 'migrate') return migrateCommand(rest, v, io);
    if (sub === 'check') return checkCommand(rest, v, dataDir, dbUrl, io);
    if (sub !== undefined) throw new UsageError(`unknown subcommand '${sub}'`);

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
    const srv = await startServer({
      dataDir,
      db: dbUrl,
      blobs: v.blobs,
      port,
      host: v.host ?? '127.0.0.1',
      issuer: v.issuer,
      tls,
      quotaBytes: quota,
      trustProxy: v['trust-proxy'] === true,
      log: io.err,
    });
    io.out(`Koder ID + Drive listening on ${srv.address} (database: ${srv.db.description}; blobs: ${srv.objects.description})`);
    if (srv.address !== srv.url) io.out(`  public URL (issuer): ${srv.url}`);
    io.out(`  device login: ${srv.url}/device    API: ${srv.resource}`);
    if ((await listUsers(srv.db)).length === 0) io.err('no users yet: add one with `koder-snapshot serve user add NAME`');
    await new Promise<void>((resolve) => {
      const stop = () => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        resolve();
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
    io.err('stopping: requests in flight get 30 s to finish…');
    await srv.close({ graceMs: 30_000 });
    return EXIT_OK;
  },
};

async function userCommand(rest: string[], v: Values, dbUrl: string, io: Io): Promise<number> {
  const [action, name, ...extra] = rest;
  if (action === 'list' && name === undefined) {
    const db = await openDatabase(dbUrl);
    try {
      const users = await listUsers(db);
      for (const u of users) io.out(`${u.name}\t${u.id}\t${new Date(u.created_at).toISOString()}${u.erase_after ? `\terasure at ${new Date(u.erase_after).toISOString()}` : ''}`);
      if (users.length === 0) io.err('no users yet: koder-snapshot serve user add NAME');
    } finally {
      await db.close();
    }
    return EXIT_OK;
  }
  if (action === 'add' && name !== undefined && extra.length === 0) {
    const password = await readPassword(io, v['password-stdin'] === true);
    const db = await openDatabase(dbUrl);
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
      await db.close();
    }
  }
  throw new UsageError('expected `serve user add NAME` or `serve user list`');
}

async function migrateCommand(rest: string[], v: Values, io: Io): Promise<number> {
  if (rest.length) throw new UsageError(`serve migrate takes no arguments (got '${rest[0]}')`);
  if (!v.from || !v.to) throw new UsageError('serve migrate needs --from URL and --to URL');
  for (const u of [v.from, v.to]) checkDatabaseUrl(u);
  for (const u of [v['blobs-from'], v['blobs-to']]) if (u !== undefined) checkObjectStoreUrl(u);
  const parallel = v.parallel === undefined ? 4 : Number(v.parallel);
  if (!Number.isInteger(parallel) || parallel < 1 || parallel > 64) throw new UsageError(`--parallel: 1 to 64, not ${v.parallel}`);
  const { migrateServer } = await import('../../server/ops/migrate.ts');
  const r = await migrateServer({ from: v.from, to: v.to, blobsFrom: v['blobs-from'], blobsTo: v['blobs-to'], parallel, log: io.out });
  io.out(`done: ${r.tables.reduce((n, t) => n + t.rows, 0)} rows in ${r.tables.length} tables${v['blobs-from'] ? `, ${r.blobs.rows} blobs (${r.blobs.copied} copied now)` : ''}; counts and contents verified`);
  return EXIT_OK;
}

async function checkCommand(rest: string[], v: Values, dataDir: string, dbUrl: string, io: Io): Promise<number> {
  if (rest.length) throw new UsageError(`serve check takes no arguments (got '${rest[0]}')`);
  const { checkServer } = await import('../../server/ops/check.ts');
  const db = await openDatabase(dbUrl);
  const objects = v.blobs !== undefined ? openObjectStore(v.blobs) : dataDirObjectStore(dataDir);
  try {
    const r = await checkServer(db, objects, { fast: v.fast === true, deleteOrphans: v['delete-orphans'] === true, log: io.out });
    for (const p of r.problems) io.out(`PROBLEM ${p}`);
    for (const o of r.orphans) io.out(`orphan ${o.key} (${o.size} bytes, ${new Date(o.modified).toISOString()})`);
    for (const u of r.unfinished) io.out(`unfinished upload ${u.key ?? u.id} (since ${new Date(u.at).toISOString()})`);
    if (v['delete-orphans']) io.out(`deleted ${r.deleted.orphans} orphan object(s) older than a day and ${r.deleted.unfinished} stale unfinished upload(s)`);
    io.out(r.ok ? `ok: ${r.blobs} blob(s) as the database says; ${r.orphans.length} orphan(s), ${r.unfinished.length} unfinished` : `FAILED: ${r.problems.length} problem(s)`);
    return r.ok ? EXIT_OK : EXIT_FAILED;
  } finally {
    await db.close();
    await objects.close();
  }
}
