/**
 * Reading a git repository without changing it, and bundling it.
 *
 * Nothing is written into the person's repository: not a ref, not the index,
 * not an object. `git status` runs with GIT_OPTIONAL_LOCKS=0 (no index
 * refresh). Uncommitted work is committed in a scratch folder:
 *
 *   scratch/index   ← a copy of the repo's index; `git add -A` into it
 *                     (GIT_INDEX_FILE) over the real working tree
 *   scratch/objects ← new objects (GIT_OBJECT_DIRECTORY), the repo's objects
 *                     as an alternate
 *   write-tree, commit-tree -p HEAD  → the `refs/koder/wip` commit, with a
 *                     fixed author and HEAD's date, so the same work gives
 *                     the same commit
 *
 * and the bundle is made from a scratch bare repository whose objects are the
 * scratch objects plus the repo's (alternates) and whose refs are the repo's
 * refs plus `refs/koder/wip` (and `refs/koder/stash/N` for the older
 * stashes, which otherwise live only in a reflog): `git bundle create --all` with one pack thread,
 * so the same refs give the same bytes.
 */
import { copyFile, mkdir, rm, writeFile } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CaptureError } from './errors.ts';
import { runTool, stderrTail, type ToolResult } from './run-tool.ts';

/** The side ref of uncommitted work (the repos applier restores it as uncommitted changes). */
export const WIP_REF = 'refs/koder/wip';
/** `stash@{N}` (N ≥ 1) is bundled as `refs/koder/stash/N`; `stash@{0}` is `refs/stash` itself. */
export const STASH_REFS = 'refs/koder/stash/';
/** The branch a detached HEAD is restored on. */
export const DETACHED_BRANCH = 'koder-detached';
const WIP_AUTHOR = { name: 'Koder Snapshot', email: 'koder-snapshot@localhost' };

/** A clean environment for git: none of the caller's GIT_* variables, no prompts, no optional locks. */
export function gitEnv(home: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('GIT_')) env[k] = v;
  return { ...env, HOME: home, LC_ALL: 'C', GIT_TERMINAL_PROMPT: '0', GIT_OPTIONAL_LOCKS: '0', ...extra };
}

const BASE = ['-c', 'safe.directory=*', '-c', 'core.fsmonitor=false', '-c', 'core.hooksPath=/dev/null'];

export class Git {
  constructor(
    readonly worktree: string,
    readonly home: string,
  ) {}

  run(args: string[], extraEnv: Record<string, string> = {}): Promise<ToolResult> {
    return runTool('git', [...BASE, ...args], { cwd: this.worktree, env: gitEnv(this.home, extraEnv), maxOutput: 256 * 1024 * 1024 });
  }

  /** stdout trimmed, or undefined when git exits non-zero. */
  async value(args: string[], extraEnv: Record<string, string> = {}): Promise<string | undefined> {
    const r = await this.run(args, extraEnv);
    return r.code === 0 ? r.stdout.trim() : undefined;
  }

  /** stdout; throws CaptureError('tool_failed') when git fails. */
  async must(args: string[], extraEnv: Record<string, string> = {}): Promise<string> {
    const r = await this.run(args, extraEnv);
    if (r.missing) throw new CaptureError('tool_failed', 'git is not installed');
    if (r.code !== 0) throw new CaptureError('tool_failed', `git ${args.join(' ')} in ${this.worktree}: ${stderrTail(r)}`);
    return r.stdout;
  }
}

export interface RepoFacts {
  worktree: string;
  gitDir: string;
  commonDir: string;
  objectFormat: string;
  /** Current branch; undefined when HEAD is detached. */
  branch?: string;
  /** HEAD commit; undefined on an unborn branch. */
  head?: string;
  remote?: string;
  /** Remote URL as the manifest takes it (credentials removed, paths as file://). */
  url?: string;
  /** Staged, unstaged or untracked (not ignored) changes. */
  dirty: boolean;
  /** Commits on branches or tags that no remote-tracking ref has. */
  unpushed: boolean;
  stash: boolean;
  /** HEAD is on the remote's copy of the branch (it is an ancestor of `remote/branch`). */
  onRemote: boolean;
}

