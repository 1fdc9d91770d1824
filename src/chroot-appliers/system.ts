/**
 * System settings in the target: hostname, timezone, locale, keyboard (and
 * the GPU driver, in gpu.ts). Each applier edits the target's own files in
 * place — lines it does not own are kept — writes atomically through
 * safe-path, and runs the package's own tool (dpkg-reconfigure, locale-gen)
 * in the chroot only when something changed, so a second run is a no-op.
 * A missing helper package (tzdata, locales) is installed with aptInstall.
 */
import { readlink } from 'node:fs/promises';
import type { ApplyContext, StepApplier } from './applier.ts';
import { aptInstall } from './apt.ts';
import { errorSummary, installedPackages, runInTarget } from './chroot-commands.ts';
import { hostPath, isTargetFile, readTargetText, symlinkInTarget, targetEntry, writeTargetFile } from './target-files.ts';
import { isHostname } from '../manifest/validate.ts';

const one = (progress: Parameters<StepApplier>[2]) => progress({ bytes: 0, items: 1 });

// ---------------------------------------------------------------------------
// hostname

const DEFAULT_HOSTS = '127.0.0.1\tlocalhost\n\n# The following lines are desirable for IPv6 capable hosts\n::1     localhost ip6-localhost ip6-loopback\nff02::1 ip6-allnodes\nff02::2 ip6-allrouters\n';

/**
 * /etc/hosts with its `127.0.1.1` line naming `name` (FQDN first, then the
 * short name): the first such line is replaced, later duplicates dropped;
 * without one it is added after the last 127.0.0.1 line. The rest is kept.
 */
export function setHostsEntry(hosts: string, name: string): string {
  const short = name.split('.')[0]!;
  const entry = `127.0.1.1\t${short === name ? name : `${name} ${short}`}`;
  const lines = hosts.split('\n');
  const trailing = lines.length > 0 && lines[lines.length - 1] === '';
  if (trailing) lines.pop();
  const is1271 = (l: string) => /^\s*127\.0\.1\.1(\s|$)/.test(l);
  const first = lines.findIndex(is1271);
  let out: string[];
  if (first >= 0) {
    out = lines.flatMap((l, i) => (i === first ? [entry] : is1271(l) ? [] : [l]));
  } else {
    let after = -1;
    lines.forEach((l, i) => {
      if (/^\s*127\.0\.0\.1\s/.test(l)) after = i;
    });
    out = [...lines.slice(0, after + 1), entry, ...lines.slice(after + 1)];
  }
  return `${out.join('\n')}\n`;
}

export const applyHostname: StepApplier = async (_step, ctx, progress) => {
  const name = (ctx.choice.hostname || ctx.manifest.snapshot.hostname || '').trim();
  if (!isHostname(name)) return { status: 'failed', message: `${JSON.stringify(name)} is not a valid hostname` };
  const root = ctx.target.root;
  const short = name.split('.')[0]!;
  const a = await writeTargetFile(root, '/etc/hostname', `${short}\n`, { mode: 0o644 });
  const hosts = (await readTargetText(root, '/etc/hosts')) ?? DEFAULT_HOSTS;
  const b = await writeTargetFile(root, '/etc/hosts', setHostsEntry(hosts, name), { mode: 0o644 });
  one(progress);
  return { status: 'done', message: a || b ? `hostname set to ${name}` : `hostname already ${name}` };
};

// ---------------------------------------------------------------------------
// timezone

const ZONE = /^[A-Za-z0-9_+-]+(\/[A-Za-z0-9_+-]+)*$/;

async function symlinkTargetOf(root: string, path: string): Promise<string | undefined> {
  if ((await targetEntry(root, path)) !== 'symlink') return undefined;
  return readlink(await hostPath(root, path, false));
}

/** debconf-set-selections input for tzdata's questions. */
function tzdataSelections(zone: string): string {
  const slash = zone.indexOf('/');
  if (slash < 0) return '';
  const area = zone.slice(0, slash);
  return `tzdata tzdata/Areas select ${area}\ntzdata tzdata/Zones/${area} select ${zone.slice(slash + 1)}\n`;
}

