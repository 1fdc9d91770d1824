/**
 * One process, one port: node:http(s) → dispatch.ts: `/v1/...` to our API
 * router, `/interaction/...` to the login/consent pages, everything else to
 * the OpenID provider (discovery, /device, /token, /jwks, ...).
 *
 * startServer() opens (and migrates) the database — SQLite in DATA by default,
 * or PostgreSQL — and the blob object store — files in DATA by default, or an
 * S3 bucket — listens, derives the issuer from the bound address unless
 * given, and starts a maintenance tick (erasures due, expired OIDC rows,
 * orphan blobs). Everything a request leaves behind is in those two, so any
 * number of processes can serve one PostgreSQL + one bucket
 * (docs/deploy.md).
 */
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { networkInterfaces } from 'node:os';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type Provider from 'oidc-provider';
import { openDatabase, sqliteUrlFor } from './db/open.ts';
import type { Database } from './db/database.ts';
import { dataDirObjectStore, openObjectStore } from './objects/open.ts';
import type { ObjectStore } from './objects/object-store.ts';
import { systemClock, type Clock } from './clock.ts';
import { Audit } from './audit.ts';
import { Quota } from './quota.ts';
import { BlobStore } from './store/blobs.ts';
import { KeyStore } from './store/keys.ts';
import { SnapshotStore } from './store/snapshots.ts';
import { VaultStore } from './store/vault.ts';
import { Erasure, DEFAULT_GRACE_MS } from './erasure.ts';
import { bearerAuthenticator } from './auth-middleware.ts';
import { loadOrCreateSecrets } from './oidc/keys.ts';
import { createProvider } from './oidc/provider.ts';
import { sweepOidc } from './oidc/adapter.ts';
import { LoginThrottle } from './oidc/throttle.ts';
import { apiRouter } from './routes/index.ts';
import { BodyDeadlines, DEFAULT_TIMEOUTS, serverTimeoutOptions, type Timeouts } from './http/timeouts.ts';
import { dispatcher } from './dispatch.ts';
import { addUser, type User } from './users.ts';
import type { Services } from './services.ts';
import { DEFAULT_PORT } from './defaults.ts';

export interface ServerOptions {
  /** Folder of the embedded database and blob files (created if missing): the default of `db` and `blobs`. */
  dataDir?: string;
  /** Database URL: `sqlite:PATH` or `postgres://…` (db/open.ts). Default: sqlite:DATA/koder.sqlite. */
  db?: string;
  /** Blob store URL: `file:DIR` or `s3://BUCKET?endpoint=…&region=…` (objects/open.ts). Default: DATA/blobs. */
  blobs?: string;
  /** PostgreSQL connections per process (default 20). */
  dbPoolSize?: number;
  /** TCP port; 0 picks a free one. Default 8470. */
  port?: number;
  /** Address to bind. Default 127.0.0.1. */
  host?: string;
  /** Public base URL (scheme://host[:port]); default derived from the bound address. */
  issuer?: string;
  clock?: Clock;
  /** Bytes per user (blobs + manifests). Default: no limit. */
  quotaBytes?: number;
  /** Seconds a device code lives. Default 600. */
  deviceCodeTtl?: number;
  /** RFC 8628 polling interval told to devices, seconds. Default 5. */
  deviceInterval?: number;
  /** Seconds an access token lives. Default 600. */
  accessTokenTtl?: number;
  /** Delay between DELETE /v1/me and the erasure. Default 24 h. */
  erasureGraceMs?: number;
  /** PEM certificate and key: serve HTTPS. */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** Trust X-Forwarded-* (behind a TLS-terminating proxy). */
  trustProxy?: boolean;
  /** Maintenance tick period; 0 disables the timer (tests call maintenance()). Default 60 s. */
  maintenanceIntervalMs?: number;
  /** How long a slow client is waited for (http/timeouts.ts, docs/deploy.md). */
  timeouts?: Partial<Timeouts>;
  /** Where unexpected errors are written. Default: stderr. */
  log?: (line: string) => void;
}

