/** The git CLI for the tests (making real repos and bundles, reading restored ones), with a clean, fixed environment. */
import { spawnSync } from 'node:child_process';
import { lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

let home = '/nonexistent';
/** Where git looks for a global config (a scratch dir: the tests must not read the host's). */
export function setGitHome(dir: string): void {
  home = dir;
}

/**
 * The environment of the tests' git: PATH only from the host, HOME = `o.home`
 * (default: setGitHome's), no system config, Ana as author, config that lets
 * root read uid-1000 repos; `o.extra` on top (e.g. fixed commit dates).
 */
export function gitEnv(o: { home?: string; extra?: NodeJS.ProcessEnv } = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: o.home ?? home,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_AUTHOR_NAME: 'Ana',
    GIT_AUTHOR_EMAIL: 'ana@example.org',
    GIT_COMMITTER_NAME: 'Ana',
    GIT_COMMITTER_EMAIL: 'ana@example.org',
    // Restored repos belong to uid 1000 and the tests run as root.
    GIT_CONFIG_COUNT: '3',
    GIT_CONFIG_KEY_0: 'safe.directory',
    GIT_CONFIG_VALUE_0: '*',
    GIT_CONFIG_KEY_1: 'init.defaultBranch',
    GIT_CONFIG_VALUE_1: 'main',
    GIT_CONFIG_KEY_2: 'protocol.file.allow',
    GIT_CONFIG_VALUE_2: 'always',
    ...o.extra,
  };
}

/** Runs git in `cwd` and returns stdout (trimmed at the end). Throws on failure. */
export function g(cwd: string, args: string[], extraEnv: NodeJS.ProcessEnv = {}): string {
  const r = spawnSync('git', ['--no-optional-locks', ...args], { cwd, env: gitEnv({ extra: extraEnv }), encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')} (in ${cwd}) failed: ${r.stderr}`);
  return r.stdout.replace(/\n$/, '');
}

/** Saves the working tree as `refs/koder/wip`, as capture does (temp index, add -A, write-tree, commit-tree -p HEAD). */
export function saveWip(repo: string): string {
  const env = { GIT_INDEX_FILE: join(repo, '.git/koder-wip-index') };
  g(repo, ['read-tree', 'HEAD'], env);
  g(repo, ['add', '-A'], env);
  const tree = g(repo, ['write-tree'], env);
  const commit = g(repo, ['commit-tree', tree, '-p', 'HEAD', '-m', 'koder: uncommitted work'], env);
  g(repo, ['update-ref', 'refs/koder/wip', commit]);
  spawnSync('rm', ['-f', join(repo, '.git/koder-wip-index')]);
  return commit;
}

/** All refs as "OID REFNAME" lines, sorted. */
export function refsOf(repo: string): string[] {
  return g(repo, ['for-each-ref', '--format=%(objectname) %(refname)'])
    .split('\n')
    .filter(Boolean)
    .sort();
}

/** Paths below `dir` whose owner is not uid:gid. */
export function notOwnedBy(dir: string, uid: number, gid: number): string[] {
  const bad: string[] = [];
  const walk = (p: string) => {
    const st = lstatSync(p);
    if (st.uid !== uid || st.gid !== gid) bad.push(p);
    if (st.isDirectory()) for (const n of readdirSync(p)) walk(join(p, n));
  };
  walk(dir);
  return bad;
}