export const applyTimezone: StepApplier = async (_step, ctx, progress) => {
  const zone = ctx.manifest.system?.timezone;
  if (!zone) return { status: 'done', message: 'no timezone in the snapshot' };
  if (!ZONE.test(zone) || zone.split('/').some((c) => c === '..' || c === '.')) {
    return { status: 'failed', message: `${JSON.stringify(zone)} is not a timezone name` };
  }
  const root = ctx.target.root;
  const zoneFile = `/usr/share/zoneinfo/${zone}`;
  const details: string[] = [];
  if (!(await isTargetFile(root, zoneFile))) {
    const r = await aptInstall(ctx, ['tzdata'], undefined, { noRecommends: true });
    details.push(...r.details);
    if (!(await isTargetFile(root, zoneFile))) {
      return {
        status: 'failed',
        message: r.installed.length || r.present.length ? `timezone ${zone} does not exist in the target's tzdata` : `tzdata could not be installed; timezone ${zone} not set`,
        ...(details.length ? { details } : {}),
      };
    }
  }
  const link = zoneFile;
  const isSet = async () => (await symlinkTargetOf(root, '/etc/localtime')) === link && (await readTargetText(root, '/etc/timezone')) === `${zone}\n`;
  if (await isSet()) {
    one(progress);
    return { status: 'done', message: `timezone already ${zone}` };
  }
  await symlinkInTarget(root, '/etc/localtime', link);
  await writeTargetFile(root, '/etc/timezone', `${zone}\n`, { mode: 0o644 });
  if ((await installedPackages(ctx, ['tzdata'])).has('tzdata')) {
    const sel = tzdataSelections(zone);
    if (sel) await runInTarget(ctx, ['debconf-set-selections'], { stdin: sel });
    const r = await runInTarget(ctx, ['dpkg-reconfigure', '-f', 'noninteractive', 'tzdata']);
    if (r.code !== 0) details.push(`dpkg-reconfigure tzdata: ${errorSummary(r)}`);
    if (!(await isSet())) {
      // The package's scripts chose otherwise: the snapshot wins.
      await symlinkInTarget(root, '/etc/localtime', link);
      await writeTargetFile(root, '/etc/timezone', `${zone}\n`, { mode: 0o644 });
    }
  }
  one(progress);
  return { status: 'done', message: `timezone set to ${zone}`, ...(details.length ? { details } : {}) };
};

// ---------------------------------------------------------------------------
// locale

const LOCALE = /^[A-Za-z]{2,3}(_[A-Za-z]{2})?(\.[A-Za-z0-9-]+)?(@[A-Za-z0-9]+)?$/;
const C_LOCALES = new Set(['C', 'POSIX', 'C.UTF-8', 'C.utf8']);

/** glibc's normal form of a locale name: codeset lowercased without punctuation (`pt_BR.UTF-8` → `pt_BR.utf8`). */
export function normalizeLocale(name: string): string {
  const m = /^([^.@]+)(?:\.([^@]+))?(@.+)?$/.exec(name);
  if (!m) return name;
  const codeset = m[2] ? `.${m[2].toLowerCase().replace(/[^a-z0-9]/g, '')}` : '';
  return `${m[1]}${codeset}${m[3] ?? ''}`;
}

/**
 * /etc/locale.gen with `entry` ("pt_BR.UTF-8 UTF-8") enabled: a commented
 * line for it is uncommented, else the entry is appended. Other lines kept.
 */
