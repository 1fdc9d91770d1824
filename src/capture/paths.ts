/**
 * Paths of capture: the XDG folders it keeps its own things in, and the two
 * spellings of a captured path — absolute on this machine, and `~/…` in the
 * manifest (the restored user's home) when it lies under the captured home.
 */
import { homedir } from 'node:os';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';

function xdg(env: NodeJS.ProcessEnv, name: 'XDG_CONFIG_HOME' | 'XDG_CACHE_HOME', fallback: string): string {
  const v = env[name];
  // The XDG spec: a relative value is invalid and must be ignored.
  return v && v.startsWith('/') ? v : join(env.HOME || homedir(), fallback);
}

/** `$XDG_CONFIG_HOME/koder-snapshot` (the same folder as the login tokens). */
export function configHome(env: NodeJS.ProcessEnv = process.env): string {
  return join(xdg(env, 'XDG_CONFIG_HOME', '.config'), 'koder-snapshot');
}

/** `$XDG_CONFIG_HOME/koder-snapshot/config.toml`. */
export function configFile(env: NodeJS.ProcessEnv = process.env): string {
  return join(configHome(env), 'config.toml');
}

/** `$XDG_CONFIG_HOME/koder-snapshot/identity`: where `init` writes the identity. */
export function defaultIdentityDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(configHome(env), 'identity');
}

/** `$XDG_CACHE_HOME/koder-snapshot`: blobs being built and the capture state. */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(xdg(env, 'XDG_CACHE_HOME', '.cache'), 'koder-snapshot');
}

/** `~/x` → `HOME/x`; `~` → HOME; an absolute path unchanged; anything else relative to HOME. */
export function expandHome(p: string, home: string): string {
  if (p === '~') return home;
  if (p.startsWith('~/')) return join(home, p.slice(2));
  return isAbsolute(p) ? resolve(p) : join(home, p);
}

/** Whether `p` is `dir` or below it (both absolute, normalized). */
export function isInside(dir: string, p: string): boolean {
  const rel = relative(dir, p);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

/** The manifest spelling of an absolute path: `~/…` under `home`, else the absolute path. */
export function manifestPath(abs: string, home: string): string {
  const rel = relative(home, abs);
  if (rel !== '' && !rel.startsWith('..') && !isAbsolute(rel)) return `~/${rel.split(sep).join('/')}`;
  return abs;
}

/** A path below the (fixture) root: `/etc/timezone` with root `/x` → `/x/etc/timezone`. */
export function inRoot(root: string, abs: string): string {
  return root === '/' ? abs : join(root, abs);
}
