/**
 * The capture configuration: `$XDG_CONFIG_HOME/koder-snapshot/config.toml`
 * (documented in docs/config.md). Every key is optional; what is missing
 * takes the default below. Unknown keys and wrong types are errors naming the
 * key, so a typo never silently falls back to a default.
 *
 * Paths: in `[repos]`, `[secrets]`, `[files]` and `[skips]`, `~` is the
 * captured home (`--home`, default $HOME). In `[snapshot] identity` and
 * `[cache] dir`, `~` is the home of whoever runs the command.
 */
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { parse as parseToml, stringify as stringifyToml } from 'smol-toml';
import { ConfigError } from './errors.ts';
import { configFile, defaultCacheDir, defaultIdentityDir } from './paths.ts';
import { CATEGORIES, type Category } from '../restore-machine/plan.ts';

export type GsettingsMethod = 'auto' | 'gsettings' | 'dconf' | 'none';

export interface CaptureConfig {
  snapshot: {
    /** Hostname written in the snapshot; default: this machine's (or --root's /etc/hostname). */
    hostname: string;
    /** Folder of the identity that signs (and that secrets are sealed to). */
    identity: string;
    /** A delta whose parent chain is this deep or deeper becomes a full snapshot instead. */
    max_chain: number;
    /** What a snapshot holds (the Backup app's "what to include"); a category left out is not in it, not even carried over. */
    categories: Category[];
  };
  system: {
    gsettings: GsettingsMethod;
    /** `SCHEMA:KEY` globs (`*` any run of characters) of settings left out: volatile state, not preferences. */
    gsettings_exclude: string[];
  };
  apps: {
    /** File listing the packages of a fresh install (one name a line, or a dpkg status file); "" = look for one. */
    apt_base_list: string;
    /** Hosts (globs) of the distribution's own archives: sources naming only these are not third-party. */
    distro_hosts: string[];
    /** Snap names (globs) left out: bases, snapd, content snaps installed as dependencies. */
    snap_exclude: string[];
    /** Command printing the installed kpkg packages, one slug first on each line. */
    kpkg_command: string[];
  };
  repos: {
    roots: string[];
    /** How deep below a root a repository is looked for (the root itself is depth 0). */
    max_depth: number;
  };
  secrets: {
    /** Files or folders (a folder becomes a tar); a `*` in the last component is a glob. */
    paths: string[];
    /** A secret bigger than this (bytes, as a file or tar) is left out with a warning. */
    max_bytes: number;
  };
  files: {
    /** Folders archived; those that do not exist are skipped. */
    folders: string[];
    zstd_level: number;
    /** zstd worker threads; 0 = one per CPU core (data v2: chunking worker threads). */
    zstd_workers: number;
    /** 2 (default): chunked, encrypted trees (data v2); 1: one tar.zst blob per folder, readable by the server. */
    format: number;
    /** Data v2: target size of a pack, MiB. */
    pack_mib: number;
  };
  skips: {
    patterns: string[];
  };
  cache: {
    dir: string;
    /** Keep uploaded blobs in the cache (faster re-upload if the server lost one; costs disk). */
    keep_blobs: boolean;
  };
}

/**
 * zstd level 3 (zstd's own default), not the RFC's 19: measured on the 2-core
 * reference box (bench/capture.ts; figures in docs/config.md), level 19
 * compresses a documents-like mix at about 1 MiB/s — a 1 GiB folder would
 * take ~17 minutes of both cores every time one file in it changes — for
 * blobs 6 % smaller than level 3 (55–60 MiB/s); level 9 costs 4× the CPU of
 * level 3 for 1–2 %. Raise it in config.toml when the upload link, not the
 * CPU, is the bottleneck.
 */
export const DEFAULT_ZSTD_LEVEL = 3;

