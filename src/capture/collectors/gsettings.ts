/**
 * The person's desktop settings: only what differs from the defaults, minus
 * volatile state (`[system] gsettings_exclude`, `SCHEMA:KEY` globs).
 *
 * - `gsettings` (preferred): `gsettings list-recursively` as the person, and
 *   again with `GSETTINGS_BACKEND=memory` (the defaults, vendor overrides
 *   included); a key whose value differs is a setting the person made.
 * - `dconf`: `dconf dump /` (only what was written); the path
 *   `/org/gnome/desktop/interface/` becomes the schema id
 *   `org.gnome.desktop.interface` (right for every non-relocatable schema).
 * - neither tool: no settings.
 * Values are GVariant text as `gsettings get` prints it, which is what the
 * restore hands to `gsettings set`.
 */
import type { GSettings } from '../../manifest/types.ts';
import { manifestProblem, type CollectContext } from '../context.ts';
import { globMatch } from '../glob.ts';
import { runTool, stderrTail } from '../run-tool.ts';

/** `schema key value` lines → schema → key → value. */
export function parseListRecursively(text: string): GSettings {
  const out: GSettings = {};
  for (const line of text.split('\n')) {
    const m = /^(\S+) (\S+) (.*)$/.exec(line);
    if (!m) continue;
    (out[m[1]!] ??= {})[m[2]!] = m[3]!;
  }
  return out;
}

/** `dconf dump /` keyfile → schema id → key → value. */
export function parseDconfDump(text: string): GSettings {
  const out: GSettings = {};
  let schema: string | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trimEnd();
    const sec = /^\[(.*)\]$/.exec(line);
    if (sec) {
      const path = sec[1]!.replace(/^\/+|\/+$/g, '');
      schema = path === '' ? undefined : path.split('/').join('.');
      continue;
    }
    const kv = /^([^=\s]+)=(.*)$/.exec(line);
    if (kv && schema) (out[schema] ??= {})[kv[1]!] = kv[2]!;
  }
  return out;
}

export function isExcluded(excludes: readonly string[], schema: string, key: string): boolean {
  return excludes.some((p) => {
    const i = p.lastIndexOf(':');
    return i > 0 ? globMatch(p.slice(0, i), schema) && globMatch(p.slice(i + 1), key) : globMatch(p, schema);
  });
}

export async function collectGsettings(ctx: CollectContext): Promise<GSettings> {
  const method = ctx.config.system.gsettings;
  if (method === 'none') return {};
  let changed: GSettings | undefined;
  if (method === 'auto' || method === 'gsettings') {
    const mine = await runTool('gsettings', ['list-recursively'], { env: ctx.userEnv });
    if (!mine.missing) {
      if (mine.code !== 0) {
        ctx.warn(`gsettings list-recursively failed (${stderrTail(mine)}); desktop settings left out`);
        return {};
      }
      const defaults = await runTool('gsettings', ['list-recursively'], { env: { ...ctx.userEnv, GSETTINGS_BACKEND: 'memory' } });
      const base = defaults.code === 0 ? parseListRecursively(defaults.stdout) : {};
      changed = {};
      for (const [schema, keys] of Object.entries(parseListRecursively(mine.stdout))) {
        for (const [k, v] of Object.entries(keys)) if (base[schema]?.[k] !== v) (changed[schema] ??= {})[k] = v;
      }
    } else if (method === 'gsettings') {
      ctx.warn('gsettings is not installed; desktop settings left out');
      return {};
    }
  }
  if (!changed && (method === 'auto' || method === 'dconf')) {
    const dump = await runTool('dconf', ['dump', '/'], { env: ctx.userEnv });
    if (dump.missing) return {};
    if (dump.code !== 0) {
      ctx.warn(`dconf dump failed (${stderrTail(dump)}); desktop settings left out`);
      return {};
    }
    changed = parseDconfDump(dump.stdout);
  }
  const out: GSettings = {};
  for (const schema of Object.keys(changed ?? {}).sort()) {
    for (const key of Object.keys(changed![schema]!).sort()) {
      if (isExcluded(ctx.config.system.gsettings_exclude, schema, key)) continue;
      const value = changed![schema]![key]!;
      if (manifestProblem({ system: { gsettings: { [schema]: { [key]: value } } } })) continue;
      (out[schema] ??= {})[key] = value;
    }
  }
  return out;
}
