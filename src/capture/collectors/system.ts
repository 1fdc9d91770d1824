/**
 * [system]: timezone, locale, keyboard and GPU driver from the Debian files
 * under the root, and the person's changed desktop settings (gsettings.ts).
 *
 * - timezone: `/etc/timezone`, else the target of the `/etc/localtime` link
 *   (`…/zoneinfo/America/Sao_Paulo`);
 * - locale: `LANG` of `/etc/default/locale` (else `/etc/locale.conf`);
 * - keyboard: `/etc/default/keyboard` (XKBLAYOUT + XKBVARIANT → `br(abnt2)`,
 *   `us,br(abnt2)`; XKBMODEL, XKBOPTIONS);
 * - gpu_driver: the kernel driver bound to the display controller (PCI class
 *   0x03…) in `/sys/bus/pci/devices`, a discrete GPU's preferred over an
 *   integrated one.
 */
import { readdir, readFile, readlink } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { SystemSection } from '../../manifest/types.ts';
import { manifestProblem, type CollectContext } from '../context.ts';
import { inRoot } from '../paths.ts';
import { collectGsettings } from './gsettings.ts';

async function readText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** `KEY=value` / `KEY="value"` lines of a shell-style defaults file. */
export function parseShellVars(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (!m) continue;
    let v = m[2]!.trim();
    if ((v.startsWith('"') && v.endsWith('"') && v.length >= 2) || (v.startsWith("'") && v.endsWith("'") && v.length >= 2)) v = v.slice(1, -1);
    out[m[1]!] = v;
  }
  return out;
}

/** XKB layouts and variants (comma lists) → `us,br(abnt2)`. */
export function xkbKeyboard(layout: string, variant = ''): string | undefined {
  const layouts = layout.split(',').map((s) => s.trim());
  const variants = variant.split(',').map((s) => s.trim());
  if (layouts.every((l) => l === '')) return undefined;
  return layouts.map((l, i) => (variants[i] ? `${l}(${variants[i]})` : l)).join(',');
}

export async function readTimezone(root: string): Promise<string | undefined> {
  const tz = (await readText(inRoot(root, '/etc/timezone')))?.split('\n')[0]?.trim();
  if (tz) return tz;
  try {
    const link = await readlink(inRoot(root, '/etc/localtime'));
    const i = link.indexOf('zoneinfo/');
    if (i >= 0) return link.slice(i + 'zoneinfo/'.length).replace(/^(posix|right)\//, '');
  } catch {
    // Not a link (a copied zone file): the zone name is not recoverable.
  }
  return undefined;
}

export async function readLocale(root: string): Promise<string | undefined> {
  for (const f of ['/etc/default/locale', '/etc/locale.conf']) {
    const t = await readText(inRoot(root, f));
    const lang = t ? parseShellVars(t).LANG : undefined;
    if (lang) return lang;
  }
  return undefined;
}

/** Preference when several display controllers have drivers: the discrete one is the one to restore. */
const GPU_PREFERENCE = ['nvidia', 'amdgpu', 'radeon', 'nouveau', 'i915', 'xe'];

export async function readGpuDriver(root: string): Promise<string | undefined> {
  const dir = inRoot(root, '/sys/bus/pci/devices');
  let devices: string[];
  try {
    devices = await readdir(dir);
  } catch {
    return undefined;
  }
  const drivers: string[] = [];
  for (const d of devices.sort()) {
    try {
      const cls = (await readFile(join(dir, d, 'class'), 'utf8')).trim().toLowerCase();
      if (!/^0x03[0-9a-f]{4}$/.test(cls)) continue;
      drivers.push(basename(await readlink(join(dir, d, 'driver'))));
    } catch {
      // No driver bound (or the device vanished).
    }
  }
  const rank = (x: string) => (GPU_PREFERENCE.includes(x) ? GPU_PREFERENCE.indexOf(x) : GPU_PREFERENCE.length);
  return drivers.sort((a, b) => rank(a) - rank(b))[0];
}

export async function collectSystem(ctx: CollectContext): Promise<SystemSection> {
  const sys: SystemSection = {};
  const put = (key: keyof SystemSection & string, value: string | undefined) => {
    if (value === undefined || value === '') return;
    const problem = manifestProblem({ system: { [key]: value } });
    if (problem) ctx.warn(`system: ${problem}; left out`);
    else (sys as Record<string, unknown>)[key] = value;
  };
  put('timezone', await readTimezone(ctx.root));
  put('locale', await readLocale(ctx.root));
  const kb = await readText(inRoot(ctx.root, '/etc/default/keyboard'));
  if (kb) {
    const v = parseShellVars(kb);
    put('keyboard', xkbKeyboard(v.XKBLAYOUT ?? '', v.XKBVARIANT ?? ''));
    put('keyboard_model', v.XKBMODEL);
    put('keyboard_options', v.XKBOPTIONS);
  }
  put('gpu_driver', await readGpuDriver(ctx.root));
  const gs = await collectGsettings(ctx);
  if (Object.keys(gs).length) sys.gsettings = gs;
  return sys;
}
