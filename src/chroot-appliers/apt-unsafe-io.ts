/**
 * dpkg without its fsyncs while a restore installs packages into the target,
 * and one sync when the apt run is over — as the Debian installer installs
 * its own target (eatmydata-udeb) and as chroot builders run dpkg
 * (`force-unsafe-io`). The target is a system being set up, not the one
 * running: dpkg's fsyncs only protect against a crash of the whole machine
 * in the middle of the run, and cost a good part of apt's time on a virtual
 * disk (bench/README.md, install-restore: golang's 12,000 files 69–85 s with
 * fsync, 30–72 s without).
 *
 * Two layers, both off with KODER_APT_SAFE_IO=1:
 *
 *   --force-unsafe-io  dpkg's own option: no fsync of each unpacked file
 *                      before its rename
 *   fsyncShim()        what that option leaves, strace'd in one install of
 *                      278 packages: a sync_file_range (start writeback now)
 *                      for each of 31,786 files and 5,800 fsyncs of dpkg's
 *                      database. The host's libeatmydata (Debian's eatmydata,
 *                      a Recommends of the .deb) is preloaded into apt-get and
 *                      everything it starts, as eatmydata-udeb does for
 *                      d-i; without the library, only the option
 *                      (KODER_APT_EATMYDATA=0 leaves it out)
 *
 * A crash of the machine (not of our process: a SIGKILL loses nothing that
 * was written) while dpkg ran this way may leave files of the packages it
 * installed empty although dpkg lists them as installed, or dpkg's database
 * itself unreadable. So, around each apt run:
 *
 *   unsafeIoBegin   dpkg's status file copied aside and what it has
 *                   installed recorded in the target (RECORD: atomic,
 *                   fsynced) before apt starts
 *   unsafeIoEnd     sync(1) (every filesystem: the target's /usr or /var may
 *                   be their own), then the record removed
 *   recoverUnsafeIo at the start of the next apt work in this target: a
 *                   record left means a run died between the two; what is
 *                   installed now and was not then is reinstalled (the same
 *                   way, then synced), so the apt step that runs again finds
 *                   those packages whole. If dpkg cannot read its database
 *                   any more, the status copied aside is put back (its
 *                   pending updates dropped): dpkg knows the packages of
 *                   before the run, and the apt step installs the rest again
 *                   over the files the dead run left — except their conffiles,
 *                   which dpkg keeps as found (confold), as the reinstall
 *                   above does: a crash can leave one of those empty.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { ApplyContext } from './applier.ts';
import { dpkgQuery, dpkgStatus, DpkgStatus, errorSummary, runInTarget } from './chroot-commands.ts';
import { ensureDirInRoot, resolveInRoot } from './safe-path.ts';
import { readTargetBytes, readTargetText } from './target-files.ts';
import { writeFileAtomic } from '../util/atomic-write.ts';

/** Where the record lives in the target. */
export const UNSAFE_IO_RECORD = '/var/lib/koder-restore/apt-unsafe-io.json';
/** dpkg's status file as it was before the run, beside the record. */
export const UNSAFE_IO_STATUS = '/var/lib/koder-restore/apt-unsafe-io.status';
const DPKG_STATUS = '/var/lib/dpkg/status';
/** What dpkg says of a status or update file it cannot parse ("parsing file '/var/lib/dpkg/status' near line 0"). */
const DB_UNREADABLE = /parsing file '\/var\/lib\/dpkg\/(status|updates\/[0-9]+)'/;
const DPKG_UPDATES = '/var/lib/dpkg/updates';

/** apt-get options for dpkg's fast I/O (none when KODER_APT_SAFE_IO=1). */
export function unsafeIoOptions(env: NodeJS.ProcessEnv = process.env): string[] {
  return env.KODER_APT_SAFE_IO === '1' ? [] : ['-o', 'Dpkg::Options::=--force-unsafe-io'];
}

/** Debian's multiarch directory for node's architecture. */
const MULTIARCH: Partial<Record<string, string>> = {
  x64: 'x86_64-linux-gnu',
  arm64: 'aarch64-linux-gnu',
  arm: 'arm-linux-gnueabihf',
  ia32: 'i386-linux-gnu',
  ppc64: 'powerpc64le-linux-gnu',
  s390x: 's390x-linux-gnu',
  riscv64: 'riscv64-linux-gnu',
};

/**
 * The host's libeatmydata to preload into apt-get and dpkg (runInTarget's
 * `preload`), or undefined: KODER_APT_SAFE_IO=1, KODER_APT_EATMYDATA=0, or
 * the library is not installed (then dpkg's own option alone).
 */
export function fsyncShim(env: NodeJS.ProcessEnv = process.env, arch: string = process.arch): string | undefined {
  if (env.KODER_APT_SAFE_IO === '1' || env.KODER_APT_EATMYDATA === '0') return undefined;
  // An absolute path: that library instead (tests; a host that keeps it elsewhere).
  if (env.KODER_APT_EATMYDATA?.startsWith('/')) return existsSync(env.KODER_APT_EATMYDATA) ? env.KODER_APT_EATMYDATA : undefined;
  const dirs = [MULTIARCH[arch] && `/usr/lib/${MULTIARCH[arch]}`, '/usr/lib64', '/usr/lib'].filter((d): d is string => Boolean(d));
  return dirs.map((d) => `${d}/libeatmydata.so.1`).find((p) => existsSync(p));
}

const shimLoads = new WeakMap<ApplyContext, Promise<{ preload?: string }>>();

/**
 * runInTarget options of a command that runs with dpkg's fast I/O: the
 * shim, once seen to load in this target (once per restore). The host's
 * library is built against the host's libc: in a target of an older release
 * ld.so may refuse it, and then every command it is preloaded into; it is
 * tried with `true` first, and left out (logged) when it does not load clean.
 */
