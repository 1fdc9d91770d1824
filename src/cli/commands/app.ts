/** `koder-snapshot app`: the Backup app — the daemon in app mode for the person running it, opened in their browser. */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EXIT_OK, UsageError, parseCommandArgs, type Command, type Io } from '../command.ts';
import { loadConfig as loadClientConfig } from '../../auth/token-store.ts';
import { AppSession, APP_STATE_DIR } from '../../daemon/app/session.ts';
import { appSurface } from '../../daemon/app/routes.ts';
import { startDaemon } from '../../daemon/http.ts';
import { appDir } from '../../daemon/page-dir.ts';
import { writeFileAtomic } from '../../util/atomic-write.ts';

const usage = `Usage: koder-snapshot app [options]

Opens the Backup app: your snapshots on this desktop — back up now, the
weekly schedule, browse a snapshot and restore files, share, delete, your
keys and your account. Runs the daemon in app mode as you (never as root)
on 127.0.0.1, guarded by a session token, and opens its page in your
browser (xdg-open); without one, it prints the address to open. One per
person: run again, it opens the one already running. Stop it with Ctrl-C
(or SIGTERM); a backup or restore in progress is cancelled cleanly, and
resumes where it stopped the next time.

Options:
  --server URL       Koder ID + Drive server (default: $KODER_SNAPSHOT_SERVER,
                     the last login, then /etc/default/koder-snapshot)
  --port P           port on 127.0.0.1 (default: any free port)
  --no-open          print the address only
  --state-dir DIR    default ~/.local/state/koder-snapshot/app
  -h, --help         this help

Exit status: 0 stopped, 2 usage error (no server, run as root).`;

/** KODER_SNAPSHOT_SERVER of /etc/default/koder-snapshot (the package's default server). */
async function packagedServer(file = '/etc/default/koder-snapshot'): Promise<string | undefined> {
  const text = await readFile(file, 'utf8').catch(() => '');
  const m = /^\s*KODER_SNAPSHOT_SERVER=["']?([^"'\s#]+)/m.exec(text);
  return m?.[1];
}

/** Opens `url` with xdg-open in a desktop session; false when there is none to open it with. */
function openInBrowser(url: string, env: NodeJS.ProcessEnv): Promise<boolean> {
  if (!env.DISPLAY && !env.WAYLAND_DISPLAY) return Promise.resolve(false);
  return new Promise((resolve) => {
    const child = spawn('xdg-open', [url], { detached: true, stdio: 'ignore', env });
    child.once('error', () => resolve(false));
    child.once('spawn', () => {
      child.unref();
      resolve(true);
    });
  });
}

interface Running {
  pid: number;
  origin: string;
  token: string;
}

/** The app already running for this person: its address, and a fresh one-time one to open (its token is in our 0600 state file). */
async function runningApp(stateDir: string): Promise<{ url: string; launch: string } | undefined> {
  const r = (await readFile(join(stateDir, 'app.json'), 'utf8').then(JSON.parse, () => undefined)) as Running | undefined;
  if (!r || typeof r.pid !== 'number' || typeof r.origin !== 'string') return undefined;
  try {
    process.kill(r.pid, 0);
  } catch {
    return undefined;
  }
  try {
    const res = await fetch(`${r.origin}/api/launch`, { method: 'POST', headers: { authorization: `Bearer ${r.token}` }, signal: AbortSignal.timeout(3000) });
    return res.ok ? { url: `${r.origin}/?token=${r.token}`, launch: ((await res.json()) as { url: string }).url } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Opens the page with the one-time address (a command line is readable by
 * other users while it runs); prints the session address, on our own
 * output only, when it cannot (no desktop session, no xdg-open, --no-open).
 */
async function show(a: { url: string; launch: () => string }, open: boolean, io: Io, env: NodeJS.ProcessEnv): Promise<void> {
  if (open && (await openInBrowser(a.launch(), env))) io.out(`The Backup app is open in your browser (${a.url.replace(/\?.*/, '')}).`);
  else io.out(`Open this address in your browser:\n${a.url}`);
}

export const app: Command = {
  name: 'app',
  summary: 'open the Backup app (your snapshots on this desktop) in the browser',
  usage,
  async run(args, io) {
    const parsed = parseCommandArgs(this, args, { server: { type: 'string' }, port: { type: 'string' }, 'no-open': { type: 'boolean' }, 'state-dir': { type: 'string' } }, io, false);
    if (!parsed) return EXIT_OK;
    const v = parsed.values;
    if (process.getuid?.() === 0) throw new UsageError('the Backup app runs as you, not as root: it backs up and restores your own home (run it from your desktop session)');
    const port = v.port === undefined ? 0 : Number(v.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port ${v.port} is not a port number`);
    const env = process.env;
    const stateDir = v['state-dir'] ?? APP_STATE_DIR(env);
    const open = !v['no-open'];
    const already = await runningApp(stateDir);
    if (already) {
      await show({ url: already.url, launch: () => already.launch }, open, io, env);
      return EXIT_OK;
    }
    const server = v.server ?? env.KODER_SNAPSHOT_SERVER ?? (await loadClientConfig(env)).server ?? (await packagedServer());
    if (!server) throw new UsageError('no server: give --server URL (the Koder ID you sign in to)');
    const langs = [env.LC_ALL, env.LC_MESSAGES, env.LANG].find(Boolean);
    const session = await AppSession.open({ server, stateDir, env, ...(langs?.startsWith('pt') ? { uiLocales: 'pt-BR en' } : {}), log: (l) => io.err(l) });
    const d = await startDaemon({ surface: appSurface(session, appDir(env)), port, log: (l) => io.err(l) });
    await writeFileAtomic(join(stateDir, 'app.json'), JSON.stringify({ pid: process.pid, origin: d.origin, token: d.token } satisfies Running) + '\n', { mode: 0o600 });
    await show({ url: d.url, launch: () => d.launchUrl() }, open, io, env);
    await new Promise<void>((resolveStop) => {
      process.once('SIGINT', () => resolveStop());
      process.once('SIGTERM', () => resolveStop());
    });
    await session.stop();
    await d.close();
    return EXIT_OK;
  },
};
