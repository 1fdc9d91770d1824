/**
 * The Backup app's real parts for end-to-end tests, wired as `koder-snapshot
 * app` wires them (src/cli/commands/app.ts): an AppSession for a person
 * (their own HOME and XDG folders: tokens, config.toml, identity, cache) and
 * the daemon in app mode serving a private build of the app's page.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AppSession } from '../../src/daemon/app/session.ts';
import { appSurface } from '../../src/daemon/app/routes.ts';
import { startDaemon, type RunningDaemon } from '../../src/daemon/http.ts';
import type { Systemctl } from '../../src/capture/schedule.ts';
import type { KdfStrength } from '../../src/keys/vault.ts';
import { ROOT } from './stack.ts';

/** Builds the app into `outDir` (a private folder: other suites build at the same time). */
export function buildApp(outDir: string): string {
  execFileSync('npx', ['vite', 'build', '--mode', 'app', '--logLevel', 'error', '--outDir', outDir, '--emptyOutDir'], { cwd: ROOT, stdio: 'pipe' });
  return outDir;
}

/** systemctl --user as in a session without a user manager (a container, CI): the files are written, the page says so. */
export const noUserManager: Systemctl = async () => ({ code: 1, stdout: '', stderr: 'Failed to connect to bus: No medium found', missing: false });

export interface AppPerson {
  home: string;
  env: NodeJS.ProcessEnv;
  session: AppSession;
  daemon: RunningDaemon;
  /** The page's URL with the session token (and ?lang=). */
  url(lang?: string): string;
  close(): Promise<void>;
}

/**
 * One person's app: `home` (created if missing), config and state under
 * `dir`, `config` written as their config.toml.
 */
export async function appPerson(o: { server: string; dir: string; home: string; root?: string; appDir: string; config?: string; kdf?: KdfStrength; log?: (l: string) => void }): Promise<AppPerson> {
  mkdirSync(o.home, { recursive: true });
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: o.home, XDG_CONFIG_HOME: join(o.dir, 'config'), XDG_CACHE_HOME: join(o.dir, 'cache'), XDG_STATE_HOME: join(o.dir, 'state') };
  if (o.config !== undefined) {
    mkdirSync(join(o.dir, 'config', 'koder-snapshot'), { recursive: true });
    writeFileSync(join(o.dir, 'config', 'koder-snapshot', 'config.toml'), o.config);
  }
  const session = await AppSession.open({ server: o.server, stateDir: join(o.dir, 'state', 'koder-snapshot', 'app'), env, ...(o.root ? { root: o.root } : {}), kdf: o.kdf ?? 'interactive', systemctl: noUserManager, ...(o.log ? { log: o.log } : {}) });
  const daemon = await startDaemon({ surface: appSurface(session, o.appDir), ...(o.log ? { log: o.log } : {}) });
  return {
    home: o.home,
    env,
    session,
    daemon,
    url: (lang) => daemon.url + (lang ? `&lang=${encodeURIComponent(lang)}` : ''),
    async close() {
      await session.stop();
      await daemon.close();
    },
  };
}
