/** `koder-snapshot restore`: the whole restore in one go, into any root. */
import { createHash } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { EXIT_FAILED, EXIT_OK, EXIT_PARTIAL, EXIT_USAGE, UsageError, parseCommandArgs, type Command, type Io } from '../command.ts';
import { CATEGORIES, type Category } from '../../restore-machine/plan.ts';
import { RestoreSession } from '../../daemon/restore-session.ts';
import type { UiState } from '../../daemon/ui-state.ts';
import { defaultAppliers } from '../../chroot-appliers/index.ts';
import { detectGpuVendors } from '../../chroot-appliers/gpu.ts';
import { loadConfig } from '../../auth/token-store.ts';
import { qrTerminal } from '../../util/qr.ts';
import { isHostname } from '../../manifest/index.ts';
import { pathProblem } from '../../manifest/validate.ts';
import { firstLineOfStdin, promptHidden } from '../prompt.ts';
import { bar, formatBytes } from '../format.ts';
import { aboutMinutes } from '../../daemon/eta.ts';
import { reportText } from '../../chroot-appliers/run-plan.ts';
import { resolveTarget } from '../../chroot-appliers/target.ts';
import { LocalRepo } from '../../export/local-repo.ts';
import { catalogueCode } from '../../restore-machine/machine-error.ts';
import type { MachineError } from '../../restore-machine/types.ts';
import { codeInfo } from '../../util/coded-error.ts';

const usage = `Usage: koder-snapshot restore --target ROOT --user NAME [options]

Restores a snapshot into the system mounted at ROOT: logs in with Koder ID
if needed (a code and QR code to approve on your phone), verifies the
snapshot chain, then restores system settings, packages, repositories,
secrets and files for user NAME (who must exist in ROOT). An interrupted
restore resumes where it stopped when run again with the same state dir.

Options:
  --target ROOT            the root to restore into (not /)
  --user NAME              the user in ROOT who receives ~ paths
  --server URL             Koder ID + Drive server (default: the last login)
  --from DIR               restore from the export in DIR (a drive: koder-snapshot export)
                           instead of the server: no login, no network; the passphrase
                           or recovery key is required
  --snapshot ID            snapshot id or unique prefix (default: the newest)
  --hostname H             hostname of the restored system (default: the snapshot's;
                           a system setting: written only with the system category)
  --only LIST              categories, comma-separated: ${CATEGORIES.join(',')}
  --path P                 restore only this file or folder (\`~/Documentos/x\`; repeatable):
                           files only; a data v2 folder gives just that part
  --passphrase-stdin       read the vault passphrase from standard input (for secrets)
  --recovery-key-stdin     read the recovery key from standard input instead
  --ask-passphrase         ask for the vault passphrase on the terminal
  --dry-run                verify and print the plan; change nothing
  --json                   JSON lines on stdout (progress, report) for programs
  --state-dir DIR          where the resumable state lives
  -h, --help               this help

ROOT and NAME are checked first, before any login or download: ROOT must be
a directory other than this running system's /, and NAME a user in its
/etc/passwd.

While the first steps run (apt above all), the data of the folders and
repositories to restore is fetched ahead onto the target's disk (verified,
at most 8 GiB and never what the restore itself needs; KODER_AHEAD_MAX_BYTES
lowers it, KODER_FETCH_AHEAD=0 turns it off); --json progress lines say how
far it is ("ahead").

Without a passphrase or recovery key, secrets are skipped and reported, and
so are data v2 folders and repositories (encrypted with keys the vault holds).
Exit status: 0 all done, 3 done with skipped or failed items, 1 refused or
failed, 2 usage error (a bad ROOT or NAME included).`;

function defaultStateDir(target: string, env: NodeJS.ProcessEnv): string {
  const base = env.XDG_STATE_HOME?.startsWith('/') ? env.XDG_STATE_HOME : join(env.HOME ?? homedir(), '.local', 'state');
  return join(base, 'koder-snapshot', `restore-${createHash('sha256').update(target).digest('hex').slice(0, 16)}`);
}

