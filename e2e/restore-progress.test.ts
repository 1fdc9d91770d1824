/**
 * Progress inside apt, end to end with real parts: the reference server on
 * 127.0.0.1, a seeded snapshot with 24 apt packages (93 with their
 * dependencies on bookworm), fresh bookworm minbase roots, apt-get against
 * the real archive. While the apt step runs, what a person or the installer
 * watches must move:
 *
 *  1. `koder-snapshot restore --json` (a child process): the share done
 *     rising in many steps, apt's phases with the package in hand, and an
 *     estimate of the time left;
 *  2. the installer: `koder-snapshot daemon --mode installer` and the real
 *     Calamares job (calamares-module/koderrestore/main.py, stub
 *     libcalamares), fed by the daemon's /api/apply lines: setprogress
 *     rising in many steps during apt, the status naming the package.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { makeDebianRoot, type TestRoot } from '../test/helpers/debian-root.ts';
import { runInChroot } from '../src/chroot-appliers/chroot-runner.ts';
import { installerWorld, chooseAndConfirm, type InstallerWorld } from '../test/installer/daemon-fixture.ts';

const BIN = new URL('../bin/koder-snapshot.mjs', import.meta.url).pathname;
const MAIN = new URL('../calamares-module/koderrestore/main.py', import.meta.url).pathname;
const STUB = new URL('../test/installer/stub', import.meta.url).pathname;
const PACKAGES = 'jq tree less curl git vim-tiny nano htop file zip unzip rsync wget bc patch make lsof strace psmisc man-db python3 ncdu tmux sqlite3'.split(' ');

let world: InstallerWorld;
const roots: TestRoot[] = [];

async function freshTarget(): Promise<string> {
  const t = await makeDebianRoot();
  roots.push(t);
  await runInChroot(t.root, ['useradd', '-m', '-u', '1000', '-s', '/bin/bash', 'ana']);
  return t.root;
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, onLine: (line: string) => void = () => {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '', buf = '';
    child.stdout.on('data', (d) => {
      stdout += d;
      buf += d;
      const parts = buf.split('\n');
      buf = parts.pop()!;
      for (const l of parts) if (l.trim()) onLine(l);
    });
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Values that only rise, in more than 10 steps, over a good part of the way. */
function expectRisingInSteps(xs: number[], what: string) {
  expect(new Set(xs).size, `${what}: ${xs.join(' ')}`).toBeGreaterThan(10);
  for (let i = 1; i < xs.length; i++) expect(xs[i]!, `${what} went back: ${xs.join(' ')}`).toBeGreaterThanOrEqual(xs[i - 1]!);
  expect(xs.at(-1)! - xs[0]!, `${what}: ${xs.join(' ')}`).toBeGreaterThan(0.3);
}

beforeAll(async () => {
  world = await installerWorld({ apt: PACKAGES });
}, 300_000);

afterAll(async () => {
  for (const t of roots) await t.dispose();
  await world?.cleanup();
});