const URL_FORMS = /^(?:https?:\/\/|ssh:\/\/|git:\/\/|file:\/\/|kdrive:\/\/|[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:)\S+$/;

/** A remote URL as the manifest may hold it: credentials dropped, local paths as file:// URLs. */
export function manifestUrl(url: string, worktree: string): string | undefined {
  let u = url.trim();
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(u)) {
    try {
      const parsed = new URL(u);
      if (parsed.password || (parsed.username && /^https?:$/.test(parsed.protocol))) {
        parsed.username = '';
        parsed.password = '';
        u = parsed.href;
      }
    } catch {
      return undefined;
    }
  } else if (u.startsWith('/') || u.startsWith('.') || !/:/.test(u)) {
    u = pathToFileURL(isAbsolute(u) ? u : resolve(worktree, u)).href;
  }
  return URL_FORMS.test(u) ? u : undefined;
}

export async function repoFacts(g: Git): Promise<RepoFacts | string> {
  const info = await g.value(['rev-parse', '--is-bare-repository', '--absolute-git-dir', '--git-common-dir', '--show-object-format']);
  if (info === undefined) return 'not a readable git repository';
  const [bare, gitDir, common, objectFormat] = info.split('\n');
  if (bare === 'true') return 'a bare repository (nothing checked out)';
  const commonDir = resolve(g.worktree, common!);
  const branch = await g.value(['symbolic-ref', '-q', '--short', 'HEAD']);
  const head = await g.value(['rev-parse', '-q', '--verify', 'HEAD^{commit}']);
  const remotes = ((await g.value(['remote'])) ?? '').split('\n').filter(Boolean);
  let remote = branch ? await g.value(['config', `branch.${branch}.remote`]) : undefined;
  if (!remote || !remotes.includes(remote)) remote = remotes.includes('origin') ? 'origin' : remotes[0];
  const rawUrl = remote ? await g.value(['remote', 'get-url', remote]) : undefined;
  const url = rawUrl ? manifestUrl(rawUrl, g.worktree) : undefined;
  const status = await g.must(['status', '--porcelain=v1', '-z', '--untracked-files=normal']);
  const unpushed = ((await g.value(['rev-list', '-n', '1', '--branches', '--tags', '--not', '--remotes'])) ?? '') !== '';
  const stash = (await g.value(['rev-parse', '-q', '--verify', 'refs/stash'])) !== undefined;
  let onRemote = false;
  if (remote && branch && head) {
    const tracking = await g.value(['rev-parse', '-q', '--verify', `refs/remotes/${remote}/${branch}`]);
    onRemote = tracking !== undefined && (await g.run(['merge-base', '--is-ancestor', head, tracking])).code === 0;
  }
  return {
    worktree: g.worktree,
    gitDir: gitDir!,
    commonDir,
    objectFormat: objectFormat || 'sha1',
    ...(branch ? { branch } : {}),
    ...(head ? { head } : {}),
    ...(remote ? { remote } : {}),
    ...(url ? { url } : {}),
    dirty: status !== '',
    unpushed,
    stash,
    onRemote,
  };
}

/** Whether the repository holds work that is not on its remote (then it travels as a bundle). */
export function needsBundle(f: RepoFacts): boolean {
  return !f.url || !f.branch || !f.head || f.dirty || f.unpushed || f.stash || !f.onRemote;
}

export interface BundleResult {
  /** The bundle file (in the scratch folder's parent; the caller moves it). */
  file: string;
  /** The branch the restore checks out (the current one, or DETACHED_BRANCH). */
  branch: string;
  /** The `refs/koder/wip` commit, when there was uncommitted work. */
  wip?: string;
}

/**
 * Commits the working tree (tracked + untracked, not ignored) in `scratch`
 * and returns the commit, or undefined when it equals HEAD's tree.
 */
