/** A real server on 127.0.0.1 in a temp folder, with users logged in through the real device flow. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type RunningServer, type ServerOptions } from '../../src/server/index.ts';
import { startDeviceLogin } from '../../src/auth/index.ts';
import type { StoredTokens } from '../../src/auth/index.ts';
import { approveDevice } from './browser.ts';

export interface TestServer extends RunningServer {
  cleanup(): Promise<void>;
}

export async function testServer(o: Partial<ServerOptions> = {}): Promise<TestServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'koder-srv-'));
  const srv = await startServer({ dataDir, port: 0, host: '127.0.0.1', maintenanceIntervalMs: 0, deviceInterval: 0.05, log: () => {}, ...o });
  return {
    ...srv,
    async cleanup() {
      await srv.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Creates the user (if needed) and logs in through the device flow, approving on the provider's pages. */
export async function loginAs(srv: RunningServer, name: string, password = `${name}-password-1`): Promise<StoredTokens> {
  const exists = srv.db.prepare('SELECT 1 FROM users WHERE name = ?').get(name);
  if (!exists) await srv.addUser(name, password);
  const login = await startDeviceLogin({ server: srv.url });
  const [outcome] = await Promise.all([login.wait(), approveDevice(login.verification_uri_complete, name, password)]);
  if (outcome.status !== 'approved') throw new Error(`login of ${name}: ${outcome.status}`);
  return outcome.tokens;
}