describe(`progress during apt (${PACKAGES.length} packages)`, () => {
  it('the CLI’s JSON lines: the share done rises in more than 10 steps during the apt step, with the package in hand and an ETA', async () => {
    const root = await freshTarget();
    interface Line { type: string; current?: string; stepPhase?: string; detail?: string; fraction: number; etaSeconds?: number; report?: { results: Array<{ stepId: string; message?: string }> }; at: number }
    const lines: Line[] = [];
    const r = await run(process.execPath, [BIN, 'restore', '--target', root, '--user', 'ana', '--snapshot', world.seeded.leaf, '--only', 'apps', '--json', '--state-dir', join(world.work, 'state-apt')], world.env, (l) => lines.push({ ...JSON.parse(l), at: Date.now() }));
    const report = lines.find((l) => l.type === 'report')?.report;
    expect(report, r.stderr.slice(-4000)).toBeDefined();
    expect(report!.results.find((x) => x.stepId === 'apt.install')!.message).toMatch(new RegExp(`^${PACKAGES.length} packages installed`));
    expect(r.code).toBe(0);
    expect((await runInChroot(root, ['python3', '-c', 'print(6*7)'])).stdout.trim()).toBe('42');

    const during = lines.filter((l) => l.type === 'progress' && l.current === 'apt.install');
    expectRisingInSteps(during.map((l) => l.fraction), 'fraction');
    // apt's phases, and dpkg's packages by name
    const phases = during.map((l) => l.stepPhase).filter((p, i, a) => p && p !== a[i - 1]);
    expect(phases).toEqual(expect.arrayContaining(['update', 'install']));
    expect(phases.indexOf('update')).toBeLessThan(phases.lastIndexOf('install'));
    expect(new Set(during.filter((l) => l.stepPhase === 'install').map((l) => l.detail)).size).toBeGreaterThan(5);
    // an estimate of the time left while apt works, counting down
    const etas = during.filter((l) => l.etaSeconds !== undefined).map((l) => l.etaSeconds!);
    expect(etas.length).toBeGreaterThan(during.length / 3);
    expect(etas.at(-1)!).toBeLessThan(etas[0]! + 5);
    console.log(`CLI, apt step: ${during.length} lines over ${((during.at(-1)!.at - during[0]!.at) / 1000).toFixed(1)} s, shares ${during[0]!.fraction} → ${during.at(-1)!.fraction}, ETA ${etas.join(' ')}`);
  }, 900_000);

  it('the installer: the Calamares job’s setprogress rises in more than 10 steps during apt, its status naming the package', async () => {
    const root = await freshTarget();
    const d = await world.startDaemon('apt');
    await chooseAndConfirm(d, { snapshotId: world.seeded.leaf, categories: ['apps'] });
    const script = [
      'import importlib.util, json, sys',
      `sys.path.insert(0, ${JSON.stringify(STUB)})`,
      'import libcalamares',
      `libcalamares.reset(gs={"rootMountPoint": ${JSON.stringify(root)}, "username": "ana", "hostname": "koder-novo"}, conf={"urlFile": ${JSON.stringify(d.urlFile)}})`,
      `spec = importlib.util.spec_from_file_location("koderrestore_main", ${JSON.stringify(MAIN)})`,
      'job = importlib.util.module_from_spec(spec); spec.loader.exec_module(job)',
      'seen = []',
      'orig = job._set_status',
      'def record(text, log=None):',
      '    seen.append((len(libcalamares.calls.progress), text)); orig(text, log)',
      'job._set_status = record',
      'result = job.run()',
      'print(json.dumps({"result": result, "progress": libcalamares.calls.progress, "status": seen, "log": libcalamares.calls.log}))',
    ].join('\n');
    const r = await run('python3', ['-c', script], { PATH: process.env.PATH });
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { result: unknown; progress: number[]; status: Array<[number, string]>; log: Array<[string, string]> };
    expect(out.result).toBeNull();
    expect(out.log.filter(([k]) => k === 'warning')).toEqual([]);
    expect(out.progress.at(-1)).toBe(1);
    // The setprogress calls made while the status said apt was at work.
    const aptAt = out.status.filter(([, s]) => /apt packages/.test(s)).map(([i]) => i);
    const during = out.progress.slice(Math.min(...aptAt), Math.max(...aptAt) + 1);
    expectRisingInSteps(during, 'setprogress');
    const packages = new Set(out.status.map(([, s]) => /\(install (\S+?)[,)]/.exec(s)?.[1]).filter(Boolean));
    expect(packages.size).toBeGreaterThan(5);
    expect(out.status.some(([, s]) => /min left|under a minute left/.test(s))).toBe(true);
    // one installer-log line per step, not one per package
    expect(out.log.filter(([, m]) => /Restoring: .*apt packages/.test(m)).length).toBe(1);
    console.log(`installer, apt step: ${during.length} setprogress calls ${during[0]} → ${during.at(-1)}; e.g. “${out.status.find(([, s]) => /install \S+/.test(s))?.[1]}”`);
  }, 900_000);
});
