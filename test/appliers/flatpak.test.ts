/**
 * flatpak.system against a real bookworm minbase root. Only Debian's mirror
 * is reachable here (flathub is not), so the real install is done from a
 * local flatpak repository built in the root (a tiny runtime + app, exported
 * with `flatpak build-export`), and flathub stands for a remote that fails.
 *
 * The root is a plain directory on disk, not a mount point: that is the case
 * where bubblewrap fails in a chroot ("Failed to make / slave") unless the
 * root is bind-mounted onto itself, which the applier does.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApplyContext, Progress } from '../../src/chroot-appliers/applier.ts';
import { runInChroot } from '../../src/chroot-appliers/chroot-runner.ts';
import { applyFlatpakSystem, flatpakInstallArgv, flatpakOperation, refInstalled, remoteLocation, selfBoundArgv } from '../../src/chroot-appliers/flatpak.ts';
import type { StepProgress } from '../../src/restore-machine/types.ts';
import { resolveTarget } from '../../src/chroot-appliers/target.ts';
import type { Manifest } from '../../src/manifest/types.ts';
import { planRestore, type PlanStep, type RestoreChoice } from '../../src/restore-machine/plan.ts';
import { makeDebianRoot, type TestRoot } from '../helpers/debian-root.ts';

const choice: RestoreChoice = { snapshotId: 'c'.repeat(64), hostname: 'novo', targetUser: 'root', categories: ['apps'] };
const step: PlanStep = { id: 'flatpak.system', kind: 'flatpak.system', category: 'apps', label: 'flatpaks', bytes: 0, items: 5 };
const APP = 'app/org.koder.TestApp/x86_64/1';

const manifest: Manifest = {
  snapshot: { version: 1, hostname: 'rodrigo-laptop', created_at: '2026-05-21T10:00:00Z', koder_user_id: 'rodrigo' },
  apps: {
    flatpak: [
      { ref: 'app/org.gnome.Boxes/x86_64/stable', origin: 'flathub', origin_url: 'https://dl.flathub.org/repo/', scope: 'system' },
      { ref: APP, origin: 'testrepo', scope: 'system' },
      { ref: 'app/org.koder.Missing/x86_64/1', origin: 'testrepo', scope: 'system' },
      { ref: 'app/org.example.NoUrl/x86_64/stable', origin: 'nourl', scope: 'system' },
      { ref: 'app/org.gnome.Calculator/x86_64/stable', origin: 'flathub', origin_url: 'https://dl.flathub.org/repo/', scope: 'system' },
      { ref: 'app/org.user.Only/x86_64/stable', origin: 'flathub', origin_url: 'https://dl.flathub.org/repo/', scope: 'user' },
    ],
  },
};

let t: TestRoot;
const logs: string[] = [];

async function context(): Promise<ApplyContext> {
  const plan = planRestore(manifest, choice);
  return {
    target: await resolveTarget(t.root, 'root'),
    manifest,
    choice,
    plan,
    blobs: { open: async () => { throw new Error('no blobs'); } },
    deferred: [...plan.deferred],
    log: (l) => logs.push(l),
  };
}

const LOCAL_REPO = String.raw`
set -eu
rm -rf /srv/fp
mkdir -p /srv/fp/rt/usr/bin /srv/fp/rt/files /srv/fp/app/files/bin /srv/fp/app/var
cat >/srv/fp/rt/metadata <<EOF
[Runtime]
name=org.koder.TestPlatform
runtime=org.koder.TestPlatform/x86_64/1
sdk=org.koder.TestPlatform/x86_64/1
EOF
cat >/srv/fp/app/metadata <<EOF
[Application]
name=org.koder.TestApp
runtime=org.koder.TestPlatform/x86_64/1
EOF
printf '#!/bin/sh\necho hello\n' >/srv/fp/app/files/bin/hello
chmod +x /srv/fp/app/files/bin/hello
flatpak build-export --runtime /srv/fp/repo /srv/fp/rt 1 >/dev/null
flatpak build-finish --command=hello /srv/fp/app >/dev/null
flatpak build-export /srv/fp/repo /srv/fp/app 1 >/dev/null
flatpak remote-add --system --no-gpg-verify testrepo file:///srv/fp/repo
`;

beforeAll(async () => {
  const prev = process.env.KODER_TEST_ROOT_ON_DISK;
  process.env.KODER_TEST_ROOT_ON_DISK = '1';
  try {
    t = await makeDebianRoot();
  } finally {
    if (prev === undefined) delete process.env.KODER_TEST_ROOT_ON_DISK;
    else process.env.KODER_TEST_ROOT_ON_DISK = prev;
  }
  expect(t.onTmpfs).toBe(false);
  // flatpak itself, without its desktop recommends (GTK portals): the
  // applier's own "install flatpak when missing" is aptInstall, tested in apt.test.ts.
  const inst = await runInChroot(t.root, ['/bin/sh', '-c', 'apt-get update -qq && apt-get install -y -qq --no-install-recommends flatpak >/dev/null'], { check: false });
  expect(inst.code, inst.stderr).toBe(0);
  const repo = await runInChroot(t.root, ['/bin/sh', '-c', LOCAL_REPO], { check: false });
  expect(repo.code, repo.stderr).toBe(0);
}, 300_000);

afterAll(async () => {
  await t?.dispose();
});

describe('flatpak helpers', () => {
  it('builds the commands', () => {
    expect(remoteLocation('https://dl.flathub.org/repo/')).toBe('https://dl.flathub.org/repo/flathub.flatpakrepo');
    expect(remoteLocation('https://example.org/x.flatpakrepo')).toBe('https://example.org/x.flatpakrepo');
    expect(flatpakInstallArgv('flathub', APP)).toEqual(['flatpak', 'install', '--system', '-y', '--noninteractive', 'flathub', APP]);
    expect(selfBoundArgv(['true']).slice(0, 2)).toEqual(['/bin/sh', '-c']);
    expect(refInstalled(APP, ['app/org.koder.TestApp/x86_64/1'])).toBe(true);
    expect(refInstalled('org.koder.TestApp', ['app/org.koder.TestApp/x86_64/1'])).toBe(true);
    expect(refInstalled('runtime/org.koder.TestApp/x86_64/1', ['app/org.koder.TestApp/x86_64/1'])).toBe(false);
    expect(refInstalled('app/org.koder.TestApp/x86_64/2', ['app/org.koder.TestApp/x86_64/1'])).toBe(false);
    // What flatpak 1.14 --noninteractive prints per operation (recorded from this file's install).
    expect(flatpakOperation('Installing runtime/org.koder.TestPlatform/x86_64/1')).toBe('runtime/org.koder.TestPlatform/x86_64/1');
    expect(flatpakOperation('Updating app/org.koder.TestApp/x86_64/1')).toBe('app/org.koder.TestApp/x86_64/1');
    expect(flatpakOperation('Installing 1/2...')).toBeUndefined();
    expect(flatpakOperation('Warning: app/x is end-of-life')).toBeUndefined();
  });
});

describe('flatpak.system in a bookworm root (not a mount point)', () => {
  it('bubblewrap fails in this chroot without the self-bind, works with it', async () => {
    const bare = await runInChroot(t.root, ['bwrap', '--ro-bind', '/', '/', '--proc', '/proc', '--dev', '/dev', '/bin/true'], { check: false });
    expect(bare.code).not.toBe(0);
    expect(bare.stderr).toMatch(/bwrap: Failed to make \/ slave/);
    const bound = await runInChroot(t.root, selfBoundArgv(['bwrap', '--ro-bind', '/', '/', '--proc', '/proc', '--dev', '/dev', '/bin/echo', 'inside']), { check: false });
    expect(bound.stderr).toBe('');
    expect(bound.stdout.trim()).toBe('inside');
    expect(bound.code).toBe(0);
  });

  it('installs what it can, reports each failure, and goes on', async () => {
    const ctx = await context();
    const seen: StepProgress[] = [];
    const progress: Progress = (p) => seen.push(p);
    const r = await applyFlatpakSystem(step, ctx, progress);
    expect(r.status).toBe('failed');
    expect(r.message).toBe('1 system flatpaks installed, 0 already present, 4 failed');
    expect(seen.at(-1)).toEqual({ bytes: 0, items: 5 });
    // while the local app installs: the runtime it pulls in, then the app itself, named as flatpak goes
    const details = seen.filter((p) => p.phase === 'install').map((p) => p.detail);
    expect(details).toEqual(expect.arrayContaining([APP, 'runtime/org.koder.TestPlatform/x86_64/1']));
    expect(details.indexOf('runtime/org.koder.TestPlatform/x86_64/1')).toBeLessThan(details.lastIndexOf(APP));
    const reported = r.details ?? [];
    expect(reported).toHaveLength(4);
    expect(reported[0]).toMatch(/^app\/org\.gnome\.Boxes\/x86_64\/stable: remote-add flathub failed: .*(resolve|Could not|Can't load)/i);
    expect(reported[1]).toMatch(/^app\/org\.koder\.Missing\/x86_64\/1: install failed: /);
    expect(reported[2]).toMatch(/^app\/org\.example\.NoUrl\/x86_64\/stable: remote nourl is not configured in the target and the snapshot has no usable URL/);
    expect(reported[3]).toBe(reported[0]!.replace('org.gnome.Boxes', 'org.gnome.Calculator'));
    // The commands as built: flathub's repo URL given as its .flatpakrepo, tried once.
    const remoteAdds = logs.filter((l) => l.includes('flatpak remote-add'));
    expect(remoteAdds).toEqual(['[chroot] flatpak remote-add --if-not-exists --system flathub https://dl.flathub.org/repo/flathub.flatpakrepo']);
    expect(logs.some((l) => l.includes(`flatpak install --system -y --noninteractive testrepo ${APP}`))).toBe(true);
    // Installed for real, with its runtime, and triggers ran without bwrap errors.
    const list = await runInChroot(t.root, ['flatpak', 'list', '--system', '--columns=ref']);
    expect(list.stdout.split('\n')).toEqual(expect.arrayContaining(['org.koder.TestApp/x86_64/1', 'org.koder.TestPlatform/x86_64/1']));
    expect(details.join('\n')).not.toMatch(/bubblewrap/);
    // The user-scope entry is not a system install.
    expect(list.stdout).not.toMatch(/org\.user\.Only/);
  }, 120_000);

  it('a second run leaves the installed one alone and retries only the failed ones', async () => {
    logs.length = 0;
    const r = await applyFlatpakSystem(step, await context(), () => undefined);
    expect(r.message).toBe('0 system flatpaks installed, 1 already present, 4 failed');
    const installs = logs.filter((l) => l.includes('flatpak install'));
    expect(installs).toHaveLength(1);
    expect(installs[0]).toMatch(/org\.koder\.Missing/);
  }, 120_000);
});

