/**
 * The weekly capture: a systemd *user* timer and service, in
 * `$XDG_CONFIG_HOME/systemd/user/` (default ~/.config/systemd/user/).
 *
 *   koder-snapshot-capture.timer    OnCalendar=weekly, Persistent=true (a week
 *                                   missed while the machine was off runs at
 *                                   the next boot), a random delay of up to 1 h
 *   koder-snapshot-capture.service  Type=oneshot, `koder-snapshot capture`,
 *                                   low CPU and I/O priority; its output goes
 *                                   to the journal
 *                                   (`journalctl --user -u koder-snapshot-capture`)
 *
 * enable = write both (atomically) → `systemctl --user daemon-reload` →
 * `systemctl --user enable --now` the timer. Without a user manager to talk to
 * (no user D-Bus: a container, a root shell, an SSH session without
 * lingering) the files are written and the result says so: they are picked
 * up at the next login, or with the two commands given.
 * disable = `systemctl --user disable --now` the timer, then remove the files
 * (and the timers.target.wants link, in case systemctl could not).
 */
import { mkdir, readFile, rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFileAtomic } from '../util/atomic-write.ts';
import { runTool, stderrTail, type ToolResult } from './run-tool.ts';

export const SERVICE_NAME = 'koder-snapshot-capture.service';
export const TIMER_NAME = 'koder-snapshot-capture.timer';

/** The command the service runs: this installed executable, or node + the development entry point. */
export function selfCommand(): string[] {
  const argv1 = process.argv[1];
  if (argv1 && basename(argv1) === 'koder-snapshot') return [argv1];
  return [process.execPath, fileURLToPath(new URL('../../bin/koder-snapshot.mjs', import.meta.url))];
}

/** `$XDG_CONFIG_HOME/systemd/user`. */
export function userUnitDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CONFIG_HOME?.startsWith('/') ? env.XDG_CONFIG_HOME : join(env.HOME || homedir(), '.config');
  return join(base, 'systemd', 'user');
}

