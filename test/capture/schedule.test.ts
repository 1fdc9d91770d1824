/**
 * The weekly timer: the unit files' contents, enable/disable/status with a
 * scripted systemctl, and the real command in this sandbox (no user bus:
 * the units are written, the exit status is 1 with the commands to finish).
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { disableSchedule, enableSchedule, renderService, renderTimer, scheduleStatus, SERVICE_NAME, TIMER_NAME, userUnitDir } from '../../src/capture/schedule.ts';
import { selfCommand, systemdQuote, type Systemctl } from '../../src/capture/schedule.ts';
import type { ToolResult } from '../../src/capture/run-tool.ts';
import { schedule } from '../../src/cli/commands/schedule.ts';

const base = mkdtempSync(join(tmpdir(), 'koder-sched-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));
const ok = (stdout = ''): ToolResult => ({ missing: false, code: 0, stdout, stderr: '' });
const noBus: ToolResult = { missing: false, code: 1, stdout: '', stderr: 'Failed to connect to bus: No medium found\n' };

describe('unit files', () => {
  it('a weekly, persistent user timer for a oneshot service running `capture`', () => {
    const svc = renderService(['/usr/bin/node', '/opt/koder snapshot/bin/koder-snapshot.mjs']);
    expect(svc).toContain('[Service]\nType=oneshot\n');
    expect(svc).toContain('ExecStart=/usr/bin/node "/opt/koder snapshot/bin/koder-snapshot.mjs" capture\n');
    expect(svc).toMatch(/^Nice=10$/m);
    expect(svc).toMatch(/^IOSchedulingClass=idle$/m);
    expect(svc).not.toMatch(/^\[Install\]/m); // started by the timer only
    const timer = renderTimer();
    expect(timer).toMatch(/^OnCalendar=weekly$/m);
    expect(timer).toMatch(/^Persistent=true$/m);
    expect(timer).toMatch(new RegExp(`^Unit=${SERVICE_NAME.replace('.', '\\.')}$`, 'm'));
    expect(timer).toContain('[Install]\nWantedBy=timers.target\n');
    expect(systemdQuote('50%$HOME')).toBe('"50%%$$HOME"');
    expect(systemdQuote('/usr/bin/koder-snapshot')).toBe('/usr/bin/koder-snapshot');
  });
});

describe('enable / status / disable', () => {
  const env = { ...process.env, XDG_CONFIG_HOME: join(base, 'cfg1') };
  const dir = userUnitDir(env);

  it('enable writes the units, reloads and enables the timer', async () => {
    const calls: string[][] = [];
    const systemctl: Systemctl = async (a) => (calls.push(a), ok());
    const r = await enableSchedule(['/usr/bin/koder-snapshot'], { env, systemctl });
    expect(r.active).toBe(true);
    expect(calls).toEqual([['daemon-reload'], ['enable', '--now', TIMER_NAME]]);
    expect(readFileSync(join(dir, SERVICE_NAME), 'utf8')).toBe(renderService(['/usr/bin/koder-snapshot']));
    expect(readFileSync(join(dir, TIMER_NAME), 'utf8')).toBe(renderTimer());
  });

  it('status reads systemctl', async () => {
    const answers: Record<string, string> = {
      'is-enabled': 'enabled\n',
      'is-active': 'active\n',
      [`show ${TIMER_NAME}`]: 'NextElapseUSecRealtime=Mon 2025-06-02 00:12:00 UTC\nLastTriggerUSec=Mon 2025-05-26 00:31:00 UTC\n',
      [`show ${SERVICE_NAME}`]: 'Result=success\nExecMainStatus=0\n',
    };
    const systemctl: Systemctl = async (a) => ok(answers[a[0] === 'show' ? `show ${a[1]}` : a[0]!] ?? '');
    expect(await scheduleStatus(['/usr/bin/koder-snapshot'], { env, systemctl })).toEqual({
      installed: true,
      current: true,
      enabled: 'enabled',
      active: 'active',
      next: 'Mon 2025-06-02 00:12:00 UTC',
      last: 'Mon 2025-05-26 00:31:00 UTC',
      lastResult: 'success',
    });
  });

  it('disable stops the timer and removes the units (and a leftover wants link)', async () => {
    mkdirSync(join(dir, 'timers.target.wants'), { recursive: true });
    symlinkSync(join(dir, TIMER_NAME), join(dir, 'timers.target.wants', TIMER_NAME));
    const calls: string[][] = [];
    const r = await disableSchedule({ env, systemctl: async (a) => (calls.push(a), ok()) });
    expect(calls[0]).toEqual(['disable', '--now', TIMER_NAME]);
    expect(r.stopped).toBe(true);
    expect(r.removed).toHaveLength(3);
    expect(existsSync(join(dir, TIMER_NAME)) || existsSync(join(dir, SERVICE_NAME))).toBe(false);
  });

  it('without a user bus: units written, not enabled, with the commands to finish', async () => {
    const r = await enableSchedule(['/usr/bin/koder-snapshot'], { env, systemctl: async () => noBus });
    expect(r.active).toBe(false);
    expect(r.problem).toMatch(/user manager is not reachable/);
    expect(r.manual).toEqual(['systemctl --user daemon-reload', `systemctl --user enable --now ${TIMER_NAME}`]);
    expect(existsSync(join(dir, TIMER_NAME))).toBe(true);
  });
});

describe('`koder-snapshot schedule` in this sandbox', () => {
  it('enable writes the units under ~/.config/systemd/user and exits 1 with a clear message; status and disable work', async () => {
    const saved = process.env.XDG_CONFIG_HOME;
    process.env.XDG_CONFIG_HOME = join(base, 'cfg2');
    try {
      const out: string[] = [];
      const err: string[] = [];
      const io = { out: (l: string) => out.push(l), err: (l: string) => err.push(l) };
      const code = await schedule.run(['enable'], io);
      const dir = join(base, 'cfg2', 'systemd', 'user');
      expect(readFileSync(join(dir, SERVICE_NAME), 'utf8')).toBe(renderService(selfCommand()));
      expect(readFileSync(join(dir, TIMER_NAME), 'utf8')).toBe(renderTimer());
      if (code === 0) return; // a machine with a user session bus: really enabled
      expect(code).toBe(1);
      expect(err.join('\n')).toMatch(/NOT enabled/);
      expect(err.join('\n')).toContain(`systemctl --user enable --now ${TIMER_NAME}`);
      out.length = 0;
      expect(await schedule.run(['status'], io)).toBe(0);
      expect(out[0]).toBe('units: installed');
      out.length = 0;
      expect(await schedule.run(['disable'], io)).toBe(0);
      expect(out.join('\n')).toContain(`removed ${join(dir, TIMER_NAME)}`);
      await expect(schedule.run(['sometimes'], io)).rejects.toThrow(/unknown action/);
    } finally {
      if (saved === undefined) delete process.env.XDG_CONFIG_HOME;
      else process.env.XDG_CONFIG_HOME = saved;
    }
  });
});
