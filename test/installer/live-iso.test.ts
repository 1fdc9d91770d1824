/**
 * live-iso/ is a live-build configuration `lb config` accepts, and the
 * Calamares settings (the generic snippet and the ISO's) keep the order the
 * restore depends on. The full ISO build (live-iso/build.sh) is not run here:
 * see live-iso/README.md.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const repo = new URL('../../', import.meta.url).pathname;
const LIVE = join(repo, 'live-iso');
const hasLb = spawnSync('sh', ['-c', 'command -v lb']).status === 0;
let work: string;

/** The `- name` items of a top-level phase list in a Calamares settings.conf (simple YAML, as Calamares' own). */
function phases(text: string): Array<{ phase: 'show' | 'exec'; steps: string[] }> {
  const out: Array<{ phase: 'show' | 'exec'; steps: string[] }> = [];
  let cur: { phase: 'show' | 'exec'; steps: string[] } | undefined;
  let inSequence = false;
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*$/, '').trimEnd();
    if (!line.trim()) continue;
    if (/^sequence:/.test(line)) { inSequence = true; continue; }
    const p = /^- (show|exec):$/.exec(line);
    if (inSequence && p) { out.push((cur = { phase: p[1] as 'show' | 'exec', steps: [] })); continue; }
    if (inSequence && /^\S/.test(line)) inSequence = false;
    if (!inSequence) continue;
    const s = /^\s+- (\S+)$/.exec(line);
    if (s && cur) cur.steps.push(s[1]!);
  }
  return out;
}

function checkOrder(file: string) {
  const text = readFileSync(file, 'utf8');
  const ph = phases(text);
  const show = ph.find((p) => p.steps.includes('notesqml@koderrestoreview'));
  const exec = ph.find((p) => p.steps.includes('koderrestore'));
  expect(show?.phase, file).toBe('show');
  expect(exec?.phase, file).toBe('exec');
  const before = (steps: string[], a: string, b: string) => expect(steps.indexOf(a), `${file}: ${a} before ${b}`).toBeLessThan(steps.indexOf(b));
  before(show!.steps, 'users', 'notesqml@koderrestoreview');
  before(show!.steps, 'notesqml@koderrestoreview', 'summary');
  for (const s of ['mount', 'users', 'packages']) before(exec!.steps, s, 'koderrestore');
  before(exec!.steps, 'koderrestore', 'initramfs');
  before(exec!.steps, 'koderrestore', 'umount');
  expect(ph.indexOf(show!), 'the page is in the show phase before the exec phase').toBeLessThan(ph.indexOf(exec!));
  // the notesqml instance is declared with our config
  expect(text).toMatch(/- id:\s+koderrestoreview\n\s+module:\s+notesqml\n\s+config:\s+koderrestoreview\.conf/);
  return exec!.steps;
}

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'ks-live-iso-'));
  cpSync(LIVE, work, { recursive: true });
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('live-iso/ (live-build configuration)', () => {
  it.skipIf(!hasLb)('`lb config` accepts it (in a temporary copy)', () => {
    const r = spawnSync('lb', ['config'], { cwd: work, encoding: 'utf8' });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    const cfg = (f: string) => readFileSync(join(work, 'config', f), 'utf8');
    expect(cfg('bootstrap')).toMatch(/^LB_DISTRIBUTION="bookworm"$/m);
    expect(cfg('bootstrap')).toMatch(/^LB_ARCHIVE_AREAS="main non-free-firmware"$/m);
    expect(cfg('common')).toMatch(/^LB_IMAGE_NAME="koder-linux-live"$/m);
    // The daemon's unit only starts on a kernel command line with boot=live.
    expect(cfg('binary')).toMatch(/^LB_BOOTAPPEND_LIVE=".*\bboot=live\b.*"$/m);
    expect(readFileSync(join(repo, 'packaging/systemd/koder-snapshot-daemon.service'), 'utf8')).toMatch(/^ConditionKernelCommandLine=boot=live$/m);
  });

  it('lists only packages that exist in bookworm (the host’s apt lists)', () => {
    const dir = join(LIVE, 'config/package-lists');
    const pkgs = readdirSync(dir).flatMap((f) => readFileSync(join(dir, f), 'utf8').split('\n').map((l) => l.replace(/#.*/, '').trim()).filter(Boolean));
    expect(pkgs).toEqual(expect.arrayContaining(['calamares', 'qml-module-qtwebengine', 'nodejs', 'zstd']));
    const r = spawnSync('apt-cache', ['show', '--no-all-versions', ...pkgs], { encoding: 'utf8' });
    const found = new Set([...r.stdout.matchAll(/^Package: (\S+)$/gm)].map((m) => m[1]));
    // firmware-* are in non-free-firmware, which the host may not list.
    expect(pkgs.filter((p) => !found.has(p) && !p.startsWith('firmware-'))).toEqual([]);
  });

  it('its scripts parse', () => {
    for (const f of ['auto/config', 'auto/build', 'auto/clean', 'build.sh', 'config/hooks/normal/9000-koder-snapshot.hook.chroot', 'config/hooks/normal/9010-calamares-webengine.hook.chroot']) {
      const r = spawnSync(f.endsWith('build.sh') ? 'bash' : 'sh', ['-n', join(LIVE, f)], { encoding: 'utf8' });
      expect(r.status, `${f}: ${r.stderr}`).toBe(0);
    }
  });

  it('Calamares settings: the page after users and before summary; the job after users and packages, before initramfs', () => {
    checkOrder(join(repo, 'calamares-module/settings.conf'));
    const iso = checkOrder(join(LIVE, 'config/includes.chroot/etc/calamares/settings.conf'));
    // On the ISO the target's apt must see the network archive when the restore runs.
    expect(iso.indexOf('sources-final')).toBeLessThan(iso.indexOf('koderrestore'));
    expect(iso.indexOf('sources-media-unmount')).toBeLessThan(iso.indexOf('koderrestore'));
    expect(iso).toContain('services-systemd');
    expect(readFileSync(join(LIVE, 'config/includes.chroot/etc/calamares/modules/services-systemd.conf'), 'utf8')).toMatch(/disable:\n\s+- name: koder-snapshot-daemon/);
  });
});
