/**
 * kpkg.install and firstboot.install against a real bookworm minbase root,
 * and the generated first-boot runner run for real inside that root (with
 * runInChroot): snap, flatpak and git do not exist there, so those tasks must
 * be recorded as failed while the others still run; gsettings and
 * dbus-run-session are stand-ins that record the argv they got and the user
 * they ran as, so the quoting and the user switch are checked exactly.
 */
import { chmod, lstat, readFile, readlink, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApplyContext } from '../../src/chroot-appliers/applier.ts';
import { runInChroot } from '../../src/chroot-appliers/chroot-runner.ts';
import {
  FIRSTBOOT_AUTOSTART,
  FIRSTBOOT_DONE,
  FIRSTBOOT_PROFILE,
  FIRSTBOOT_RESULTS,
  FIRSTBOOT_RUNNER,
  FIRSTBOOT_SUMMARY,
  FIRSTBOOT_TASKS,
  FIRSTBOOT_UNIT,
  FIRSTBOOT_WANTS,
  applyFirstboot,
  renderRunner,
  sq,
} from '../../src/chroot-appliers/firstboot.ts';
import { applyKpkg } from '../../src/chroot-appliers/kpkg.ts';
import { resolveTarget } from '../../src/chroot-appliers/target.ts';
import type { Manifest } from '../../src/manifest/types.ts';
import type { PlanStep, RestoreChoice } from '../../src/restore-machine/plan.ts';
import { makeDebianRoot, type TestRoot } from '../helpers/debian-root.ts';
import { applyContext } from '../helpers/apply-context.ts';
import { pathsState } from '../helpers/tree-state.ts';

const TRICKY = `'it'"'"'s $(touch /tmp/pwned) \`id\` ; a\\b\nline2'`;

const manifest: Manifest = {
  snapshot: { version: 1, hostname: 'rodrigo-laptop', created_at: '2026-05-21T10:00:00Z', koder_user_id: 'rodrigo' },
  system: {
    gsettings: {
      'org.gnome.desktop.interface': { 'gtk-theme': "'Adwaita-dark'", 'clock-format': "'24h'" },
      'org.koder.test': { tricky: TRICKY },
    },
  },
  apps: {
    snap: [
      { name: 'spotify', channel: 'latest/stable' },
      { name: 'code', channel: 'latest/stable', classic: true },
    ],
    flatpak: [{ ref: 'app/org.gnome.Boxes/x86_64/stable', origin: 'flathub', origin_url: 'https://dl.flathub.org/repo/', scope: 'user' }],
    kpkg: ['koder-stack', 'broken-pkg'],
  },
  repos: { entry: [{ slug: 'dotfiles', url: 'git@flow.koder.dev:ana/dotfiles.git', path: '~/dev/dotfiles', branch: 'main' }] },
};
const choice: RestoreChoice = { snapshotId: 'd'.repeat(64), hostname: 'novo', targetUser: 'ana', categories: ['system', 'apps', 'repos'] };

let t: TestRoot;
let ctx: ApplyContext;
const logs: string[] = [];
const step = (kind: PlanStep['kind']): PlanStep => ({ id: kind, kind, category: 'apps', label: kind, bytes: 0, items: 1 });
const inRoot = (p: string) => join(t.root, p.slice(1));
const chroot = (argv: string[], env?: Record<string, string>) => runInChroot(t.root, argv, { check: false, ...(env ? { env } : {}) });

async function context(): Promise<ApplyContext> {
  return applyContext({ target: await resolveTarget(t.root, 'ana'), manifest, choice, logs });
}

async function fake(path: string, body: string) {
  await writeFile(inRoot(path), `#!/bin/sh\n${body}\n`);
  await chmod(inRoot(path), 0o755);
}

const treeState = (paths: string[]) => pathsState(t.root, paths);

beforeAll(async () => {
  t = await makeDebianRoot();
  const u = await chroot(['useradd', '--create-home', '--shell', '/bin/bash', 'ana']);
  expect(u.code, u.stderr).toBe(0);
  const b = await chroot(['useradd', '--create-home', '--shell', '/bin/sh', 'bob']);
  expect(b.code, b.stderr).toBe(0);
  ctx = await context();
}, 240_000);

afterAll(async () => {
  await t?.dispose();
});

