/**
 * System-scope flatpaks, installed in the chroot (user-scope ones are
 * first-boot tasks, planned by plan.ts).
 *
 * flatpak runs its triggers (desktop database, icon cache, mime) and an app's
 * apply_extra inside bubblewrap, and bwrap needs the current root to be a
 * mount point (it makes `/` a slave mount, then pivot_root). A chroot into a
 * plain directory is not one: bwrap fails with "Failed to make / slave:
 * Invalid argument" and the install ends half done (exit 0, triggers not
 * run). So every `flatpak install` runs through `selfBoundArgv`: inside the
 * runner's private mount namespace, the chroot's `/` is rbind-mounted on
 * /run/koder-flatpak-root (a tmpfs of that namespace, so nothing reaches the
 * target's disk), and the command is chrooted once more into that bind mount,
 * whose root is a mount point. The namespace dies with the command.
 *
 * Per entry: already installed → left alone; remote missing → `flatpak
 * remote-add --if-not-exists --system ORIGIN URL` (a flathub repo URL is
 * given as its .flatpakrepo, which carries the GPG key); then `flatpak
 * install --system -y --noninteractive ORIGIN REF`. A remote or ref that
 * fails is reported and the next one is tried.
 *
 * Progress: items = entries handled; while one installs, its phase is
 * 'install' and its detail the ref flatpak is at (the runtime it pulls in,
 * then the app). Non-interactive flatpak (1.14, its "quiet" transaction)
 * prints one "Installing REF" line per operation and no percentage, so that
 * is all there is to follow.
 */
import type { ApplyContext, StepApplier } from './applier.ts';
import type { FlatpakEntry } from '../manifest/types.ts';
import { aptInstall } from './apt.ts';
import { errorSummary, runInTarget, targetHasCommand } from './chroot-commands.ts';

const SELF_BIND = String.raw`
d=/run/koder-flatpak-root
mkdir -p "$d" || exit 125
if ! mount --rbind / "$d"; then rmdir "$d"; exit 125; fi
chroot "$d" "$@"
rc=$?
umount -R "$d" 2>/dev/null || umount -R -l "$d" 2>/dev/null
rmdir "$d" 2>/dev/null
exit $rc
`;

/** argv that runs `argv` in the chroot with `/` a mount point (see the header). */
export function selfBoundArgv(argv: readonly string[]): string[] {
  return ['/bin/sh', '-c', SELF_BIND, 'koder-flatpak', ...argv];
}

export const FLATPAK_REF = /^(?:(app|runtime)\/)?([A-Za-z0-9_][A-Za-z0-9_.-]*)(?:\/([A-Za-z0-9_]*)(?:\/([A-Za-z0-9_.-]*))?)?$/;
const REMOTE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const REMOTE_URL = /^(https?|file|oci\+https?):\/\/[^\s]+$/;

/** The location to give `flatpak remote-add` for a remote's URL. */
export function remoteLocation(url: string): string {
  if (/\.flatpakrepo$/i.test(url)) return url;
  if (/^https:\/\/(dl\.)?flathub\.org\/repo\/?$/.test(url)) return 'https://dl.flathub.org/repo/flathub.flatpakrepo';
  if (/^https:\/\/(dl\.)?flathub\.org\/beta-repo\/?$/.test(url)) return 'https://dl.flathub.org/beta-repo/flathub-beta.flatpakrepo';
  return url;
}

export function flatpakRemoteAddArgv(origin: string, url: string): string[] {
  return ['flatpak', 'remote-add', '--if-not-exists', '--system', origin, remoteLocation(url)];
}

export function flatpakInstallArgv(origin: string, ref: string): string[] {
  return ['flatpak', 'install', '--system', '-y', '--noninteractive', origin, ref];
}

/** The ref of a non-interactive flatpak's "Installing REF" / "Updating REF" line. */
export function flatpakOperation(line: string): string | undefined {
  return /^(?:Installing|Updating) ((?:app|runtime)\/\S+)$/.exec(line.trim())?.[1];
}

/** Installed system refs, as `app/ID/ARCH/BRANCH` and `runtime/ID/ARCH/BRANCH`. */
async function installedRefs(ctx: ApplyContext): Promise<string[]> {
  const out: string[] = [];
  for (const kind of ['app', 'runtime'] as const) {
    const r = await runInTarget(ctx, ['flatpak', 'list', '--system', `--${kind}`, '--columns=ref']);
    for (const l of r.stdout.split('\n')) if (l.trim() && l.split('/').length === 3) out.push(`${kind}/${l.trim()}`);
  }
  return out;
}