export interface RunningServer {
  /** Base URL of the server (= the issuer). */
  url: string;
  /** Where this process listens (`http(s)://HOST:PORT`): the issuer unless one was given (a balancer's URL). */
  address: string;
  issuer: string;
  /** The API's resource indicator (audience of its access tokens). */
  resource: string;
  dataDir?: string;
  db: Database;
  /** Where the blob bytes are. */
  objects: ObjectStore;
  clock: Clock;
  provider: Provider;
  /** The stores behind the API, for an embedding program that seeds its own data (the demo). */
  services: Services;
  addUser(name: string, password: string): Promise<User>;
  /**
   * Runs the maintenance tick now: the erasures due (the users this process
   * erased), then — if no other process is at it — the sweeps (orphan blobs
   * collected, stale unfinished uploads discarded; `swept: false` when
   * another process held the sweep).
   */
  maintenance(): Promise<MaintenanceReport>;
  /**
   * Stops: no new connection, idle ones closed; requests in flight get up
   * to `graceMs` to finish (default 0: cut at once), then the rest is cut
   * and the storage closed.
   */
  close(o?: { graceMs?: number }): Promise<void>;
}

export { DEFAULT_PORT };

export interface MaintenanceReport {
  erased: string[];
  swept: boolean;
  collected: number;
  unfinished: number;
}

/** Blobs no manifest references are collected after this long (an upload whose manifest never came). */
const ORPHAN_AGE_MS = 24 * 3600_000;

function lanAddress(): string | undefined {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return undefined;
}

function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '::') return lanAddress() ?? 'localhost';
  return host.includes(':') ? `[${host}]` : host;
}

export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  const clock = opts.clock ?? systemClock;
  const log = opts.log ?? ((l: string) => process.stderr.write(l + '\n'));
  const { db, objects } = await openBackends(opts, log);
  try {
    return await listening(opts, db, objects, clock, log);
  } catch (e) {
    await db.close().catch(() => {});
    await objects.close().catch(() => {});
    throw e;
  }
}

async function openBackends(opts: ServerOptions, log: (line: string) => void): Promise<{ db: Database; objects: ObjectStore }> {
  if (opts.dataDir === undefined && (opts.db === undefined || opts.blobs === undefined)) {
    throw new Error('startServer: give dataDir, or both db and blobs');
  }
  const db = await openDatabase(opts.db ?? sqliteUrlFor(opts.dataDir!), { log, poolSize: opts.dbPoolSize });
  try {
    return { db, objects: opts.blobs !== undefined ? openObjectStore(opts.blobs) : dataDirObjectStore(opts.dataDir!) };
  } catch (e) {
    await db.close();
    throw e;
  }
}