function parseOnly(s: string | undefined): Category[] {
  if (!s) return [...CATEGORIES];
  const parts = s.split(',').map((x) => x.trim()).filter(Boolean);
  for (const p of parts) if (!(CATEGORIES as readonly string[]).includes(p)) throw new UsageError(`--only: unknown category '${p}' (known: ${CATEGORIES.join(', ')})`);
  return parts as Category[];
}

export const restore: Command = {
  name: 'restore',
  summary: 'restore a snapshot into a target root (login, verify, apply)',
  usage,
  async run(args, io) {
    const parsed = parseCommandArgs(this, args, {
      target: { type: 'string' }, user: { type: 'string' }, server: { type: 'string' }, snapshot: { type: 'string' },
      hostname: { type: 'string' }, only: { type: 'string' }, 'passphrase-stdin': { type: 'boolean' }, 'recovery-key-stdin': { type: 'boolean' },
      'ask-passphrase': { type: 'boolean' }, 'dry-run': { type: 'boolean' }, json: { type: 'boolean' }, 'state-dir': { type: 'string' },
      path: { type: 'string', multiple: true }, from: { type: 'string' },
    }, io, false);
    if (!parsed) return EXIT_OK;
    const v = parsed.values;
    if (!v.target) throw new UsageError('--target ROOT is required');
    if (!v.user) throw new UsageError('--user NAME is required');
    if (v.hostname && !isHostname(v.hostname)) throw new UsageError(`--hostname ${JSON.stringify(v.hostname)} is not an RFC 1123 hostname`);
    const paths = v.path?.map((p) => p.replace(/\/+$/, ''));
    for (const p of paths ?? []) {
      const why = pathProblem(p);
      if (why) throw new UsageError(`--path ${JSON.stringify(p)}: ${why}`);
    }
    if (paths && v.only && !parseOnly(v.only).includes('files')) throw new UsageError('--path restores files: --only must include files');
    const categories: Category[] = paths ? ['files'] : parseOnly(v.only);
    if (v.hostname && !categories.includes('system')) throw new UsageError('--hostname sets a system setting: add system to --only (or leave --hostname out)');
    const target = resolve(v.target);
    // The target and its user are checked here, before any login or download:
    // a typo (/mtn), the running system's own /, or a user the target does
    // not have is refused at once (exit 2), not after the snapshot is chosen.
    await resolveTarget(target, v.user);
    const env = process.env;
    const from = v.from ? resolve(v.from) : undefined;
    if (from && v.server) throw new UsageError('--from DIR and --server URL: one source or the other');
    // From a drive, the export is checked first too (no secret asked for nothing).
    if (from) await LocalRepo.open(from);
    const server = from ? '' : (v.server ?? env.KODER_SNAPSHOT_SERVER ?? (await loadConfig(env)).server);
    if (!from && !server) throw new UsageError('no server: give --server URL (or log in first with `koder-snapshot login`)');
    let secret: { passphrase?: string; recoveryKey?: string } = {};
    if (v['passphrase-stdin']) secret = { passphrase: await firstLineOfStdin(io) };
    else if (v['recovery-key-stdin']) secret = { recoveryKey: await firstLineOfStdin(io) };
    else if (v['ask-passphrase']) secret = { passphrase: await promptHidden('Vault passphrase: ', '--passphrase-stdin') };
    if (from && secret.passphrase === undefined && secret.recoveryKey === undefined && !v['dry-run']) {
      throw new UsageError('--from DIR needs the passphrase or recovery key (--ask-passphrase, --passphrase-stdin or --recovery-key-stdin): nothing on a drive is trusted without it');
    }

    const stateDir = v['state-dir'] ?? defaultStateDir(target, env);
    const gpuVendors = await detectGpuVendors();
    let session = await RestoreSession.open(sessionConfig());
    const phase = session.ui().phase;
    if (phase === 'report' || phase === 'skipped' || phase === 'refused') {
      // A finished restore: start a new one (appliers are idempotent; nothing is redone needlessly).
      await session.close();
      for (const f of ['actor.json', 'journal.json', 'manifest.json', 'confirmed']) await rm(join(stateDir, f), { force: true });
      session = await RestoreSession.open(sessionConfig());
    }
    function sessionConfig() {
      return {
        server: server!, stateDir, mode: 'standalone' as const, defaults: { hostname: v.hostname ?? '', targetUser: v.user! },
        appliers: defaultAppliers, target: { root: target, user: v.user! }, env, host: { gpuVendors }, fetchAhead: env.KODER_FETCH_AHEAD !== '0',
        // Nothing waits for a yes here: apt's lists are read while the vault opens.
        aptUpdateEarly: !v['dry-run'],
        log: (l: string) => io.err(l),
      };
    }
    if (secret.passphrase !== undefined) session.provideSecret({ passphrase: secret.passphrase });
    else if (secret.recoveryKey !== undefined) session.provideSecret({ recoveryKey: secret.recoveryKey });
    try {
      return await drive(session, io, { json: !!v.json, dryRun: !!v['dry-run'], snapshot: v.snapshot, hostname: v.hostname, user: v.user, categories, secret, ...(paths ? { paths } : {}), ...(from ? { from } : {}) });
    } finally {
      await session.close();
    }
  },
};

