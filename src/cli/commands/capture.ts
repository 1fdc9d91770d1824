/** `koder-snapshot capture`: snapshot this machine and upload it (a delta from the last one of this host). */
import { resolve } from 'node:path';
import { EXIT_OK, UsageError, parseCommandArgs, type Command, type Io } from '../command.ts';
import { bar, formatBytes, formatDuration } from '../format.ts';
import { capture as runCapture, CaptureError, expandHome, loadConfig, type CaptureEvent } from '../../capture/index.ts';
import { errMessage } from '../../util/fs.ts';
import { connect } from '../../drive/index.ts';
import type { DriveClient } from '../../drive/client.ts';
import type { AuthSession } from '../../auth/session.ts';
import { loadIdentity, type Identity } from '../../keys/identity.ts';
import { CATEGORIES, type Category } from '../../restore-machine/plan.ts';
import { isV2Files } from '../../manifest/types.ts';

const usage = `Usage: koder-snapshot capture [--dry-run] [--full] [--only CATEGORIES]
                              [--home DIR] [--root DIR] [--config FILE]
                              [--identity DIR] [--server URL]

Captures this machine — system settings, packages, git repositories, secrets
(sealed here), folders — as a snapshot signed with your identity, and
uploads it: a delta from the latest snapshot of this host, and only the
blobs the server does not have yet.

Options:
  --dry-run          build everything, print the manifest and the sizes,
                     upload nothing
  --full             a full snapshot instead of a delta
  --only LIST        comma-separated: ${CATEGORIES.join(', ')}; the other parts
                     are carried over from the latest snapshot
  --home DIR         the home to capture (default $HOME)
  --root DIR         root of the system files (default /)
  --config FILE      default $XDG_CONFIG_HOME/koder-snapshot/config.toml
  --identity DIR     default: [snapshot] identity of the config
  --server URL       default: the one you logged in to

Exit status: 0 captured, 1 failed (nothing posted), 2 usage or config error.`;

function parseOnly(s: string | undefined): Category[] | undefined {
  if (!s) return undefined;
  const parts = s.split(',').map((x) => x.trim()).filter(Boolean);
  for (const p of parts) if (!(CATEGORIES as readonly string[]).includes(p)) throw new UsageError(`--only: unknown category '${p}' (known: ${CATEGORIES.join(', ')})`);
  return parts as Category[];
}

/** Progress: a redrawn status line on a terminal; one line per step otherwise (the journal). */
export function progressRenderer(io: Io, tty: boolean): { onEvent: (e: CaptureEvent) => void; end: () => void } {
  let status = '';
  let started = 0;
  const draw = (line: string) => {
    if (!tty) return;
    status = line;
    process.stderr.write(`\r\x1b[K${line.slice(0, (process.stderr.columns || 100) - 1)}`);
  };
  const say = (line: string) => {
    if (tty && status) process.stderr.write('\r\x1b[K');
    status = '';
    io.err(line);
  };
  const eta = (done: number, total: number) => {
    const secs = (Date.now() - started) / 1000;
    if (done <= 0 || secs < 0.5 || total <= done) return '';
    const rate = done / secs;
    return ` ${formatBytes(rate)}/s ETA ${formatDuration((total - done) / rate)}`;
  };
  return {
    onEvent(e) {
      switch (e.type) {
        case 'parent':
          return say(`snapshot: ${e.reason}`);
        case 'collector.start':
          return draw(`${e.name}…`);
        case 'collector.done':
          return say(`${e.name.padEnd(8)} ${e.summary} (${formatDuration(e.ms / 1000)})`);
        case 'build.start':
          started = Date.now();
          return draw(`  archiving ${e.label}${e.total ? ` (${formatBytes(e.total)})` : ''}…`);
        case 'build.progress':
          return draw(`  ${e.label} ${bar(e.total ? e.done / e.total : 0)} ${formatBytes(e.done)}/${formatBytes(e.total)}${eta(e.done, e.total)}`);
        case 'build.done':
          return say(`  ${e.label}: ${e.reused ? 'unchanged' : `${formatBytes(e.inputSize)} → ${formatBytes(e.size)} in ${formatDuration(e.ms / 1000)}`}`);
        case 'upload.start':
          started = Date.now();
          return draw(`  uploading ${e.label} (${formatBytes(e.size)})…`);
        case 'upload.progress':
          return draw(`  upload ${e.label} ${bar(e.size ? e.done / e.size : 0)} ${formatBytes(e.done)}/${formatBytes(e.size)}${eta(e.done, e.size)}`);
        case 'upload.done':
          return say(`  ${e.label}: ${e.sent ? `uploaded ${formatBytes(e.size)}` : 'already on the server'}`);
        case 'posted':
          return say(`posted snapshot ${e.id}${e.created ? '' : ' (it was already there)'}`);
        case 'warning':
          return say(`warning: ${e.message}`);
      }
    },
    end() {
      if (tty && status) process.stderr.write('\r\x1b[K');
    },
  };
}

