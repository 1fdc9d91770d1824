/**
 * dpkg without its per-file fsync while a restore installs packages into the
 * target, and one sync when the apt run is over — as the Debian installer
 * installs its own target (eatmydata-udeb) and as chroot builders run dpkg
 * (`force-unsafe-io`). The target is a system being set up, not the one
 * running: dpkg's fsync before each file's rename only protects against a
 * crash of the whole machine in the middle of the run, and costs most of
 * apt's time on a virtual disk (bench/README.md, install-restore: golang's
 * 12,000 files 69–85 s with fsync, 30–72 s without).
 *
 * A crash of the machine (not of our process: a SIGKILL loses nothing that
 * was written) while dpkg ran this way may leave files of the packages it
 * installed empty although dpkg lists them as installed. So, around each
 * apt run:
 *
 *   unsafeIoBegin   what dpkg has installed before the run, recorded in the
 *                   target (RECORD: atomic, fsynced) before apt starts
 *   unsafeIoEnd     sync(1) (every filesystem: the target's /usr or /var may
 *                   be their own), then the record removed
 *   recoverUnsafeIo at the start of the next apt work in this target: a
 *                   record left means a run died between the two; what is
 *                   installed now and was not then is reinstalled (the same
 *                   way, then synced), so the apt step that runs again finds
 *                   those packages whole
 *
 * KODER_APT_SAFE_IO=1 keeps dpkg's own fsyncs (no record, no sync).
 */
import { spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { ApplyContext } from './applier.ts';
import { errorSummary, runInTarget } from './chroot-commands.ts';
import { ensureDirInRoot, resolveInRoot } from './safe-path.ts';
import { readTargetText } from './target-files.ts';
import { writeFileAtomic } from '../util/atomic-write.ts';

/** Where the record lives in the target. */
export const UNSAFE_IO_RECORD = '/var/lib/koder-restore/apt-unsafe-io.json';

/** apt-get options for dpkg's fast I/O (none when KODER_APT_SAFE_IO=1). */
export function unsafeIoOptions(env: NodeJS.ProcessEnv = process.env): string[] {
  return env.KODER_APT_SAFE_IO === '1' ? [] : ['-o', 'Dpkg::Options::=--force-unsafe-io'];
}

interface UnsafeIoRecord {
  /** `name:arch` of every package dpkg had on disk before the run. */
  before: string[];
}

/** Every package dpkg has on disk, whole or not (installed, unpacked, half-installed or -configured, triggers pending), as `name:arch`. */
async function allInstalled(ctx: ApplyContext): Promise<Set<string>> {
  const r = await runInTarget(ctx, ['dpkg-query', '-W', '-f=${Package}:${Architecture}\t${db:Status-Abbrev}\n']);
  if (r.code !== 0) throw new Error(`dpkg-query in the target failed: ${errorSummary(r)}`);
  const out = new Set<string>();
  for (const line of r.stdout.split('\n')) {
    const [name, status] = line.split('\t');
    if (name && status && 'iHUFWt'.includes(status[1] ?? 'n')) out.add(name);
  }
  return out;
}

/** sync(1): what dpkg wrote reaches the disk before the record goes. */
function syncAll(): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn('sync', [], { stdio: 'ignore' });
    p.on('error', reject);
    p.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`sync exited ${code}`))));
  });
}

/** Before an apt run with unsafeIoOptions: the record of what is installed now. */
export async function unsafeIoBegin(ctx: ApplyContext): Promise<void> {
  if (unsafeIoOptions().length === 0) return;
  const before = [...(await allInstalled(ctx))].sort();
  const { dir } = await ensureDirInRoot(ctx.target.root, '/var/lib/koder-restore', { mode: 0o755 });
  await writeFileAtomic(join(dir, 'apt-unsafe-io.json'), JSON.stringify({ before } satisfies UnsafeIoRecord), { mode: 0o644 });
}

/** After it (whatever its outcome): everything on disk, then the record removed. */
export async function unsafeIoEnd(ctx: ApplyContext): Promise<void> {
  if (unsafeIoOptions().length === 0) return;
  await syncAll();
  await rm(await resolveInRoot(ctx.target.root, UNSAFE_IO_RECORD, { followFinal: false }), { force: true });
}

/**
 * A record left by a run that died: the packages installed since are
 * reinstalled. Returns their names (empty when there was nothing to do).
 */
export async function recoverUnsafeIo(ctx: ApplyContext): Promise<string[]> {
  const text = await readTargetText(ctx.target.root, UNSAFE_IO_RECORD);
  if (text === undefined) return [];
  let before: Set<string> | undefined;
  try {
    const rec = JSON.parse(text) as UnsafeIoRecord;
    if (Array.isArray(rec.before)) before = new Set(rec.before);
  } catch {
    // An unreadable record: nothing to compare with (written atomically, so not ours half-written).
  }
  const since = before ? [...(await allInstalled(ctx))].filter((p) => !before.has(p)) : [];
  if (since.length > 0) {
    ctx.log(`apt: an earlier run with dpkg's fast I/O was interrupted; reinstalling the ${since.length} packages it installed`);
    await runInTarget(ctx, ['dpkg', '--configure', '-a']);
    const r = await runInTarget(ctx, ['apt-get', '-o', 'DPkg::Lock::Timeout=300', ...unsafeIoOptions(), 'install', '-y', '--no-remove', '--reinstall', ...since]);
    if (r.code !== 0) ctx.log(`apt: the reinstall after an interrupted run failed: ${errorSummary(r)}`);
  }
  await syncAll();
  await rm(await resolveInRoot(ctx.target.root, UNSAFE_IO_RECORD, { followFinal: false }), { force: true });
  return since;
}