/** Volatile gsettings: window geometry, timestamps, recent lists, last-used folders. */
export const DEFAULT_GSETTINGS_EXCLUDE = [
  '*:window-*',
  '*:*-window-*',
  '*:last-*',
  '*:*-timestamp',
  '*:*-time',
  '*:recent-*',
  '*:*-history',
  '*.state:*',
  '*.state.*:*',
  '*.window-state:*',
  'org.gtk.Settings.FileChooser:*',
  'org.gtk.gtk4.Settings.FileChooser:*',
  'org.gnome.shell:command-history',
  'org.gnome.shell:app-picker-layout',
  'org.gnome.software:*',
  'org.gnome.control-center:last-panel',
  'org.gnome.settings-daemon.plugins.color:night-light-last-coordinates',
  'org.gnome.evolution-data-server:*',
  'org.gnome.desktop.notifications.application:*',
  'ca.desrt.dconf-editor:*',
];

export const DEFAULT_DISTRO_HOSTS = [
  'deb.debian.org',
  'security.debian.org',
  'ftp.debian.org',
  'ftp.*.debian.org',
  'snapshot.debian.org',
  'archive.ubuntu.com',
  '*.archive.ubuntu.com',
  'security.ubuntu.com',
  'ports.ubuntu.com',
];

export const DEFAULT_SNAP_EXCLUDE = ['snapd', 'bare', 'core', 'core[0-9]*', 'gtk-common-themes', 'gnome-[0-9]*', 'gnome-*-[0-9]*', 'kde-frameworks-*', 'mesa-*', 'snapd-desktop-integration'];

export function defaultConfig(env: NodeJS.ProcessEnv = process.env): CaptureConfig {
  return {
    snapshot: { hostname: '', identity: defaultIdentityDir(env), max_chain: 50, categories: [...CATEGORIES] },
    system: { gsettings: 'auto', gsettings_exclude: [...DEFAULT_GSETTINGS_EXCLUDE] },
    apps: { apt_base_list: '', distro_hosts: [...DEFAULT_DISTRO_HOSTS], snap_exclude: [...DEFAULT_SNAP_EXCLUDE], kpkg_command: ['kpkg', 'list', '--installed'] },
    repos: { roots: ['~/dev', '~/src', '~/projects', '~/code'], max_depth: 4 },
    secrets: {
      paths: ['~/.ssh/id_*', '~/.gnupg', '~/.netrc', '~/.config/rclone/rclone.conf', '~/.local/share/keyrings'],
      // Sealed secrets travel inside the manifest (base64), capped at 4 MiB in all (src/manifest/limits.ts).
      max_bytes: 1024 * 1024,
    },
    files: {
      folders: ['~/Documentos', '~/Documents', '~/Imagens', '~/Pictures', '~/Vídeos', '~/Videos', '~/Downloads'],
      zstd_level: DEFAULT_ZSTD_LEVEL,
      zstd_workers: 0,
      format: 2,
      pack_mib: 16,
    },
    skips: { patterns: ['~/.cache', 'node_modules', '~/.local/share/Trash', '.Trash-*'] },
    cache: { dir: defaultCacheDir(env), keep_blobs: false },
  };
}

type Kind = 'string' | 'string[]' | 'int' | 'bool' | 'categories' | GsettingsMethod[];
const SCHEMA: { [S in keyof CaptureConfig]: { [K in keyof CaptureConfig[S]]: Kind } } = {
  snapshot: { hostname: 'string', identity: 'string', max_chain: 'int', categories: 'categories' },
  system: { gsettings: ['auto', 'gsettings', 'dconf', 'none'], gsettings_exclude: 'string[]' },
  apps: { apt_base_list: 'string', distro_hosts: 'string[]', snap_exclude: 'string[]', kpkg_command: 'string[]' },
  repos: { roots: 'string[]', max_depth: 'int' },
  secrets: { paths: 'string[]', max_bytes: 'int' },
  files: { folders: 'string[]', zstd_level: 'int', zstd_workers: 'int', format: 'int', pack_mib: 'int' },
  skips: { patterns: 'string[]' },
  cache: { dir: 'string', keep_blobs: 'bool' },
};

/** Integer bounds, checked after the type. */
const BOUNDS: Record<string, [number, number]> = {
  'snapshot.max_chain': [1, 1000],
  'repos.max_depth': [0, 32],
  'secrets.max_bytes': [1, 2 * 1024 * 1024],
  'files.zstd_level': [1, 22],
  'files.zstd_workers': [0, 256],
  'files.format': [1, 2],
  'files.pack_mib': [4, 512],
};

