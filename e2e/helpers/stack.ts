/**
 * The real parts of the wizard's end-to-end flow, wired the way `npm start`
 * wires them (src/cli/commands/demo.ts): the reference server on 127.0.0.1
 * (stoppable and restartable on the same port and data folder), the demo
 * user with its captured, signed snapshot chain (seedDemo), and the restore
 * daemon (RestoreSession with the real actors + startDaemon) serving a
 * private wizard build, in standalone mode, restoring into a target root.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { startServer, type RunningServer, type ServerOptions } from '../../src/server/index.ts';
import { seedDemo, type Seeded } from '../../src/cli/demo/seed.ts';
import { RestoreSession } from '../../src/daemon/restore-session.ts';
import { startDaemon, type RunningDaemon } from '../../src/daemon/http.ts';
import { defaultAppliers, type ApplierTable } from '../../src/chroot-appliers/index.ts';
import type { StepKind } from '../../src/restore-machine/plan.ts';
import type { TargetInfo } from '../../src/restore-machine/types.ts';

export const ROOT = resolve(import.meta.dirname, '../..');

/** Builds the wizard into `outDir` (a private folder: other suites build dist/wizard at the same time). */
export function buildWizard(outDir: string): string {
  execFileSync('npx', ['vite', 'build', '--logLevel', 'error', '--outDir', outDir, '--emptyOutDir'], { cwd: ROOT, stdio: 'pipe' });
  return outDir;
}

export interface FlowServer {
  /** The running server (a new object after restart()). */
  readonly srv: RunningServer;
  readonly url: string;
  readonly port: number;
  readonly dataDir: string;
  /** True between stop() and start(). */
  readonly down: boolean;
  stop(): Promise<void>;
  /** Starts again on the same port and data folder. */
  start(): Promise<void>;
  close(): Promise<void>;
}

/**
 * A real server in `dir`/server. `deviceInterval` is short so the daemon sees
 * an approval quickly (the default, 5 s, is what a real server tells devices).
 */
export async function flowServer(dir: string, o: Partial<ServerOptions> = {}): Promise<FlowServer> {
  const dataDir = join(dir, 'server');
  mkdirSync(dataDir, { recursive: true });
  const opts: ServerOptions = { dataDir, port: 0, host: '127.0.0.1', maintenanceIntervalMs: 0, deviceInterval: 0.2, log: () => {}, ...o };
  let srv: RunningServer | undefined = await startServer(opts);
  const port = Number(new URL(srv.url).port);
  const url = srv.url;
  const s: FlowServer = {
    get srv() {
      if (!srv) throw new Error('the server is stopped');
      return srv;
    },
    url,
    port,
    dataDir,
    get down() {
      return srv === undefined;
    },
    async stop() {
      await srv?.close();
      srv = undefined;
    },
    async start() {
      if (srv) return;
      srv = await startServer({ ...opts, port });
      if (srv.url !== url) throw new Error(`restarted server has another URL: ${srv.url} (was ${url})`);
    },
    async close() {
      await s.stop();
    },
  };
  return s;
}

/** The demo user and its chain (3 captures of the demo fixture home: a full snapshot and two deltas). */
export async function seedFlow(srv: RunningServer, dir: string): Promise<Seeded & { fixtureHome: string }> {
  const seeded = await seedDemo(srv, dir, () => {});
  return { ...seeded, fixtureHome: join(dir, 'fixture/home/ana') };
}

/**
 * Appliers with one step kind held at its start until release(): the real
 * applier runs after, unchanged. Lets a test look at the Progress screen of a
 * real restore (which, on a few hundred KB, is otherwise over in a blink).
 */
export function holdStep(kind: StepKind, appliers: ApplierTable = defaultAppliers) {
  let release!: () => void;
  let reached!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const started = new Promise<void>((r) => (reached = r));
  const real = appliers[kind];
  if (!real) throw new Error(`no applier for ${kind}`);
  const table: ApplierTable = {
    ...appliers,
    [kind]: async (...args: Parameters<typeof real>) => {
      reached();
      await gate;
      return real(...args);
    },
  };
  return { appliers: table, started, release };
}

export interface FlowDaemon {
  session: RestoreSession;
  daemon: RunningDaemon;
  /** The URL the installer step would open (token in it), plus ?lang= when given. */
  url: string;
  close(): Promise<void>;
}

/** The daemon as `npm start` runs it: standalone, its own login state and restore state under `dir`. */
export async function flowDaemon(o: {
  server: string;
  dir: string;
  wizardDir: string;
  target?: TargetInfo;
  appliers?: ApplierTable;
  defaults?: { hostname: string; targetUser: string };
  lang?: string;
  log?: (l: string) => void;
  /** Where Welcome looks for exports on drives (none by default). */
  exportRoots?: string[];
}): Promise<FlowDaemon> {
  rmSync(o.dir, { recursive: true, force: true });
  mkdirSync(o.dir, { recursive: true });
  const env = { ...process.env, XDG_CONFIG_HOME: join(o.dir, 'client-config') };
  const session = await RestoreSession.open({
    server: o.server,
    stateDir: join(o.dir, 'daemon-state'),
    mode: 'standalone',
    env,
    defaults: o.defaults ?? { hostname: 'koder-novo', targetUser: 'ana' },
    appliers: o.appliers ?? defaultAppliers,
    target: o.target,
    log: o.log,
    ...(o.exportRoots ? { exportRoots: o.exportRoots } : {}),
  });
  const daemon = await startDaemon({ session, wizardDir: o.wizardDir, log: o.log });
  return {
    session,
    daemon,
    url: daemon.url + (o.lang ? `&lang=${encodeURIComponent(o.lang)}` : ''),
    async close() {
      await daemon.close();
      await session.close();
    },
  };
}