export const capture: Command = {
  name: 'capture',
  summary: 'capture this machine and upload the snapshot',
  usage,
  async run(args, io) {
    const parsed = parseCommandArgs(this, args, {
      'dry-run': { type: 'boolean' }, full: { type: 'boolean' }, only: { type: 'string' }, home: { type: 'string' }, root: { type: 'string' },
      config: { type: 'string' }, identity: { type: 'string' }, server: { type: 'string' },
    }, io, false);
    if (!parsed) return EXIT_OK;
    const v = parsed.values;
    const only = parseOnly(v.only);
    const dryRun = !!v['dry-run'];
    const home = resolve(v.home ?? process.env.HOME ?? '/');
    const root = resolve(v.root ?? '/');
    const { config } = await loadConfig(v.config ? { file: v.config } : {}); // ConfigError: exit 2 (main.ts)
    const identityDir = expandHome(v.identity ?? config.snapshot.identity, process.env.HOME ?? home);
    let identity: Identity | undefined;
    try {
      identity = await loadIdentity(identityDir);
    } catch (e) {
      if (!dryRun) throw new CaptureError('no_identity', `no identity to sign with (${errMessage(e)}); run \`koder-snapshot init\` first`, { cause: e });
      io.err(`note: no identity in ${identityDir}: the manifest is unsigned and secrets are left out`);
    }
    let client: DriveClient | undefined;
    let session: AuthSession | undefined;
    try {
      ({ client, session } = await connect(v.server ? { server: v.server } : {}));
    } catch (e) {
      if (!dryRun) throw e;
      io.err(`note: not logged in (${(e as Error).message}): no parent snapshot, a full manifest is shown`);
    }

    const tty = !!(io.isTTY ?? process.stderr.isTTY) && !!process.stderr.isTTY;
    const progress = progressRenderer(io, tty);
    const ac = new AbortController();
    const onSignal = () => ac.abort(new CaptureError('upload_failed', 'interrupted'));
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    try {
      const r = await runCapture({
        config, home, root, dryRun,
        ...(only ? { only } : {}),
        ...(v.full ? { full: true } : {}),
        ...(client && session ? { client, tokens: session } : {}),
        ...(identity ? { identity } : {}),
        onEvent: progress.onEvent,
        signal: ac.signal,
      });
      progress.end();
      if (dryRun) {
        io.out(r.text.trimEnd());
        io.out('');
        io.out(`# ${r.kind} snapshot ${r.id}${r.parentId ? ` (parent ${r.parentId})` : ''}; manifest ${formatBytes(Buffer.byteLength(r.text))}`);
        for (const f of r.full.files?.entry ?? []) {
          if (isV2Files(f)) io.out(`# folder ${formatBytes(f.size).padStart(10)}  ${f.files} files  ${f.local_path}`);
        }
        const v1 = r.blobs.filter((b) => b.label !== 'data v2');
        for (const b of v1) io.out(`# blob ${b.hex.slice(0, 12)} ${formatBytes(b.size).padStart(10)}  ${b.label}`);
        if (r.manifest.snapshot.version === 2) io.out(`# ${formatBytes(r.packedBytes)} of new chunks (compressed, encrypted); nothing uploaded (--dry-run)`);
        else io.out(`# ${v1.length} blob(s), ${formatBytes(v1.reduce((n, b) => n + b.size, 0))}; nothing uploaded (--dry-run)`);
      } else {
        io.out(`${r.id} (${r.kind}${r.parentId ? ` from ${r.parentId.slice(0, 12)}` : ''}): ${formatBytes(r.uploadedBytes)} uploaded`);
      }
      if (r.warnings.length) io.err(`${r.warnings.length} warning(s), shown above`);
      return EXIT_OK;
    } catch (e) {
      progress.end();
      throw e; // a CaptureError ends with its exit status (main.ts)
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  },
};