async function wipCommit(g: Git, f: RepoFacts, scratch: string): Promise<string | undefined> {
  const index = join(scratch, 'index');
  const env = {
    GIT_INDEX_FILE: index,
    GIT_OBJECT_DIRECTORY: join(scratch, 'objects'),
    GIT_ALTERNATE_OBJECT_DIRECTORIES: join(f.commonDir, 'objects'),
  };
  // Start from the person's index (its stat data makes `add -A` fast); if that fails, from nothing.
  let added = false;
  try {
    await copyFile(join(f.gitDir, 'index'), index);
    added = (await g.run(['add', '-A'], env)).code === 0;
  } catch {
    // No index yet (a fresh repository).
  }
  if (!added) {
    await rm(index, { force: true });
    const r = await g.run(['add', '-A', '--ignore-errors'], env);
    if (r.code !== 0) throw new CaptureError('tool_failed', `git add -A (into a scratch index) in ${f.worktree}: ${stderrTail(r)}`);
  }
  const tree = await g.must(['write-tree'], env);
  if (f.head && tree.trim() === (await g.value(['rev-parse', `${f.head}^{tree}`]))) return undefined;
  const when = f.head ? ((await g.value(['show', '-s', '--format=%ct', f.head])) ?? '1') : '1';
  const author = {
    GIT_AUTHOR_NAME: WIP_AUTHOR.name,
    GIT_AUTHOR_EMAIL: WIP_AUTHOR.email,
    GIT_AUTHOR_DATE: `@${when} +0000`,
    GIT_COMMITTER_NAME: WIP_AUTHOR.name,
    GIT_COMMITTER_EMAIL: WIP_AUTHOR.email,
    GIT_COMMITTER_DATE: `@${when} +0000`,
  };
  const parent = f.head ? ['-p', f.head] : [];
  return (await g.must(['commit-tree', '--no-gpg-sign', ...parent, '-m', 'koder-snapshot: uncommitted work', tree.trim()], { ...env, ...author })).trim();
}

/**
 * A bundle of every ref of the repository plus its uncommitted work (see the
 * file header), written to `out`. `scratch` is a folder this function owns
 * and removes.
 */
export async function createBundle(g: Git, f: RepoFacts, scratch: string, out: string): Promise<BundleResult> {
  await mkdir(join(scratch, 'objects', 'info'), { recursive: true });
  await mkdir(join(scratch, 'refs'), { recursive: true });
  try {
    const wip = f.dirty || !f.head ? await wipCommit(g, f, scratch) : undefined;
    const refs = new Map<string, string>();
    for (const line of (await g.must(['for-each-ref', '--format=%(objectname) %(refname)'])).split('\n')) {
      const m = /^([0-9a-f]+) (\S+)$/.exec(line);
      if (m && m[2] !== WIP_REF) refs.set(m[2]!, m[1]!);
    }
    // Older stashes live only in the reflog of refs/stash, which a bundle does not carry: name them.
    if (f.stash) {
      const stashes = ((await g.value(['log', '-g', '--format=%H', 'refs/stash'])) ?? '').split('\n').filter(Boolean);
      stashes.slice(1).forEach((oid, i) => refs.set(`${STASH_REFS}${i + 1}`, oid));
    }
    let branch = f.branch ?? DETACHED_BRANCH;
    if (!f.branch && f.head) refs.set(`refs/heads/${DETACHED_BRANCH}`, f.head);
    if (wip && f.head) refs.set(WIP_REF, wip);
    // No commit yet: the work becomes the branch's first commit (there is nothing for it to be a change to).
    if (wip && !f.head) refs.set(`refs/heads/${branch}`, wip);
    if (refs.size === 0) throw new CaptureError('tool_failed', `${f.worktree}: nothing to bundle (no commits and no files)`);
    if (!refs.has(`refs/heads/${branch}`) && !refs.has(`refs/remotes/origin/${branch}`)) {
      // An unborn branch next to other branches: restore on one that exists.
      branch = [...refs.keys()].find((r) => r.startsWith('refs/heads/'))?.slice('refs/heads/'.length) ?? branch;
    }

    const sorted = [...refs.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    await writeFile(join(scratch, 'packed-refs'), sorted.map(([r, o]) => `${o} ${r}\n`).join(''));
    await writeFile(join(scratch, 'HEAD'), `ref: refs/heads/${branch}\n`);
    const sha256 = f.objectFormat === 'sha256';
    await writeFile(join(scratch, 'config'), `[core]\n\trepositoryformatversion = ${sha256 ? 1 : 0}\n\tbare = true\n${sha256 ? '[extensions]\n\tobjectformat = sha256\n' : ''}`);
    await writeFile(join(scratch, 'objects', 'info', 'alternates'), `${join(f.commonDir, 'objects')}\n`);

    const bundler = new Git(scratch, g.home);
    const r = await bundler.run(['--git-dir', scratch, '-c', 'pack.threads=1', 'bundle', 'create', '--quiet', out, '--all']);
    if (r.code !== 0) throw new CaptureError('tool_failed', `git bundle create for ${f.worktree}: ${stderrTail(r)}`);
    return { file: out, branch, ...(wip ? { wip } : {}) };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