/** One ExecStart word, quoted for systemd (`%` and `$` escaped too: systemd expands them). */
export function systemdQuote(arg: string): string {
  const escaped = arg.replace(/%/g, '%%').replace(/\$/g, '$$$$');
  if (/^[A-Za-z0-9_@+=:,./-]+$/.test(escaped)) return escaped;
  return `"${escaped.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

export function renderService(command: readonly string[]): string {
  return `# Written by \`koder-snapshot schedule enable\`; removed by \`koder-snapshot schedule disable\`.
[Unit]
Description=Koder Snapshots: capture this machine and upload the snapshot
Documentation=https://koder.dev/snapshots

[Service]
Type=oneshot
ExecStart=${[...command, 'capture'].map(systemdQuote).join(' ')}
SyslogIdentifier=koder-snapshot
Nice=10
IOSchedulingClass=idle
CPUSchedulingPolicy=batch
TimeoutStartSec=6h
`;
}

export function renderTimer(): string {
  return `# Written by \`koder-snapshot schedule enable\`; removed by \`koder-snapshot schedule disable\`.
[Unit]
Description=Weekly Koder Snapshots capture

[Timer]
OnCalendar=weekly
Persistent=true
RandomizedDelaySec=1h
Unit=${SERVICE_NAME}

[Install]
WantedBy=timers.target
`;
}

export type Systemctl = (args: string[]) => Promise<ToolResult>;
export const systemctlUser: Systemctl = (args) => runTool('systemctl', ['--user', ...args], { timeoutMs: 30_000 });

/** Why systemctl --user cannot be used (missing, no user bus), or undefined when it answered. */
export function unavailable(r: ToolResult): string | undefined {
  if (r.missing) return 'systemctl is not installed';
  if (r.code !== 0 && /bus|XDG_RUNTIME_DIR|Failed to connect|not been booted with systemd|Host is down|No medium/i.test(r.stderr)) {
    return `the systemd user manager is not reachable (${stderrTail(r, 1)})`;
  }
  return undefined;
}

export interface ScheduleOptions {
  env?: NodeJS.ProcessEnv;
  systemctl?: Systemctl;
}

export interface EnableResult {
  service: string;
  timer: string;
  /** The timer is enabled and started. */
  active: boolean;
  /** Why it is not (the files are written either way). */
  problem?: string;
  /** Commands that finish the job by hand. */
  manual: string[];
}

export async function enableSchedule(command: readonly string[], o: ScheduleOptions = {}): Promise<EnableResult> {
  const dir = userUnitDir(o.env);
  const systemctl = o.systemctl ?? systemctlUser;
  await mkdir(dir, { recursive: true });
  const service = join(dir, SERVICE_NAME);
  const timer = join(dir, TIMER_NAME);
  await writeFileAtomic(service, renderService(command), { mode: 0o644 });
  await writeFileAtomic(timer, renderTimer(), { mode: 0o644 });
  const manual = ['systemctl --user daemon-reload', `systemctl --user enable --now ${TIMER_NAME}`];
  const reload = await systemctl(['daemon-reload']);
  const why = unavailable(reload) ?? (reload.code !== 0 ? `systemctl --user daemon-reload failed: ${stderrTail(reload)}` : undefined);
  if (why) return { service, timer, active: false, problem: why, manual };
  const en = await systemctl(['enable', '--now', TIMER_NAME]);
  if (en.code !== 0) return { service, timer, active: false, problem: unavailable(en) ?? `systemctl --user enable --now ${TIMER_NAME} failed: ${stderrTail(en)}`, manual: manual.slice(1) };
  return { service, timer, active: true, manual: [] };
}

export interface DisableResult {
  removed: string[];
  /** systemctl stopped and disabled the timer (false: only the files were removed). */
  stopped: boolean;
  problem?: string;
}

export async function disableSchedule(o: ScheduleOptions = {}): Promise<DisableResult> {
  const dir = userUnitDir(o.env);
  const systemctl = o.systemctl ?? systemctlUser;
  const dis = await systemctl(['disable', '--now', TIMER_NAME]);
  const problem = unavailable(dis) ?? (dis.code !== 0 && !/not loaded|does not exist|No such file/i.test(dis.stderr) ? stderrTail(dis) : undefined);
  const removed: string[] = [];
  for (const f of [join(dir, 'timers.target.wants', TIMER_NAME), join(dir, TIMER_NAME), join(dir, SERVICE_NAME)]) {
    try {
      await rm(f);
      removed.push(f);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  }
  if (!problem) await systemctl(['daemon-reload']);
  return { removed, stopped: !problem, ...(problem ? { problem } : {}) };
}

export interface ScheduleStatus {
  /** The unit files are written. */
  installed: boolean;
  /** The unit files are ours and current for this command. */
  current: boolean;
  /** From systemctl: `enabled`, `disabled`, … or undefined when it could not be asked. */
  enabled?: string;
  active?: string;
  /** Next and last run as systemctl prints them. */
  next?: string;
  last?: string;
  lastResult?: string;
  problem?: string;
}

export async function scheduleStatus(command: readonly string[], o: ScheduleOptions = {}): Promise<ScheduleStatus> {
  const dir = userUnitDir(o.env);
  const systemctl = o.systemctl ?? systemctlUser;
  const read = (f: string) => readFile(join(dir, f), 'utf8').catch(() => undefined);
  const [svc, tmr] = await Promise.all([read(SERVICE_NAME), read(TIMER_NAME)]);
  const st: ScheduleStatus = { installed: svc !== undefined && tmr !== undefined, current: svc === renderService(command) && tmr === renderTimer() };
  const en = await systemctl(['is-enabled', TIMER_NAME]);
  if (en.missing) return { ...st, problem: 'systemctl is not installed' };
  // is-enabled reads the unit files (it works without a user manager); the rest needs one.
  st.enabled = en.stdout.trim() || (st.installed ? 'unknown' : 'not-found');
  const act = await systemctl(['is-active', TIMER_NAME]);
  const why = unavailable(act);
  if (why) return { ...st, problem: why };
  st.active = act.stdout.trim() || 'unknown';
  const props = (r: ToolResult) => Object.fromEntries(r.stdout.split('\n').map((l) => l.split('=')).filter((kv) => kv.length >= 2).map(([k, ...v]) => [k!, v.join('=')]));
  const t = props(await systemctl(['show', TIMER_NAME, '-p', 'NextElapseUSecRealtime', '-p', 'LastTriggerUSec']));
  const s = props(await systemctl(['show', SERVICE_NAME, '-p', 'Result', '-p', 'ExecMainStatus']));
  if (t.NextElapseUSecRealtime) st.next = t.NextElapseUSecRealtime;
  if (t.LastTriggerUSec && t.LastTriggerUSec !== 'n/a') st.last = t.LastTriggerUSec;
  if (s.Result) st.lastResult = `${s.Result}${s.ExecMainStatus && s.ExecMainStatus !== '0' ? ` (exit ${s.ExecMainStatus})` : ''}`;
  return st;
}