const round4 = (x: number) => Math.round(x * 1e4) / 1e4;

/** The exit status the catalogue gives the error the session stopped with (1 when it has no catalogue code). */
function exitStatusOf(e: MachineError | undefined): number {
  const code = catalogueCode(e);
  return code ? codeInfo(code).exit : EXIT_FAILED;
}

/** "about 3 min left", "under a minute left". */
function aboutLeft(seconds: number): string {
  const m = aboutMinutes(seconds);
  return m === 0 ? 'under a minute left' : m < 60 ? `about ${m} min left` : `about ${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min left`;
}

interface DriveOptions {
  json: boolean;
  dryRun: boolean;
  snapshot?: string;
  hostname?: string;
  user: string;
  categories: Category[];
  paths?: string[];
  secret: { passphrase?: string; recoveryKey?: string };
  /** An export's folder: the source instead of the server. */
  from?: string;
}

/** Plays the person's part in the wizard, from whatever phase the session is in. */
function drive(session: RestoreSession, io: Io, o: DriveOptions): Promise<number> {
  return new Promise((finish) => {
    let shownCode = '';
    let chose = false;
    let lastLine = 0;
    let lastStep = '';
    let lastPhase: string | undefined;
    const emit = (x: Record<string, unknown>) => io.out(JSON.stringify(x));
    const fail = (msg: string, code = EXIT_FAILED) => {
      if (o.json) emit({ type: 'error', message: msg });
      else io.err(`koder-snapshot restore: ${msg}`);
      done(code);
    };
    let unsubscribe = () => {};
    let finished = false;
    const done = (code: number) => {
      if (finished) return;
      finished = true;
      queueMicrotask(() => unsubscribe());
      finish(code);
    };
    const onState = (ui: UiState) => {
      if (finished) return;
      switch (ui.phase) {
        case 'welcome':
          return session.send(o.from ? { type: 'START_EXPORT', dir: o.from } : { type: 'START' });
        case 'login':
          if (ui.login && ui.login.userCode !== shownCode) {
            shownCode = ui.login.userCode;
            if (o.json) emit({ type: 'login', userCode: ui.login.userCode, verificationUri: ui.login.verificationUri, verificationUriComplete: ui.login.verificationUriComplete, expiresAt: ui.login.expiresAt });
            else io.err(`To log in, open ${ui.login.verificationUri} and enter the code ${ui.login.userCode}\nor scan this QR code with your phone:\n${qrTerminal(ui.login.verificationUriComplete)}\nWaiting for approval…`);
          }
          return;
        case 'login-failed':
          return fail(`login failed: ${ui.error?.message ?? 'unknown error'}`, exitStatusOf(ui.error));
        case 'list-failed':
        case 'prepare-failed':
        case 'apply-failed':
          return fail(ui.error?.message ?? 'failed', exitStatusOf(ui.error));
        case 'refused':
          return fail(`REFUSED: ${ui.error?.message ?? 'the snapshot failed verification'}`, exitStatusOf(ui.error));
        case 'choose': {
          if (ui.error) return fail(catalogueCode(ui.error) === 'wrong_secret' ? `wrong passphrase or recovery key: ${ui.error.message}` : ui.error.message, exitStatusOf(ui.error));
          if (chose) return;
          const list = ui.snapshots ?? [];
          const pick = o.snapshot ? list.filter((s) => s.id.startsWith(o.snapshot!)) : list.slice(0, 1);
          if (pick.length !== 1) return fail(o.snapshot ? `snapshot '${o.snapshot}' matches ${pick.length} snapshots` : 'there is no snapshot to restore');
          chose = true;
          const s = pick[0]!;
          const hostname = o.hostname ?? s.hostname;
          if (!o.json) io.err(`Restoring snapshot ${s.id.slice(0, 12)} of ${s.hostname} (${s.createdAt}) as ${hostname}…`);
          return session.send({ type: 'CHOOSE', choice: { snapshotId: s.id, hostname, targetUser: o.user, categories: o.categories, ...(o.paths ? { paths: o.paths } : {}) }, ...o.secret });
        }
        case 'ready': {
          const plan = ui.plan!;
          if (o.paths && !plan.steps.some((s) => s.kind === 'files.restore')) return fail(`${o.paths.join(', ')}: not in any folder of the snapshot`, EXIT_USAGE);
          if (o.dryRun) {
            if (o.json) emit({ type: 'plan', steps: plan.steps.map(({ status: _s, doneBytes: _b, doneItems: _i, ...s }) => s), deferred: plan.deferred, vault: plan.vault });
            else {
              io.out(`Plan (${plan.steps.length} steps, ${formatBytes(plan.steps.reduce((n, s) => n + s.bytes, 0))}):`);
              for (const s of plan.steps) io.out(`  ${s.kind.padEnd(18)} ${s.label}${s.bytes ? ` (${formatBytes(s.bytes)})` : ''}`);
              if (plan.deferred.length) {
                io.out('Deferred to first boot:');
                for (const d of plan.deferred) io.out(`  ${d.label}`);
              }
              if (plan.vault !== 'unlocked' && plan.steps.some((s) => s.kind === 'secrets.restore')) io.out('Secrets: locked (no passphrase given) — they would be skipped.');
            }
            return done(EXIT_OK);
          }
          return session.send({ type: 'CONFIRM' });
        }
        case 'applying': {
          const p = ui.progress;
          if (!p) return;
          const label = ui.plan?.steps.find((s) => s.id === p.current)?.label ?? '';
          if (o.json) {
            const now = Date.now();
            // At most 4 lines a second; a new step or a new phase of it at once.
            if (now - lastLine > 250 || p.current !== lastStep || p.phase !== lastPhase) {
              lastLine = now;
              lastStep = p.current ?? '';
              lastPhase = p.phase;
              emit({ type: 'progress', current: p.current, label, stepPhase: p.phase, detail: p.detail, fraction: round4(p.fraction), doneBytes: p.doneBytes, totalBytes: p.totalBytes, doneItems: p.doneItems, totalItems: p.totalItems, etaSeconds: p.etaSeconds, ...(p.ahead ? { ahead: p.ahead } : {}) });
            }
          } else if (process.stderr.isTTY) {
            const what = `${label}${p.detail ? ` — ${p.phase ? `${p.phase} ` : ''}${p.detail}` : ''}`;
            const bytes = p.totalBytes ? ` ${formatBytes(p.doneBytes)}/${formatBytes(p.totalBytes)}` : '';
            process.stderr.write(`\r${bar(p.fraction)} ${String(Math.floor(p.fraction * 100)).padStart(3)}%${bytes}${p.etaSeconds !== undefined ? `, ${aboutLeft(p.etaSeconds)}` : ''} ${what.slice(0, 48).padEnd(48)}`);
          } else if (p.current && p.current !== lastStep) {
            lastStep = p.current;
            io.err(`… ${label}`);
          }
          return;
        }
        case 'report': {
          const r = ui.report!;
          if (process.stderr.isTTY && !o.json) process.stderr.write('\n');
          if (o.json) emit({ type: 'report', report: r });
          else io.out(reportText(r).trimEnd());
          return done(r.status === 'done' ? EXIT_OK : EXIT_PARTIAL);
        }
        default:
          return;
      }
    };
    unsubscribe = session.subscribe(onState);
  });
}