function checkValue(file: string, path: string, kind: Kind, v: unknown): void {
  const bad = (why: string) => {
    throw new ConfigError(file, path, why);
  };
  if (Array.isArray(kind)) {
    if (typeof v !== 'string' || !kind.includes(v as GsettingsMethod)) bad(`expected one of ${kind.map((k) => JSON.stringify(k)).join(', ')}, got ${JSON.stringify(v)}`);
  } else if (kind === 'string') {
    if (typeof v !== 'string') bad(`expected a string, got ${typeof v}`);
  } else if (kind === 'string[]') {
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) bad('expected an array of strings');
  } else if (kind === 'int') {
    if (typeof v !== 'number' || !Number.isSafeInteger(v)) bad(`expected an integer, got ${JSON.stringify(v)}`);
    const b = BOUNDS[path];
    if (b && ((v as number) < b[0] || (v as number) > b[1])) bad(`expected ${b[0]} to ${b[1]}, got ${v}`);
  } else if (kind === 'categories') {
    if (!Array.isArray(v) || v.some((x) => !(CATEGORIES as readonly unknown[]).includes(x))) bad(`expected an array of ${CATEGORIES.map((c) => JSON.stringify(c)).join(', ')}`);
    if ((v as unknown[]).length === 0) bad('expected at least one category (a snapshot of nothing is not a backup)');
    if (new Set(v as unknown[]).size !== (v as unknown[]).length) bad('a category is listed twice');
  } else if (kind === 'bool') {
    if (typeof v !== 'boolean') bad(`expected true or false, got ${JSON.stringify(v)}`);
  }
}

/** Merges a parsed config.toml over the defaults; throws ConfigError naming the key. */
export function mergeConfig(data: Record<string, unknown>, file: string, env: NodeJS.ProcessEnv = process.env): CaptureConfig {
  const cfg = defaultConfig(env);
  for (const [section, value] of Object.entries(data)) {
    if (!(section in SCHEMA)) throw new ConfigError(file, section, `unknown section [${section}] (known: ${Object.keys(SCHEMA).join(', ')})`);
    if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new ConfigError(file, section, 'expected a table');
    const fields = SCHEMA[section as keyof CaptureConfig] as Record<string, Kind>;
    const target = cfg[section as keyof CaptureConfig] as unknown as Record<string, unknown>;
    for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
      const kind = fields[key];
      if (!kind) throw new ConfigError(file, `${section}.${key}`, `unknown key (known in [${section}]: ${Object.keys(fields).join(', ')})`);
      checkValue(file, `${section}.${key}`, kind, v);
      target[key] = Array.isArray(v) ? [...v] : v;
    }
  }
  if (cfg.apps.kpkg_command.length === 0) throw new ConfigError(file, 'apps.kpkg_command', 'must name a command');
  return cfg;
}

export interface LoadedConfig {
  config: CaptureConfig;
  /** The file read, or undefined when there was none (all defaults). */
  file?: string;
}

/** Reads config.toml (the given file, or the XDG one); a missing file means all defaults. */
export async function loadConfig(o: { file?: string; env?: NodeJS.ProcessEnv } = {}): Promise<LoadedConfig> {
  const env = o.env ?? process.env;
  const file = o.file ?? configFile(env);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' && o.file === undefined) return { config: defaultConfig(env) };
    throw new ConfigError(file, '', `cannot read: ${(e as Error).message}`);
  }
  let data: Record<string, unknown>;
  try {
    data = parseToml(text) as Record<string, unknown>;
  } catch (e) {
    throw new ConfigError(file, '', `not valid TOML: ${(e as Error).message.split('\n')[0]}`);
  }
  return { config: mergeConfig(data, file, env), file };
}

/** zstd worker threads for a config (0 = one per core; at least 1, which keeps the output the same whatever the count). */
export function zstdWorkers(cfg: CaptureConfig): number {
  return cfg.files.zstd_workers > 0 ? cfg.files.zstd_workers : Math.max(1, availableParallelism());
}

/** The effective config as TOML (what `koder-snapshot config` prints). */
export function configToToml(cfg: CaptureConfig): string {
  return stringifyToml(cfg as unknown as Record<string, unknown>) + '\n';
}
