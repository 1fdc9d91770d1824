/** `koder-snapshot demo` (npm start): the whole product on an embedded default. */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { EXIT_OK, UsageError, parseCommandArgs, type Command } from '../command.ts';
import { RestoreSession } from '../../daemon/restore-session.ts';
import { startDaemon } from '../../daemon/http.ts';
import { wizardDir } from '../../daemon/page-dir.ts';
import { defaultAppliers } from '../../chroot-appliers/index.ts';
import { DEMO_PASSPHRASE, DEMO_PASSWORD, DEMO_USER, seedDemo } from '../demo/seed.ts';
import { makeScratchRoot } from '../demo/scratch-root.ts';

const usage = `Usage: koder-snapshot demo [--port 8470] [--dir .cache/demo]

Runs the embedded default, everything on 127.0.0.1: the reference Koder ID +
Drive server with a demo user whose snapshot chain is captured from a fixture
home, the restore daemon with the installer wizard, and a scratch target root
(a Debian minbase root when one can be built, else an empty folder). Open the
printed wizard URL, scan the QR code or open the sign-in link in another tab,
sign in as the demo user, pick the snapshot, and watch it restore into the
scratch root. Everything is created anew at each start; Ctrl-C stops it.

Options:
  --port P      port of the server (default 8470; the daemon takes any free port)
  --dir DIR     working folder (default .cache/demo)
  --lang L      wizard language, en or pt-BR (default: the browser's)
  -h, --help    this help`;

export const demo: Command = {
  name: 'demo',
  summary: 'run the local server, a demo user and the wizard (npm start)',
  usage,
  async run(args, io) {
    const parsed = parseCommandArgs(this, args, { port: { type: 'string' }, dir: { type: 'string' }, lang: { type: 'string' } }, io, false);
    if (!parsed) return EXIT_OK;
    const port = Number(parsed.values.port ?? 8470);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port ${parsed.values.port} is not a port number`);
    const dir = resolve(parsed.values.dir ?? '.cache/demo');
    const log = (l: string) => io.err(`demo: ${l}`);
    await mkdir(dir, { recursive: true });

    if (!existsSync(join(wizardDir(), 'index.html'))) {
      log('building the wizard (vite)…');
      const { build } = await import('vite');
      await build({ configFile: resolve('vite.config.ts'), logLevel: 'warn' });
    }
    const { rm } = await import('node:fs/promises');
    await rm(join(dir, 'server'), { recursive: true, force: true });
    const { startServer } = await import('../../server/index.ts');
    const srv = await startServer({ dataDir: join(dir, 'server'), port, host: '127.0.0.1', log });
    const seeded = await seedDemo(srv, dir, log);
    const target = await makeScratchRoot(join(dir, 'target'), 'ana', log);
    if (target.note) log(target.note);

    // The daemon's own login state lives in the demo folder, not in the person's config.
    const env = { ...process.env, XDG_CONFIG_HOME: join(dir, 'client-config') };
    await rm(join(dir, 'daemon-state'), { recursive: true, force: true });
    await rm(env.XDG_CONFIG_HOME, { recursive: true, force: true });
    const session = await RestoreSession.open({
      server: srv.url, stateDir: join(dir, 'daemon-state'), mode: 'standalone', env,
      defaults: { hostname: 'koder-novo', targetUser: 'ana' }, appliers: defaultAppliers,
      target: { root: target.root, user: 'ana' }, log,
    });
    const daemon = await startDaemon({ session, wizardDir: wizardDir(), log });
    const lang = parsed.values.lang ? `&lang=${encodeURIComponent(parsed.values.lang)}` : '';
    io.out('');
    io.out('Koder Snapshots demo is running.');
    io.out(`  Wizard:          ${daemon.url}${lang}`);
    io.out(`  Sign in as:      ${DEMO_USER} / ${DEMO_PASSWORD}   (on the page the QR code or the link opens)`);
    io.out(`  Vault passphrase (opens documents, repositories and secrets): ${DEMO_PASSPHRASE}`);
    io.out(`  Snapshots:       ${seeded.ids.length} (a full one and ${seeded.ids.length - 1} deltas) of host ana-laptop`);
    io.out(`  Target root:     ${target.root} (${target.kind === 'debian' ? 'Debian bookworm minbase' : 'empty folder'}), user ana`);
    io.out(`  Server:          ${srv.url}`);
    io.out('Press Ctrl-C to stop.');
    await new Promise<void>((done) => {
      process.once('SIGINT', () => done());
      process.once('SIGTERM', () => done());
    });
    await daemon.close();
    await session.close();
    await srv.close();
    return EXIT_OK;
  },
};
