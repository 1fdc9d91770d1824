/**
 * apt packages the person chose: `apt-mark showmanual`, minus the packages a
 * fresh install already has (the base list), so a restore installs what the
 * person added and not the whole previous system.
 *
 * Base list, first found:
 * 1. `[apps] apt_base_list` — a file of package names (one a line, `#`
 *    comments, extra columns ignored: `dpkg-query -W` output works), or a
 *    dpkg status file, gzipped or not;
 * 2. `/var/log/installer/initial-status.gz` under the root — the dpkg status
 *    the Debian installer (and Ubuntu's) saved at the end of the
 *    installation: exactly what a fresh install of that release had.
 * Without one, every manually installed package is kept (a restore of an
 * already-installed package is a no-op, so this is only slower, never wrong).
 */
import { readFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import { manifestProblem, type CollectContext } from '../context.ts';
import { expandHome, inRoot } from '../paths.ts';
import { runTool, stderrTail } from '../run-tool.ts';

export const INSTALLER_STATUS = '/var/log/installer/initial-status.gz';

/** Package names of a base list: dpkg status (installed packages) or one name a line. */
export function parseBaseList(bytes: Buffer): Set<string> {
  const text = (bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes) : bytes).toString('utf8');
  const names = new Set<string>();
  if (/^Package:/m.test(text)) {
    for (const para of text.split(/\n\s*\n/)) {
      const pkg = /^Package:\s*(\S+)/m.exec(para)?.[1];
      const status = /^Status:\s*(.*)$/m.exec(para)?.[1];
      if (pkg && (!status || /\binstalled$/.test(status.trim()))) names.add(pkg);
    }
    return names;
  }
  for (const line of text.split('\n')) {
    const name = line.replace(/#.*/, '').trim().split(/\s+/)[0];
    if (name) names.add(name);
  }
  return names;
}

async function baseList(ctx: CollectContext): Promise<{ names: Set<string>; from: string } | undefined> {
  const candidates = ctx.config.apps.apt_base_list ? [expandHome(ctx.config.apps.apt_base_list, ctx.home)] : [inRoot(ctx.root, INSTALLER_STATUS)];
  for (const file of candidates) {
    try {
      return { names: parseBaseList(await readFile(file)), from: file };
    } catch (e) {
      if (ctx.config.apps.apt_base_list) ctx.warn(`apt base list ${file}: ${(e as Error).message}; keeping every manually installed package`);
    }
  }
  return undefined;
}

export async function collectApt(ctx: CollectContext): Promise<{ packages: string[]; base?: string }> {
  const args = ctx.root === '/' ? ['showmanual'] : ['-o', `Dir=${ctx.root}`, '-o', `Dir::State::status=${inRoot(ctx.root, '/var/lib/dpkg/status')}`, 'showmanual'];
  const r = await runTool('apt-mark', args);
  if (r.missing) return { packages: [] };
  if (r.code !== 0) {
    ctx.warn(`apt-mark showmanual failed (${stderrTail(r)}); apt packages left out`);
    return { packages: [] };
  }
  const base = await baseList(ctx);
  const out = new Set<string>();
  for (const name of r.stdout.split('\n').map((l) => l.trim()).filter(Boolean)) {
    if (base && (base.names.has(name) || base.names.has(name.replace(/:[a-z0-9-]+$/, '')))) continue;
    const problem = manifestProblem({ apps: { apt: [name] } });
    if (problem) ctx.warn(`apt: ${problem}; left out`);
    else out.add(name);
  }
  return { packages: [...out].sort(), ...(base ? { base: base.from } : {}) };
}