describe('kpkg.install', () => {
  it('defers every package to first boot when the target has no kpkg', async () => {
    const seen: unknown[] = [];
    const r = await applyKpkg(step('kpkg.install'), ctx, (p) => seen.push(p));
    expect(r.status).toBe('skipped');
    expect(r.message).toBe('deferred to first boot');
    expect(ctx.deferred.filter((d) => d.kind === 'kpkg')).toEqual([
      { id: 'kpkg:koder-stack', kind: 'kpkg', label: 'kpkg koder-stack', asUser: false, args: { slug: 'koder-stack' } },
      { id: 'kpkg:broken-pkg', kind: 'kpkg', label: 'kpkg broken-pkg', asUser: false, args: { slug: 'broken-pkg' } },
    ]);
    // Again (a resumed step): no duplicates.
    await applyKpkg(step('kpkg.install'), ctx, () => undefined);
    expect(ctx.deferred.filter((d) => d.kind === 'kpkg')).toHaveLength(2);
    expect(seen.at(-1)).toEqual({ bytes: 0, items: 2 });
  });

  it('runs kpkg install per package in the chroot when the target has kpkg', async () => {
    await fake('/usr/local/bin/kpkg', 'echo "$*" >>/var/log/kpkg-calls.log\n[ "$2" = broken-pkg ] && { echo "error: broken-pkg: no such package" >&2; exit 3; }\nexit 0');
    try {
      const c = await context();
      const r = await applyKpkg(step('kpkg.install'), c, () => undefined);
      expect(r.status).toBe('failed');
      expect(r.message).toBe('1 of 2 kpkg packages installed');
      expect(r.details).toEqual(['broken-pkg: kpkg install failed: error: broken-pkg: no such package (exit 3)']);
      expect(await readFile(inRoot('/var/log/kpkg-calls.log'), 'utf8')).toBe('install koder-stack\ninstall broken-pkg\n');
      expect(c.deferred.some((d) => d.kind === 'kpkg')).toBe(false);
    } finally {
      await rm(inRoot('/usr/local/bin/kpkg'));
      await rm(inRoot('/var/log/kpkg-calls.log'), { force: true });
    }
  });
});