export function enableLocaleGen(text: string, entry: string): string {
  const [name, charset] = entry.split(/\s+/);
  const lines = text === '' ? [] : text.replace(/\n$/, '').split('\n');
  const fields = (l: string) => l.replace(/^\s*#\s*/, '').trim().split(/\s+/);
  const matches = (l: string) => {
    const f = fields(l);
    return f.length === 2 && f[0] === name && f[1] === charset;
  };
  if (lines.some((l) => !/^\s*#/.test(l) && matches(l))) return `${lines.join('\n')}\n`;
  const i = lines.findIndex((l) => /^\s*#/.test(l) && matches(l));
  if (i >= 0) lines[i] = entry;
  else lines.push(entry);
  return `${lines.join('\n')}\n`;
}

/**
 * A shell-variable file (`/etc/default/locale`, `/etc/default/keyboard`)
 * with `vars` set: existing assignments replaced in place (duplicates
 * dropped), new ones appended; every other line kept.
 */
export function setShellVars(text: string, vars: Record<string, string>, quote: boolean): string {
  const lines = text === '' ? [] : text.replace(/\n$/, '').split('\n');
  const done = new Set<string>();
  const out: string[] = [];
  const fmt = (k: string, v: string) => `${k}=${quote ? `"${v}"` : v}`;
  let lastVar = -1;
  for (const l of lines) {
    const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=/.exec(l);
    const k = m?.[1];
    if (k !== undefined && Object.hasOwn(vars, k)) {
      if (done.has(k)) continue;
      done.add(k);
      out.push(fmt(k, vars[k]!));
      lastVar = out.length - 1;
      continue;
    }
    out.push(l);
  }
  const missing = Object.keys(vars).filter((k) => !done.has(k));
  out.splice(lastVar + 1 || out.length, 0, ...missing.map((k) => fmt(k, vars[k]!)));
  return `${out.join('\n')}\n`;
}

/** The SUPPORTED line ("pt_BR.UTF-8 UTF-8") for a locale name, by glibc's normal form. */
export function findSupported(supported: string, locale: string): string | undefined {
  const want = normalizeLocale(locale);
  for (const line of supported.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length === 2 && f[0] && normalizeLocale(f[0]) === want) return `${f[0]} ${f[1]}`;
  }
  return undefined;
}

async function generatedLocales(ctx: ApplyContext): Promise<Set<string>> {
  const r = await runInTarget(ctx, ['localedef', '--list-archive']);
  return new Set(r.stdout.split('\n').map((l) => normalizeLocale(l.trim())).filter(Boolean));
}

export const applyLocale: StepApplier = async (_step, ctx, progress) => {
  const locale = ctx.manifest.system?.locale;
  if (!locale) return { status: 'done', message: 'no locale in the snapshot' };
  if (!LOCALE.test(locale) && !C_LOCALES.has(locale)) return { status: 'failed', message: `${JSON.stringify(locale)} is not a locale name` };
  const root = ctx.target.root;
  const details: string[] = [];
  const setDefault = async (name: string) => {
    const cur = (await readTargetText(root, '/etc/default/locale')) ?? '';
    return writeTargetFile(root, '/etc/default/locale', setShellVars(cur, { LANG: name }, false), { mode: 0o644 });
  };
  if (C_LOCALES.has(locale)) {
    const changed = await setDefault(locale);
    one(progress);
    return { status: 'done', message: changed ? `locale set to ${locale}` : `locale already ${locale}` };
  }

  const haveLocales = async () => (await isTargetFile(root, '/usr/share/i18n/SUPPORTED')) && (await isTargetFile(root, '/usr/sbin/locale-gen'));
  if (!(await haveLocales())) {
    const r = await aptInstall(ctx, ['locales'], undefined, { noRecommends: true });
    details.push(...r.details);
    if (!(await haveLocales())) {
      return { status: 'failed', message: `the locales package could not be installed; locale ${locale} not set`, ...(details.length ? { details } : {}) };
    }
  }
  const entry = findSupported((await readTargetText(root, '/usr/share/i18n/SUPPORTED')) ?? '', locale);
  if (!entry) return { status: 'failed', message: `${locale} is not a locale the target supports (/usr/share/i18n/SUPPORTED)` };
  const name = entry.split(' ')[0]!;

  const gen = (await readTargetText(root, '/etc/locale.gen')) ?? '';
  const genChanged = await writeTargetFile(root, '/etc/locale.gen', enableLocaleGen(gen, entry), { mode: 0o644 });
  let generated = await generatedLocales(ctx);
  let ran = false;
  if (genChanged || !generated.has(normalizeLocale(name))) {
    const r = await runInTarget(ctx, ['locale-gen']);
    ran = true;
    if (r.code !== 0) details.push(`locale-gen: ${errorSummary(r)}`);
    generated = await generatedLocales(ctx);
  }
  if (!generated.has(normalizeLocale(name))) {
    return { status: 'failed', message: `locale ${name} could not be generated`, ...(details.length ? { details } : {}) };
  }
  const defChanged = await setDefault(name);
  one(progress);
  return {
    status: 'done',
    message: ran || defChanged || genChanged ? `locale set to ${name}` : `locale already ${name}`,
    ...(details.length ? { details } : {}),
  };
};

// ---------------------------------------------------------------------------
// keyboard

export interface XkbSettings {
  XKBMODEL: string;
  XKBLAYOUT: string;
  XKBVARIANT: string;
  XKBOPTIONS: string;
}

const XKB_WORD = /^[A-Za-z0-9_-]+$/;
const XKB_LIST = /^[A-Za-z0-9_:,+.-]*$/;

/**
 * The manifest's keyboard (`br`, `us(intl)`, `us,br`, `us(intl),br(abnt2)`)
 * as XKB layout and variant lists. Undefined when it is not of that form
 * (the values end up in a file the shell sources).
 */
export function parseKeyboard(kb: string): { layout: string; variant: string } | undefined {
  const layouts: string[] = [];
  const variants: string[] = [];
  for (const part of kb.split(',')) {
    const m = /^\s*([A-Za-z0-9_-]+)\s*(?:\(\s*([A-Za-z0-9_-]*)\s*\))?\s*$/.exec(part);
    if (!m) return undefined;
    layouts.push(m[1]!);
    variants.push(m[2] ?? '');
  }
  return { layout: layouts.join(','), variant: variants.some(Boolean) ? variants.join(',') : '' };
}

const DEFAULT_KEYBOARD = '# KEYBOARD CONFIGURATION FILE\n\n# Consult the keyboard(5) manual page.\n\nXKBMODEL="pc105"\nXKBLAYOUT="us"\nXKBVARIANT=""\nXKBOPTIONS=""\n\nBACKSPACE="guess"\n';

function shellVar(text: string, name: string): string | undefined {
  let v: string | undefined;
  for (const l of text.split('\n')) {
    const m = new RegExp(`^\\s*${name}=(.*)$`).exec(l);
    if (m) v = m[1]!.trim().replace(/^"(.*)"$/, '$1').replace(/^'(.*)'$/, '$1');
  }
  return v;
}

export const applyKeyboard: StepApplier = async (_step, ctx, progress) => {
  const sys = ctx.manifest.system;
  if (!sys?.keyboard) return { status: 'done', message: 'no keyboard in the snapshot' };
  const parsed = parseKeyboard(sys.keyboard);
  if (!parsed) return { status: 'failed', message: `${JSON.stringify(sys.keyboard)} is not an XKB layout` };
  const root = ctx.target.root;
  const cur = (await readTargetText(root, '/etc/default/keyboard')) ?? DEFAULT_KEYBOARD;
  const model = sys.keyboard_model ?? shellVar(cur, 'XKBMODEL') ?? 'pc105';
  const options = sys.keyboard_options ?? shellVar(cur, 'XKBOPTIONS') ?? '';
  if (!XKB_WORD.test(model) || !XKB_LIST.test(options)) {
    return { status: 'failed', message: `keyboard model ${JSON.stringify(model)} / options ${JSON.stringify(options)} are not XKB names` };
  }
  const want: XkbSettings = { XKBMODEL: model, XKBLAYOUT: parsed.layout, XKBVARIANT: parsed.variant, XKBOPTIONS: options };
  const text = setShellVars(cur, { ...want }, true);
  const changed = await writeTargetFile(root, '/etc/default/keyboard', text, { mode: 0o644 });
  const details: string[] = [];
  if (changed && (await installedPackages(ctx, ['keyboard-configuration'])).has('keyboard-configuration')) {
    // Let the package see the new values (console keymap, initramfs), then
    // make sure its scripts kept them.
    const q = (k: string, v: string) => `keyboard-configuration keyboard-configuration/${k} string ${v}\n`;
    await runInTarget(ctx, ['debconf-set-selections'], {
      stdin: q('modelcode', model) + q('layoutcode', parsed.layout) + q('variantcode', parsed.variant) + q('optionscode', options),
    });
    const r = await runInTarget(ctx, ['dpkg-reconfigure', '-f', 'noninteractive', 'keyboard-configuration']);
    if (r.code !== 0) details.push(`dpkg-reconfigure keyboard-configuration: ${errorSummary(r)}`);
    const after = (await readTargetText(root, '/etc/default/keyboard')) ?? '';
    const ours = setShellVars(after, { ...want }, true);
    if (ours !== after) await writeTargetFile(root, '/etc/default/keyboard', ours, { mode: 0o644 });
  }
  one(progress);
  const label = `${parsed.layout}${parsed.variant ? ` (${parsed.variant})` : ''}`;
  return { status: 'done', message: changed ? `keyboard set to ${label}` : `keyboard already ${label}`, ...(details.length ? { details } : {}) };
};