/** Whether a (possibly partial) manifest ref is among the installed full refs. */
export function refInstalled(ref: string, installed: readonly string[]): boolean {
  const m = FLATPAK_REF.exec(ref);
  if (!m) return false;
  const [, kind, id, arch, branch] = m;
  return installed.some((full) => {
    const [k, i, a, b] = full.split('/');
    return (!kind || kind === k) && id === i && (!arch || arch === a) && (!branch || branch === b);
  });
}

async function configuredRemotes(ctx: ApplyContext): Promise<Set<string>> {
  const r = await runInTarget(ctx, ['flatpak', 'remotes', '--system', '--columns=name']);
  return new Set(r.stdout.split('\n').map((l) => l.trim()).filter(Boolean));
}

export const applyFlatpakSystem: StepApplier = async (_step, ctx, progress) => {
  const entries: FlatpakEntry[] = (ctx.manifest.apps?.flatpak ?? []).filter((f) => f.scope === 'system');
  if (entries.length === 0) return { status: 'done', message: 'no system flatpaks' };
  const details: string[] = [];

  if (!(await targetHasCommand(ctx, 'flatpak'))) {
    const r = await aptInstall(ctx, ['flatpak']);
    if (!(await targetHasCommand(ctx, 'flatpak'))) {
      return {
        status: 'failed',
        message: 'flatpak could not be installed in the target; no system flatpak restored',
        details: [...r.details, ...entries.map((e) => `${e.ref}: not installed (no flatpak)`)],
      };
    }
    details.push('flatpak installed in the target');
  }

  const remotes = await configuredRemotes(ctx);
  const badRemotes = new Map<string, string>();
  const installed = await installedRefs(ctx);
  let items = 0;
  let added = 0;
  let already = 0;
  let failed = 0;
  const fail = (e: FlatpakEntry, why: string) => {
    failed++;
    details.push(`${e.ref}: ${why}`);
  };

  for (const e of entries) {
    try {
      if (!FLATPAK_REF.test(e.ref)) {
        fail(e, 'not a flatpak ref');
        continue;
      }
      if (!REMOTE_NAME.test(e.origin)) {
        fail(e, `${JSON.stringify(e.origin)} is not a remote name`);
        continue;
      }
      if (refInstalled(e.ref, installed)) {
        already++;
        continue;
      }
      if (!remotes.has(e.origin)) {
        const bad = badRemotes.get(e.origin);
        if (bad !== undefined) {
          fail(e, bad);
          continue;
        }
        if (!e.origin_url || !REMOTE_URL.test(e.origin_url)) {
          const why = `remote ${e.origin} is not configured in the target and the snapshot has no usable URL for it`;
          badRemotes.set(e.origin, why);
          fail(e, why);
          continue;
        }
        const r = await runInTarget(ctx, flatpakRemoteAddArgv(e.origin, e.origin_url));
        if (r.code !== 0) {
          const why = `remote-add ${e.origin} failed: ${errorSummary(r)}`;
          badRemotes.set(e.origin, why);
          fail(e, why);
          continue;
        }
        remotes.add(e.origin);
      }
      progress({ bytes: 0, items, phase: 'install', detail: e.ref });
      const onLine = (line: string) => {
        const op = flatpakOperation(line);
        if (op) progress({ bytes: 0, items, phase: 'install', detail: op });
      };
      const r = await runInTarget(ctx, selfBoundArgv(flatpakInstallArgv(e.origin, e.ref)), { onLine });
      if (r.code === 0) added++;
      else fail(e, `install failed: ${errorSummary(r)}`);
      if (/bwrap: /m.test(r.stderr)) details.push(`${e.ref}: bubblewrap complained: ${r.stderr.split('\n').find((l) => l.startsWith('bwrap:'))}`);
    } finally {
      progress({ bytes: 0, items: ++items });
    }
  }
  return {
    status: failed ? 'failed' : 'done',
    message: `${added} system flatpaks installed, ${already} already present${failed ? `, ${failed} failed` : ''}`,
    ...(details.length ? { details } : {}),
  };
};
