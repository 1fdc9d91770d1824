/**
 * The app's Schedule screen: the weekly backup is the CLI's systemd user
 * timer (src/capture/schedule.ts: the same unit files, the same command),
 * turned on and off here and shown with its next run — systemd's answer, or
 * our reading of `OnCalendar=weekly` (Monday 00:00, up to an hour later)
 * when the user manager cannot be asked (the files are written either way,
 * and the page says what finishes the job). What a backup includes
 * (categories, folders, skip patterns) is edited into config.toml, checked
 * by the config's own rules before it is written (atomically), and the
 * effective configuration is shown as `koder-snapshot config` prints it.
 */
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { mkdir } from 'node:fs/promises';
import { parse as parseToml, stringify as stringifyToml } from 'smol-toml';
import { configFile, configToToml, disableSchedule, enableSchedule, mergeConfig, scheduleStatus, selfCommand } from '../../capture/index.ts';
import { ConfigError } from '../../capture/errors.ts';
import { writeFileAtomic } from '../../util/atomic-write.ts';
import { CodedError } from '../../util/coded-error.ts';
import type { ConfigView, IncludeView, ScheduleView } from './contract.ts';
import type { AppSession } from './session.ts';

/** The next `OnCalendar=weekly` after `now`: Monday 00:00 local time. */
export function nextWeekly(now: Date): Date {
  const d = new Date(now.getFullYear(), now.getMonth(), now.getDate());
  const days = (8 - d.getDay()) % 7 || 7; // getDay: 0 Sunday … 1 Monday
  d.setDate(d.getDate() + days);
  return d;
}

/** systemctl's `Mon 2026-05-04 00:17:21 -03` → epoch ms (local time), or undefined. */
export function parseSystemdTime(text: string | undefined): number | undefined {
  const m = text ? /(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})/.exec(text) : null;
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s] = m.map(Number) as number[];
  return new Date(y!, mo! - 1, d!, h!, mi!, s!).getTime();
}

const opts = (s: AppSession) => ({ env: s.env, ...(s.cfg.systemctl ? { systemctl: s.cfg.systemctl } : {}) });

export async function scheduleView(s: AppSession, now = new Date()): Promise<ScheduleView> {
  const st = await scheduleStatus(selfCommand(), opts(s));
  const enabled = st.installed && (st.enabled === undefined || st.enabled === 'enabled' || st.enabled === 'unknown' || Boolean(st.problem));
  const view: ScheduleView = { enabled };
  if (!enabled) return view;
  const next = parseSystemdTime(st.next);
  if (next) view.nextAt = next;
  else {
    view.nextAt = nextWeekly(now).getTime();
    view.nextEstimated = true;
  }
  const last = parseSystemdTime(st.last);
  if (last) view.lastAt = last;
  if (st.lastResult) view.lastResult = st.lastResult;
  if (st.problem) view.problem = st.problem;
  return view;
}

export async function setSchedule(s: AppSession, body: { enabled?: unknown }): Promise<ScheduleView> {
  if (typeof body?.enabled !== 'boolean') throw new CodedError('app_bad_request', 'enabled: true or false');
  if (body.enabled) {
    const r = await enableSchedule(selfCommand(), opts(s));
    const view = await scheduleView(s);
    return r.active ? view : { ...view, ...(r.problem ? { problem: r.problem } : {}), manual: r.manual };
  }
  const r = await disableSchedule(opts(s));
  const view = await scheduleView(s);
  return r.problem ? { ...view, problem: r.problem } : view;
}

export async function configView(s: AppSession): Promise<ConfigView> {
  const { config, file } = await s.config();
  return {
    file: file ?? configFile(s.env),
    exists: file !== undefined,
    include: { categories: [...config.snapshot.categories], folders: [...config.files.folders], skips: [...config.skips.patterns] },
    effective: configToToml(config),
  };
}

function strings(x: unknown, what: string, o: { path?: boolean } = {}): string[] {
  if (!Array.isArray(x) || x.some((v) => typeof v !== 'string')) throw new CodedError('app_bad_request', `${what}: a list of text`);
  const out = (x as string[]).map((v) => v.trim()).filter(Boolean);
  if (out.length > 256) throw new CodedError('app_bad_request', `${what}: at most 256`);
  for (const v of out) {
    if (v.length > 4096 || v.includes('\0') || v.includes('\n')) throw new CodedError('app_bad_request', `${what}: ${JSON.stringify(v.slice(0, 40))} is not a usable entry`);
    if (o.path && !(v === '~' || v.startsWith('~/') || v.startsWith('/'))) throw new CodedError('app_bad_request', `${what}: ${JSON.stringify(v)} must start with ~/ or /`);
  }
  return [...new Set(out)];
}

/**
 * Writes what a backup includes into config.toml (the other keys as they
 * were), after the config's own checks: an invalid value is refused naming
 * the key, and the file is not touched.
 */
export async function saveInclude(s: AppSession, body: Partial<IncludeView>): Promise<ConfigView> {
  const folders = strings(body?.folders, 'folders', { path: true });
  const skips = strings(body?.skips, 'skips');
  const categories = body?.categories;
  const file = configFile(s.env);
  let data: Record<string, unknown> = {};
  const text = await readFile(file, 'utf8').catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return undefined;
    throw e;
  });
  if (text !== undefined) {
    try {
      data = parseToml(text) as Record<string, unknown>;
    } catch (e) {
      throw new ConfigError(file, '', `not valid TOML: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  const table = (k: string) => ((data[k] && typeof data[k] === 'object' && !Array.isArray(data[k]) ? data[k] : (data[k] = {})) as Record<string, unknown>);
  table('snapshot').categories = categories;
  table('files').folders = folders;
  table('skips').patterns = skips;
  mergeConfig(data, file, s.env); // throws ConfigError naming the key; nothing written
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  const header = '# koder-snapshot capture configuration (docs/config.md). [snapshot] categories, [files] folders and\n# [skips] patterns are edited by the Backup app; `koder-snapshot config` prints the effective configuration.\n\n';
  await writeFileAtomic(file, header + stringifyToml(data) + '\n', { mode: 0o600 });
  s.bump();
  return configView(s);
}