async function listening(opts: ServerOptions, db: Database, objects: ObjectStore, clock: Clock, log: (line: string) => void): Promise<RunningServer> {
  const quota = new Quota(db, opts.quotaBytes ?? Infinity, clock);
  const blobs = new BlobStore(db, objects, clock, quota);
  const keys = new KeyStore(db, clock);
  const services: Omit<Services, 'authenticate'> = {
    db,
    clock,
    audit: new Audit(db, clock),
    erasure: new Erasure(db, clock, blobs, opts.erasureGraceMs ?? DEFAULT_GRACE_MS),
    quota,
    blobs,
    keys,
    snapshots: new SnapshotStore(db, clock, blobs, keys, quota),
    vault: new VaultStore(db, clock),
  };

  let dispatch: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => {
    res.writeHead(503);
    res.end();
  };
  let inFlight = 0;
  let drained: (() => void) | undefined;
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    inFlight++;
    res.once('close', () => {
      if (--inFlight === 0) drained?.();
    });
    dispatch(req, res);
  };
  const timeouts: Timeouts = { ...DEFAULT_TIMEOUTS, ...opts.timeouts };
  const httpOpts = serverTimeoutOptions(timeouts);
  const server: Server = opts.tls ? createHttpsServer({ ...httpOpts, cert: opts.tls.cert, key: opts.tls.key }, handler) : createHttpServer(httpOpts, handler);
  const deadlines = new BodyDeadlines(server, timeouts);
  // CONNECT (a proxy's method) is answered, not dropped without a word
  server.on('connect', (_req, socket: Duplex) => socket.end('HTTP/1.1 405 Method Not Allowed\r\nConnection: close\r\nContent-Length: 0\r\n\r\n'));

  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    const failed = (e: Error) => {
      deadlines.stop();
      reject(e);
    };
    server.once('error', failed);
    server.listen(opts.port ?? DEFAULT_PORT, host, () => {
      server.off('error', failed);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const address = `${opts.tls ? 'https' : 'http'}://${urlHost(host)}:${port}`;
  const issuer = (opts.issuer ?? address).replace(/\/+$/, '');
  const resource = `${issuer}/v1`;

  const secrets = await loadOrCreateSecrets(db);
  const provider = createProvider({
    issuer,
    resource,
    db,
    secrets,
    deviceCodeTtl: opts.deviceCodeTtl,
    deviceInterval: opts.deviceInterval,
    accessTokenTtl: opts.accessTokenTtl,
    trustProxy: opts.trustProxy,
  });
  provider.on('server_error', (_ctx, err) => log(`oidc server_error: ${(err as Error).stack ?? String(err)}`));
  // Koa's own error event (else printed to stderr): a client gone mid-answer is no server error
  (provider as unknown as NodeJS.EventEmitter).on('error', (err: NodeJS.ErrnoException) => {
    if (!/^(ECONNRESET|EPIPE|ERR_STREAM_PREMATURE_CLOSE|HPE_)/.test(err.code ?? '')) log(`oidc error: ${err.stack ?? String(err)}`);
  });
  const throttle = new LoginThrottle(db);
  const s: Services = { ...services, authenticate: bearerAuthenticator({ db, issuer, resource, jwks: secrets.publicJwks as never }) };
  dispatch = dispatcher({
    issuer,
    api: apiRouter(s),
    interactions: { provider, db, audit: s.audit, throttle },
    oidc: provider.callback(),
    deadlines,
    log,
    trustProxy: opts.trustProxy,
  });

  // Every process ticks; erasures lock per user, the sweeps run in one process at a time.
  const maintenance = async (): Promise<MaintenanceReport> => {
    const erased = await s.erasure.runDue();
    const r = await db.exclusive('maintenance', async () => {
      await sweepOidc(db);
      await throttle.sweep();
      await quota.sweep();
      let collected = 0;
      let unfinished = 0;
      for (let i = 0; i < 10; i++) {
        const one = await blobs.sweep(ORPHAN_AGE_MS, 1000);
        collected += one.blobs;
        unfinished += one.unfinished;
        if (one.blobs < 1000) break;
      }
      return { collected, unfinished };
    });
    return { erased, swept: r.ran, collected: r.ran ? r.value.collected : 0, unfinished: r.ran ? r.value.unfinished : 0 };
  };
  const every = opts.maintenanceIntervalMs ?? 60_000;
  const timer = every > 0 ? setInterval(() => void maintenance().catch((e) => log(`maintenance: ${String(e)}`)), every) : undefined;
  timer?.unref();

  return {
    url: issuer,
    address,
    issuer,
    resource,
    dataDir: opts.dataDir,
    db,
    objects,
    clock,
    provider,
    services: s,
    addUser: (name, password) => addUser(db, clock, name, password),
    maintenance,
    async close(o = {}) {
      if (timer) clearInterval(timer);
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const graceMs = o.graceMs ?? 0;
      if (inFlight > 0 && graceMs > 0) {
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, graceMs);
          drained = () => {
            clearTimeout(t);
            resolve();
          };
        });
      }
      deadlines.stop();
      server.closeAllConnections();
      await closed;
      await db.close();
      await objects.close();
    },
  };
}
