/** `koder-snapshot daemon`: the local daemon the installer step talks to. */
import { join, resolve } from 'node:path';
import { EXIT_OK, UsageError, parseCommandArgs, type Command } from '../command.ts';
import { RestoreSession } from '../../daemon/restore-session.ts';
import { startDaemon } from '../../daemon/http.ts';
import { defaultAppliers } from '../../chroot-appliers/index.ts';
import { detectGpuVendors } from '../../chroot-appliers/gpu.ts';
import { loadConfig } from '../../auth/token-store.ts';
import { wizardDir } from '../../daemon/page-dir.ts';
import { MOUNT_ROOTS } from '../../export/find.ts';

const usage = `Usage: koder-snapshot daemon [options]

Runs the restore daemon on 127.0.0.1: it serves the installer wizard, owns
one restore (persisted in the state dir, so a reload or restart loses
nothing) and applies it when the installer hands over the target root
(POST /api/apply). Prints the wizard URL (with its session token).

Options:
  --port P             port on 127.0.0.1 (default: any free port)
  --state-dir DIR      where the restore state lives (default /var/lib/koder-snapshot/daemon, or ~/.local/state/… when not root)
  --server URL         Koder ID + Drive server (default: the last login)
  --mode MODE          installer (apply waits for the installer; default) or standalone
  --target ROOT        standalone mode: restore into ROOT when the person confirms
  --user NAME          standalone mode: the user in ROOT
  --hostname H         prefill for the hostname field
  --token T            use this session token instead of a random one
  --url-file FILE      also write the wizard URL to FILE (mode 0600), for the installer step
  --exports-in DIRS    where Welcome looks for exports on drives (koder-snapshot export),
                       colon-separated; default ${MOUNT_ROOTS.join(':')}; '' for nowhere
  -h, --help           this help`;

export const daemon: Command = {
  name: 'daemon',
  summary: 'run the local restore daemon that serves the installer wizard',
  usage,
  async run(args, io) {
    const parsed = parseCommandArgs(this, args, {
      port: { type: 'string' }, 'state-dir': { type: 'string' }, server: { type: 'string' }, mode: { type: 'string' },
      target: { type: 'string' }, user: { type: 'string' }, hostname: { type: 'string' }, token: { type: 'string' }, 'url-file': { type: 'string' },
      'exports-in': { type: 'string' },
    }, io, false);
    if (!parsed) return EXIT_OK;
    const v = parsed.values;
    const mode = (v.mode ?? 'installer') as 'installer' | 'standalone';
    if (mode !== 'installer' && mode !== 'standalone') throw new UsageError(`--mode must be installer or standalone, not '${v.mode}'`);
    if (mode === 'standalone' && (!v.target || !v.user)) throw new UsageError('standalone mode needs --target ROOT and --user NAME');
    const port = v.port === undefined ? 0 : Number(v.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port ${v.port} is not a port number`);
    const server = v.server ?? process.env.KODER_SNAPSHOT_SERVER ?? (await loadConfig()).server;
    if (!server) throw new UsageError('no server: give --server URL');
    const stateDir = v['state-dir'] ?? (process.getuid?.() === 0 ? '/var/lib/koder-snapshot/daemon' : join(process.env.HOME ?? '.', '.local/state/koder-snapshot/daemon'));
    const session = await RestoreSession.open({
      server, stateDir, mode, defaults: { hostname: v.hostname ?? '', targetUser: v.user ?? '' }, appliers: defaultAppliers,
      target: v.target && v.user ? { root: resolve(v.target), user: v.user } : undefined, host: { gpuVendors: await detectGpuVendors() }, log: (l) => io.err(l),
      exportRoots: v['exports-in'] === undefined ? MOUNT_ROOTS : v['exports-in'].split(':').filter(Boolean),
    });
    const d = await startDaemon({ session, wizardDir: wizardDir(), port, token: v.token, log: (l) => io.err(l) });
    if (v['url-file']) {
      const { writeFileAtomic } = await import('../../util/atomic-write.ts');
      await writeFileAtomic(v['url-file'], d.url + '\n', { mode: 0o600 });
    }
    io.out(d.url);
    await new Promise<void>((resolveStop) => {
      const stop = () => resolveStop();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    await d.close();
    await session.close();
    return EXIT_OK;
  },
};
