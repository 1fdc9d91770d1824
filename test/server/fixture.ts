/**
 * A real server on 127.0.0.1 in a temp folder, on either storage backend
 * (test/helpers/backends.ts), with users logged in through the real device
 * flow; and what a test may look at behind the API, the same way on both
 * backends: rows (`srv.db`), stored objects, unfinished writes.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { findUserByName, startServer, type RunningServer, type ServerOptions } from '../../src/server/index.ts';
import { startDeviceLogin } from '../../src/auth/index.ts';
import type { StoredTokens } from '../../src/auth/index.ts';
import { approveDevice } from './browser.ts';
import { sqliteBackend, type TestBackend } from '../helpers/backends.ts';

export interface TestServer extends RunningServer {
  /** A temp folder of the server's own (its SQLite database and blob files on the default backend). */
  dataDir: string;
  backend: TestBackend;
  cleanup(): Promise<void>;
}

export async function testServer(o: Partial<ServerOptions> & { backend?: TestBackend } = {}): Promise<TestServer> {
  const { backend = sqliteBackend, ...opts } = o;
  const dataDir = mkdtempSync(join(tmpdir(), 'koder-srv-'));
  const srv = await startServer({ dataDir, port: 0, host: '127.0.0.1', maintenanceIntervalMs: 0, deviceInterval: 0.05, log: () => {}, ...(await backend.fresh()), ...opts });
  const on = `${srv.db.engine}+${srv.objects.kind === 'file' ? 'files' : 's3'}`;
  if (on !== backend.name) throw new Error(`testServer: asked for ${backend.name}, runs on ${on}`);
  return {
    ...srv,
    dataDir,
    backend,
    async cleanup() {
      await srv.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Creates the user (if needed) and logs in through the device flow, approving on the provider's pages. */
export async function loginAs(srv: RunningServer, name: string, password = `${name}-password-1`): Promise<StoredTokens> {
  if (!(await findUserByName(srv.db, name))) await srv.addUser(name, password);
  const login = await startDeviceLogin({ server: srv.url });
  const [outcome] = await Promise.all([login.wait(), approveDevice(login.verification_uri_complete, name, password)]);
  if (outcome.status !== 'approved') throw new Error(`login of ${name}: ${outcome.status}`);
  return outcome.tokens;
}

/** The objects in the server's blob store (under `prefix`, e.g. `<userId>/`), by key. */
export async function storedObjects(srv: RunningServer, prefix = ''): Promise<{ key: string; size: number }[]> {
  const out: { key: string; size: number }[] = [];
  for await (const o of srv.objects.list(prefix)) out.push({ key: o.key, size: o.size });
  return out;
}

/** The blob addresses stored for a user, from the objects' keys (`…/<hex>` or `…/<nonce>.<hex>`). */
export async function storedBlobHexes(srv: RunningServer, userId: string): Promise<string[]> {
  return (await storedObjects(srv, `${userId}/`)).map((o) => /([0-9a-f]{64})$/.exec(o.key)?.[1] ?? o.key).sort();
}

/** An object's bytes. */
export async function objectBytes(srv: RunningServer, key: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of await srv.objects.get(key)) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** sha256 of every object, `key sha256` lines (what no bad request may change). */
export async function objectDigests(srv: RunningServer): Promise<string[]> {
  const out: string[] = [];
  for (const o of await storedObjects(srv)) out.push(`${o.key} ${createHash('sha256').update(await objectBytes(srv, o.key)).digest('hex')}`);
  return out;
}

/** Writes the store began and never finished: temp files (files) or multipart uploads (S3). */
export async function unfinishedWrites(srv: RunningServer): Promise<string[]> {
  return (await srv.objects.unfinished()).map((u) => u.key ?? u.id);
}

/** Waits until no write is unfinished (uploads still being torn down), then returns what is left. */
export async function settledUnfinished(srv: RunningServer, ms = 5000): Promise<string[]> {
  const until = Date.now() + ms;
  let left = await unfinishedWrites(srv);
  while (left.length && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 50));
    left = await unfinishedWrites(srv);
  }
  return left;
}

/** The key of a user's blob, from its row. */
export async function blobKey(srv: RunningServer, userId: string, hex: string): Promise<string> {
  const row = await srv.db.get<{ object: string | null }>('SELECT object FROM blobs WHERE user_id = ? AND hash = ?', [userId, hex]);
  if (!row) throw new Error(`no blob ${hex} for ${userId}`);
  return row.object ?? `${userId}/${hex.slice(0, 2)}/${hex}`;
}

/** Every table of the server's database (either engine). */
export async function tableNames(srv: RunningServer): Promise<string[]> {
  const rows =
    srv.db.engine === 'sqlite'
      ? await srv.db.all<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
      : await srv.db.all<{ name: string }>("SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'");
  return rows.map((r) => r.name).sort();
}
