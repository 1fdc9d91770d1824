/**
 * Third-party apt sources, as deb822 text, with the keyring each one's
 * `Signed-By` names stored as a blob (restored to the same path).
 *
 * Read: `/etc/apt/sources.list.d/*.sources` (deb822), `*.list` and
 * `/etc/apt/sources.list` (one-line style, converted to deb822). A stanza is
 * the distribution's own — and left out, the new system has it — when every
 * URI's host matches `[apps] distro_hosts`; `cdrom:` stanzas and disabled
 * ones (`Enabled: no`) are left out too. The entry's name is the file's stem
 * (`sources.list` → `sources-list`).
 *
 * A source without `Signed-By` relies on a key in /etc/apt/trusted.gpg.d,
 * which is not captured (apt deprecates that); it is kept with a warning. An
 * inline `Signed-By` key block travels inside the deb822 text.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import type { AptSource, BlobRef } from '../../manifest/types.ts';
import { manifestProblem, type CollectContext } from '../context.ts';
import { matchesAny } from '../glob.ts';
import { inRoot } from '../paths.ts';

const SOURCES_DIR = '/etc/apt/sources.list.d';
const MAX_KEYRING = 16 * 1024 * 1024;

export interface Stanza {
  /** Field name (as written) → value (continuation lines joined with \n). */
  fields: Map<string, { key: string; value: string }>;
  /** The stanza's lines, comments removed. */
  text: string;
}

const get = (s: Stanza, key: string) => s.fields.get(key.toLowerCase())?.value;

/** deb822 stanzas (blank-line separated, `#` comment lines dropped). */
export function parseDeb822(text: string): Stanza[] {
  const out: Stanza[] = [];
  let lines: string[] = [];
  const flush = () => {
    if (lines.length === 0) return;
    const fields = new Map<string, { key: string; value: string }>();
    let last: { key: string; value: string } | undefined;
    for (const l of lines) {
      if (/^[ \t]/.test(l)) {
        if (last) last.value += `\n${l.trim()}`;
        continue;
      }
      const m = /^([^:\s]+):[ \t]*(.*)$/.exec(l);
      if (!m) continue;
      last = { key: m[1]!, value: m[2]!.trim() };
      fields.set(m[1]!.toLowerCase(), last);
    }
    out.push({ fields, text: lines.join('\n') + '\n' });
    lines = [];
  };
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '');
    if (line.trim() === '') flush();
    else if (!line.startsWith('#')) lines.push(line);
  }
  flush();
  return out;
}

const OPTION_FIELDS: Record<string, string> = {
  arch: 'Architectures',
  lang: 'Languages',
  target: 'Targets',
  pdiffs: 'PDiffs',
  'by-hash': 'By-Hash',
  'allow-insecure': 'Allow-Insecure',
  'allow-weak': 'Allow-Weak',
  'allow-downgrade-to-insecure': 'Allow-Downgrade-To-Insecure',
  trusted: 'Trusted',
  'signed-by': 'Signed-By',
  'check-valid-until': 'Check-Valid-Until',
  'valid-until-min': 'Valid-Until-Min',
  'valid-until-max': 'Valid-Until-Max',
  'check-date': 'Check-Date',
  'date-max-future': 'Date-Max-Future',
  'inrelease-path': 'InRelease-Path',
  snapshot: 'Snapshot',
};
const LIST_FIELDS = new Set(['Architectures', 'Languages', 'Targets', 'Signed-By']);

/** One-line sources (`deb [opts] URI SUITE COMPONENTS…`) → deb822 text; deb and deb-src of the same source share a stanza. */
export function oneLineToDeb822(text: string): string {
  const groups = new Map<string, { types: string[]; uri: string; suite: string; components: string[]; options: [string, string][] }>();
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*$/, '').trim();
    const m = /^(deb|deb-src)\s+(?:\[([^\]]*)\]\s*)?(\S+)\s+(\S+)(?:\s+(.*))?$/.exec(line);
    if (!m) continue;
    const options: [string, string][] = [];
    for (const opt of (m[2] ?? '').trim().split(/\s+/).filter(Boolean)) {
      const kv = /^([A-Za-z-]+?)[+-]?=(.*)$/.exec(opt);
      if (!kv) continue;
      const field = OPTION_FIELDS[kv[1]!.toLowerCase()] ?? kv[1]!;
      options.push([field, LIST_FIELDS.has(field) ? kv[2]!.split(',').join(' ') : kv[2]!]);
    }
    const components = (m[5] ?? '').split(/\s+/).filter(Boolean);
    const key = JSON.stringify([m[3], m[4], components, options]);
    const g = groups.get(key);
    if (g) {
      if (!g.types.includes(m[1]!)) g.types.push(m[1]!);
    } else groups.set(key, { types: [m[1]!], uri: m[3]!, suite: m[4]!, components, options });
  }
  return [...groups.values()]
    .map((g) =>
      [
        `Types: ${g.types.join(' ')}`,
        `URIs: ${g.uri}`,
        `Suites: ${g.suite}`,
        ...(g.components.length ? [`Components: ${g.components.join(' ')}`] : []),
        ...g.options.map(([k, v]) => `${k}: ${v}`),
      ].join('\n') + '\n',
    )
    .join('\n');
}

