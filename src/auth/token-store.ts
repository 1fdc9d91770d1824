/**
 * Tokens on disk, one file per server:
 *   $XDG_CONFIG_HOME/koder-snapshot/tokens/<host>_<port>-<hash>.json   (mode 0600, folder 0700)
 * Written to a temp file (0600 from its creation) then renamed, so a crash
 * never leaves a half-written or world-readable token file.
 * Also `config.json` there: the server `login` last used (the default for
 * the other commands).
 */
import { createHash, randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { serverKey } from './secure-url.ts';

export interface StoredTokens {
  server: string;
  issuer: string;
  client_id: string;
  access_token: string;
  /** ms since epoch. */
  expires_at: number;
  refresh_token?: string;
  scope?: string;
  id_token?: string;
  /** From the ID token: who logged in. */
  sub?: string;
  user_name?: string;
  /** The API resource indicator the access token is for. */
  resource?: string;
}

export function configDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CONFIG_HOME && env.XDG_CONFIG_HOME.startsWith('/') ? env.XDG_CONFIG_HOME : join(env.HOME ?? homedir(), '.config');
  return join(base, 'koder-snapshot');
}

export function tokenPath(server: string, env: NodeJS.ProcessEnv = process.env): string {
  const key = serverKey(server);
  const u = new URL(key);
  const safe = `${u.hostname}_${u.port || (u.protocol === 'https:' ? '443' : '80')}`.replace(/[^A-Za-z0-9._-]/g, '_');
  const hash = createHash('sha256').update(key).digest('hex').slice(0, 12);
  return join(configDir(env), 'tokens', `${safe}-${hash}.json`);
}

async function writePrivate(path: string, text: string): Promise<void> {
  const dir = path.slice(0, path.lastIndexOf('/'));
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await writeFile(tmp, text, { mode: 0o600, flag: 'wx' });
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

export async function saveTokens(t: StoredTokens, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const path = tokenPath(t.server, env);
  await writePrivate(path, JSON.stringify(t, null, 2) + '\n');
  return path;
}

export async function loadTokens(server: string, env: NodeJS.ProcessEnv = process.env): Promise<StoredTokens | undefined> {
  try {
    return JSON.parse(await readFile(tokenPath(server, env), 'utf8')) as StoredTokens;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

export async function deleteTokens(server: string, env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  const path = tokenPath(server, env);
  try {
    await rm(path);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
}

export interface ClientConfig {
  server?: string;
}

export async function loadConfig(env: NodeJS.ProcessEnv = process.env): Promise<ClientConfig> {
  try {
    return JSON.parse(await readFile(join(configDir(env), 'config.json'), 'utf8')) as ClientConfig;
  } catch {
    return {};
  }
}

export async function saveConfig(c: ClientConfig, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  await writePrivate(join(configDir(env), 'config.json'), JSON.stringify(c, null, 2) + '\n');
}