describe('firstboot.install', () => {
  it('quotes every word so that the shell gives back the exact string', async () => {
    for (const s of ['', "'", "a'b", TRICKY, '$HOME `x` "y" \\ \n\t*?[]']) {
      const r = await chroot(['/bin/sh', '-c', `printf '%s' ${sq(s)}`]);
      expect(r.stdout).toBe(s);
    }
    expect(() => renderRunner([], 'ana; reboot')).toThrow();
  });

  it('writes the tasks, the runner, the unit (enabled) and the login summary', async () => {
    const r = await applyFirstboot(step('firstboot.install'), ctx, () => undefined);
    expect(r.status, JSON.stringify(r)).toBe('done');
    expect(r.message).toBe('7 first-boot tasks installed (koder-restore-firstboot.service)');
    const tasks = JSON.parse(await readFile(inRoot(FIRSTBOOT_TASKS), 'utf8')) as { user: string; tasks: Array<{ id: string }> };
    expect(tasks.user).toBe('ana');
    expect(tasks.tasks.map((x) => x.id)).toEqual(['gsettings', 'flatpak.user:app/org.gnome.Boxes/x86_64/stable', 'snap:spotify', 'snap:code', 'repo.ssh:~/dev/dotfiles', 'kpkg:koder-stack', 'kpkg:broken-pkg']);
    const mode = async (p: string) => (await stat(inRoot(p))).mode & 0o7777;
    expect(await mode(FIRSTBOOT_RUNNER)).toBe(0o755);
    expect(await mode(FIRSTBOOT_SUMMARY)).toBe(0o755);
    expect(await mode(FIRSTBOOT_UNIT)).toBe(0o644);
    expect(await mode(FIRSTBOOT_PROFILE)).toBe(0o644);
    expect(await mode(FIRSTBOOT_AUTOSTART)).toBe(0o644);
    expect(await mode(FIRSTBOOT_TASKS)).toBe(0o600);
    expect(await readlink(inRoot(FIRSTBOOT_WANTS))).toBe(FIRSTBOOT_UNIT);
    const unit = await readFile(inRoot(FIRSTBOOT_UNIT), 'utf8');
    for (const line of ['Type=oneshot', 'After=network-online.target snapd.seeded.service', 'Wants=network-online.target', 'ConditionPathExists=!/var/lib/koder-restore/firstboot.done', `ExecStart=${FIRSTBOOT_RUNNER}`, 'WantedBy=multi-user.target']) {
      expect(unit.split('\n')).toContain(line);
    }
    const runner = await readFile(inRoot(FIRSTBOOT_RUNNER), 'utf8');
    expect(runner).toContain("run_task 'snap:code' 'snap code' task_snap 'code' 'latest/stable' '1'");
    expect(runner).toContain("task_flatpak_user 'flathub' 'https://dl.flathub.org/repo/flathub.flatpakrepo' 'app/org.gnome.Boxes/x86_64/stable'");
    expect(runner).toContain("task_repo_ssh 'git@flow.koder.dev:ana/dotfiles.git' '~/dev/dotfiles' 'main'");
    expect(await readFile(inRoot(FIRSTBOOT_AUTOSTART), 'utf8')).toContain('TryExec=notify-send');
    // Valid POSIX sh for dash (Debian's /bin/sh).
    for (const f of [FIRSTBOOT_RUNNER, FIRSTBOOT_SUMMARY, FIRSTBOOT_PROFILE]) expect((await chroot(['dash', '-n', f])).code, f).toBe(0);
  });

  it('a second install changes nothing', async () => {
    const paths = ['/etc/systemd', '/etc/profile.d', '/etc/xdg', '/usr/lib/koder-restore', '/var/lib/koder-restore'];
    const before = await treeState(paths);
    const r = await applyFirstboot(step('firstboot.install'), await contextWithKpkgDeferred(), () => undefined);
    expect(r.status).toBe('done');
    expect(await treeState(paths)).toEqual(before);
  });

  it('the runner runs every task, records failures, and disables the unit', async () => {
    // Stand-ins that record their argv and user; kpkg appears after the restore.
    await writeFile(inRoot('/tmp/calls.log'), '');
    await chmod(inRoot('/tmp/calls.log'), 0o666);
    await fake('/usr/local/bin/dbus-run-session', '[ "$1" = -- ] && shift\necho "dbus-run-session as $(id -un) HOME=$HOME" >>/tmp/calls.log\nexec "$@"');
    await fake('/usr/local/bin/gsettings', 'line="gsettings as $(id -un):"\nfor a; do line="$line [$a]"; done\nprintf "%s\\n" "$line" >>/tmp/calls.log');
    await fake('/usr/local/bin/kpkg', '[ "$2" = broken-pkg ] && { echo "broken-pkg: no such package" >&2; exit 3; }\necho "kpkg $* as $(id -un)" >>/tmp/calls.log');

    const run = await chroot([FIRSTBOOT_RUNNER]);
    expect(run.code, run.stderr).toBe(0);
    const results = (await readFile(inRoot(FIRSTBOOT_RESULTS), 'utf8')).trimEnd().split('\n').map((l) => l.split('\t'));
    const status = Object.fromEntries(results.map(([id, st]) => [id, st]));
    expect(status).toEqual({
      gsettings: 'done',
      'flatpak.user:app/org.gnome.Boxes/x86_64/stable': 'failed',
      'snap:spotify': 'failed',
      'snap:code': 'failed',
      'repo.ssh:~/dev/dotfiles': 'failed',
      'kpkg:koder-stack': 'done',
      'kpkg:broken-pkg': 'failed',
    });
    const msg = Object.fromEntries(results.map(([id, , m]) => [id, m]));
    expect(msg['snap:spotify']).toMatch(/snap is not installed in this system \(install snapd\)/);
    expect(msg['repo.ssh:~/dev/dotfiles']).toMatch(/git is not installed/);
    expect(msg['flatpak.user:app/org.gnome.Boxes/x86_64/stable']).toMatch(/flatpak is not installed/);
    expect(msg['kpkg:broken-pkg']).toMatch(/exit 3: broken-pkg: no such package/);
    // The settings went through one session bus, as the user, byte-exact.
    const calls = (await readFile(inRoot('/tmp/calls.log'), 'utf8')).split('\n');
    expect(calls).toContain('dbus-run-session as ana HOME=/home/ana');
    expect(calls).toContain("gsettings as ana: [set] [org.gnome.desktop.interface] [gtk-theme] ['Adwaita-dark']");
    expect(calls).toContain("gsettings as ana: [set] [org.gnome.desktop.interface] [clock-format] ['24h']");
    const all = await readFile(inRoot('/tmp/calls.log'), 'utf8');
    expect(all).toContain(`gsettings as ana: [set] [org.koder.test] [tricky] [${TRICKY}]`);
    expect(calls).toContain('kpkg install koder-stack as root');
    await expect(stat(inRoot('/tmp/pwned'))).rejects.toThrow();
    // Done once: marker, and the unit disabled (no systemd here: the runner removed the link).
    expect((await stat(inRoot(FIRSTBOOT_DONE))).isFile()).toBe(true);
    await expect(lstat(inRoot(FIRSTBOOT_WANTS))).rejects.toThrow();
    expect((await stat(inRoot(FIRSTBOOT_UNIT))).isFile()).toBe(true);
    // Running it again does nothing.
    const again = await chroot([FIRSTBOOT_RUNNER]);
    expect(again.stdout).toMatch(/already ran/);
    expect((await readFile(inRoot(FIRSTBOOT_RESULTS), 'utf8')).trimEnd().split('\n')).toHaveLength(7);
  });

  it('a runner interrupted before the end resumes without redoing finished tasks', async () => {
    await rm(inRoot(FIRSTBOOT_DONE));
    await symlink(FIRSTBOOT_UNIT, inRoot(FIRSTBOOT_WANTS));
    await writeFile(inRoot('/tmp/calls.log'), '');
    const run = await chroot([FIRSTBOOT_RUNNER]);
    expect(run.code).toBe(0);
    const calls = await readFile(inRoot('/tmp/calls.log'), 'utf8');
    expect(calls).not.toMatch(/gsettings|kpkg install koder-stack/);
    const lines = (await readFile(inRoot(FIRSTBOOT_RESULTS), 'utf8')).trimEnd().split('\n');
    expect(lines).toHaveLength(7 + 5); // the five failed ones tried again
    await expect(lstat(inRoot(FIRSTBOOT_WANTS))).rejects.toThrow();
  });

  it('shows the summary once per user at login', async () => {
    const asUser = (user: string, argv: string[]) => chroot(['runuser', '-u', user, '--', 'env', `HOME=/home/${user}`, ...argv]);
    const first = await asUser('ana', [FIRSTBOOT_SUMMARY, '--text']);
    expect(first.stdout).toMatch(/2 finished, 5 failed/);
    expect(first.stdout).toMatch(/snap spotify: exit 127: snap is not installed/);
    expect((await stat(inRoot('/home/ana/.local/state/koder-restore/summary-shown'))).isFile()).toBe(true);
    expect((await asUser('ana', [FIRSTBOOT_SUMMARY, '--text'])).stdout).toBe('');
    // Through the profile hook of an interactive shell, for another user; a
    // non-interactive shell stays silent.
    expect((await asUser('bob', ['sh', '-c', `. ${FIRSTBOOT_PROFILE}`])).stdout).toBe('');
    const hook = await asUser('bob', ['sh', '-i', '-c', `. ${FIRSTBOOT_PROFILE}`]);
    expect(hook.stdout).toMatch(/2 finished, 5 failed/);
    expect((await asUser('bob', ['sh', '-i', '-c', `. ${FIRSTBOOT_PROFILE}`])).stdout).toBe('');
    // No notify-send here: the desktop path does nothing and leaves no marker.
    expect((await asUser('ana', [FIRSTBOOT_SUMMARY, '--notify'])).code).toBe(0);
    await expect(stat(inRoot('/home/ana/.local/state/koder-restore/summary-notified'))).rejects.toThrow();
  });

  it('other tasks than the ones already run re-arm the service', async () => {
    const c = await contextWithKpkgDeferred();
    c.deferred.push({ id: 'snap:vlc', kind: 'snap', label: 'snap vlc', asUser: false, args: { name: 'vlc', channel: 'latest/stable' } });
    const r = await applyFirstboot(step('firstboot.install'), c, () => undefined);
    expect(r.message).toMatch(/^8 first-boot tasks/);
    await expect(stat(inRoot(FIRSTBOOT_DONE))).rejects.toThrow();
    expect(await readlink(inRoot(FIRSTBOOT_WANTS))).toBe(FIRSTBOOT_UNIT);
  });
});

/** A fresh context whose deferred list has the kpkg tasks, as after kpkg.install without kpkg. */
async function contextWithKpkgDeferred(): Promise<ApplyContext> {
  const c = await context();
  c.deferred.push(...ctx.deferred.filter((d) => d.kind === 'kpkg'));
  return c;
}