function hostOf(uri: string): string | undefined {
  try {
    const u = new URL(uri.replace(/^mirror\+/, '').replace(/^tor\+/, ''));
    return u.hostname || undefined;
  } catch {
    return undefined;
  }
}

/** Whether a stanza is one to capture: enabled, not a CD, and not only the distribution's own hosts. */
export function isThirdParty(s: Stanza, distroHosts: readonly string[]): boolean {
  if (/^no$/i.test(get(s, 'Enabled') ?? '')) return false;
  const uris = (get(s, 'URIs') ?? '').split(/\s+/).filter(Boolean);
  if (uris.length === 0) return false;
  if (uris.every((u) => u.startsWith('cdrom:'))) return false;
  return !uris.every((u) => {
    const h = hostOf(u);
    return h !== undefined && matchesAny(distroHosts, h);
  });
}

/** A file stem as a source name the manifest and the restore accept. */
export function sourceName(stem: string): string {
  let n = stem.replace(/[^A-Za-z0-9_.-]/g, '-');
  if (!/^[A-Za-z0-9]/.test(n)) n = `x${n}`;
  return n.slice(0, 200);
}

async function sourceFiles(root: string): Promise<{ path: string; name: string; deb822: boolean }[]> {
  const out: { path: string; name: string; deb822: boolean }[] = [{ path: '/etc/apt/sources.list', name: 'sources-list', deb822: false }];
  let names: string[] = [];
  try {
    names = (await readdir(inRoot(root, SOURCES_DIR))).sort();
  } catch {
    // No sources.list.d.
  }
  for (const n of names) {
    const m = /^(.+)\.(sources|list)$/.exec(n);
    if (m) out.push({ path: `${SOURCES_DIR}/${n}`, name: sourceName(m[1]!), deb822: m[2] === 'sources' });
  }
  return out;
}

export async function collectAptSources(ctx: CollectContext): Promise<AptSource[]> {
  const out: AptSource[] = [];
  const names = new Set<string>();
  for (const f of await sourceFiles(ctx.root)) {
    let text: string;
    try {
      text = await readFile(inRoot(ctx.root, f.path), 'utf8');
    } catch {
      continue;
    }
    const stanzas = parseDeb822(f.deb822 ? text : oneLineToDeb822(text)).filter((s) => isThirdParty(s, ctx.config.apps.distro_hosts));
    if (stanzas.length === 0) continue;
    let name = f.name;
    for (let i = 2; names.has(name); i++) name = `${f.name}-${i}`;
    const entry: AptSource = { name, deb822: stanzas.map((s) => s.text).join('\n') };

    const keyrings = [...new Set(stanzas.map((s) => get(s, 'Signed-By') ?? '').filter((v) => v.startsWith('/')).flatMap((v) => v.split(/[\s,]+/)).filter((p) => p.startsWith('/')))];
    if (stanzas.some((s) => get(s, 'Signed-By') === undefined && !/^yes$/i.test(get(s, 'Trusted') ?? ''))) {
      ctx.warn(`apt source ${f.path}: no Signed-By; its key (in /etc/apt/trusted.gpg.d, if any) is not captured`);
    }
    if (keyrings.length > 1) ctx.warn(`apt source ${f.path}: several keyrings (${keyrings.join(', ')}); only ${keyrings[0]} is captured`);
    const keyringPath = keyrings[0];
    if (keyringPath) {
      try {
        const file = inRoot(ctx.root, keyringPath);
        if ((await stat(file)).size > MAX_KEYRING) throw new Error('larger than 16 MiB');
        const blob = await ctx.store.putBytes(await readFile(file));
        ctx.blobs.set(blob.hex, { hex: blob.hex, label: `keyring ${keyringPath}`, size: blob.size });
        entry.keyring = `sha256:${blob.hex}` as BlobRef;
        entry.keyring_path = keyringPath;
      } catch (e) {
        ctx.warn(`apt source ${f.path}: keyring ${keyringPath} not captured (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
      }
    }
    const problem = manifestProblem({ apps: { apt_sources: [entry] } });
    if (problem) {
      ctx.warn(`apt source ${f.path}: ${problem}; left out`);
      continue;
    }
    names.add(name);
    out.push(entry);
  }
  return out;
}