export function unsafeIoRun(ctx: ApplyContext): Promise<{ preload?: string }> {
  let p = shimLoads.get(ctx);
  if (!p) {
    p = (async () => {
      const preload = fsyncShim();
      if (!preload) return {};
      try {
        const r = await runInTarget(ctx, ['true'], { preload });
        if (r.code === 0 && r.stderr.trim() === '') return { preload };
        ctx.log(`apt: the host's ${preload} does not load in the target (${errorSummary(r)}); dpkg runs with --force-unsafe-io alone`);
      } catch (e) {
        // An abort stops the restore; anything else only costs the speed-up.
        if (ctx.signal?.aborted) throw e;
        ctx.log(`apt: the host's ${preload} could not be tried in the target (${(e as Error).message}); dpkg runs with --force-unsafe-io alone`);
      }
      return {};
    })();
    shimLoads.set(ctx, p);
    p.catch(() => shimLoads.delete(ctx));
  }
  return p;
}

interface UnsafeIoRecord {
  /** `name:arch` of every package dpkg had on disk before the run. */
  before: string[];
}

/** sync(1): what dpkg wrote reaches the disk before the record goes. */
function syncAll(): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn('sync', [], { stdio: 'ignore' });
    p.on('error', reject);
    p.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`sync exited ${code}`))));
  });
}

/** Before an apt run with unsafeIoOptions: the record of what is installed now (`now`: dpkg's whole state read since the last dpkg run, else it is read). */
export async function unsafeIoBegin(ctx: ApplyContext, now?: DpkgStatus): Promise<void> {
  if (unsafeIoOptions().length === 0) return;
  const before = [...(now ?? (await dpkgStatus(ctx))).onDisk()].sort();
  const { dir } = await ensureDirInRoot(ctx.target.root, '/var/lib/koder-restore', { mode: 0o755 });
  const status = await readTargetBytes(ctx.target.root, DPKG_STATUS);
  if (status !== undefined) await writeFileAtomic(join(dir, 'apt-unsafe-io.status'), status, { mode: 0o644 });
  await writeFileAtomic(join(dir, 'apt-unsafe-io.json'), JSON.stringify({ before } satisfies UnsafeIoRecord), { mode: 0o644 });
}

/** After it (whatever its outcome): everything on disk, then the record removed. */
export async function unsafeIoEnd(ctx: ApplyContext): Promise<void> {
  if (unsafeIoOptions().length === 0) return;
  await syncAll();
  await dropRecord(ctx);
}

/** The record, then the status copy (a copy left without its record is harmless: the next run writes its own). */
async function dropRecord(ctx: ApplyContext): Promise<void> {
  await rm(await resolveInRoot(ctx.target.root, UNSAFE_IO_RECORD, { followFinal: false }), { force: true });
  await rm(await resolveInRoot(ctx.target.root, UNSAFE_IO_STATUS, { followFinal: false }), { force: true });
}

/** dpkg's database as it was before the dead run: the status copied aside back in place, the run's pending updates dropped. */
async function restoreDpkgStatus(ctx: ApplyContext): Promise<boolean> {
  const saved = await readTargetBytes(ctx.target.root, UNSAFE_IO_STATUS);
  if (saved === undefined) return false;
  const updates = await resolveInRoot(ctx.target.root, DPKG_UPDATES);
  for (const name of await readdir(updates).catch(() => [] as string[])) {
    if (/^[0-9]+$/.test(name) || name === 'tmp.i') await rm(join(updates, name), { force: true, recursive: true });
  }
  // The damaged file kept beside it, read and written inside the root (a symlink there is never followed out of it).
  const damaged = await readTargetBytes(ctx.target.root, DPKG_STATUS).catch(() => undefined);
  if (damaged !== undefined) await writeFileAtomic(await resolveInRoot(ctx.target.root, `${DPKG_STATUS}-koder-damaged`, { followFinal: false }), damaged, { mode: 0o644 });
  await writeFileAtomic(await resolveInRoot(ctx.target.root, DPKG_STATUS, { followFinal: false }), saved, { mode: 0o644 });
  return true;
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
  // dpkg's database as the dead run left it: unreadable when a crash lost what dpkg wrote without fsync (and only
  // then is the status of before put back; a query that fails for another reason is an error as it is).
  let q = await dpkgQuery(ctx);
  if (q.code !== 0 && DB_UNREADABLE.test(q.stderr) && (await restoreDpkgStatus(ctx))) {
    ctx.log(`apt: an earlier run with dpkg's fast I/O was interrupted and left dpkg's database unreadable (${errorSummary(q)}); its status of before that run is back`);
    q = await dpkgQuery(ctx);
  }
  if (q.code !== 0) throw new Error(`dpkg-query in the target failed: ${errorSummary(q)}`);
  const now = DpkgStatus.parse(q.stdout).onDisk();
  const since = before ? [...now].filter((p) => !before.has(p)) : [];
  if (since.length > 0) {
    ctx.log(`apt: an earlier run with dpkg's fast I/O was interrupted; reinstalling the ${since.length} packages it installed`);
    const run = await unsafeIoRun(ctx);
    await runInTarget(ctx, ['dpkg', '--configure', '-a'], run);
    const r = await runInTarget(ctx, ['apt-get', '-o', 'DPkg::Lock::Timeout=300', ...unsafeIoOptions(), 'install', '-y', '--no-remove', '--reinstall', ...since], run);
    if (r.code !== 0) ctx.log(`apt: the reinstall after an interrupted run failed: ${errorSummary(r)}`);
  }
  await syncAll();
  await dropRecord(ctx);
  return since;
}
