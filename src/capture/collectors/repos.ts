/**
 * Git repositories under `[repos] roots` (default ~/dev, ~/src, ~/projects,
 * ~/code), found by a walk at most `max_depth` folders deep that does not
 * follow symlinks, honours `[skips]`, and does not look inside a repository
 * once found (submodules and nested repositories travel with their parent's
 * files, not as entries).
 *
 * Each becomes a `[[repos.entry]]` with its remote URL and branch. A
 * repository holding anything not on its remote — no remote at all, commits
 * no remote-tracking ref has, a stash, uncommitted changes (staged, unstaged,
 * untracked not ignored), HEAD not on the remote branch, a detached HEAD — is
 * also stored as a git bundle (git.ts: every ref, plus the uncommitted work as
 * `refs/koder/wip`), so nothing of the person's work is lost. What "on the
 * remote" means is what the remote-tracking refs say: capture does not fetch.
 */
import { lstat, mkdir, readdir, rename, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { BlobRef, RepoEntry } from '../../manifest/types.ts';
import { manifestProblem, type CollectContext } from '../context.ts';
import { errMessage } from '../errors.ts';
import { createBundle, Git, needsBundle, repoFacts } from '../git.ts';
import { expandHome, manifestPath } from '../paths.ts';
import { captureTree, type DataV2 } from '../data-v2.ts';

/**
 * Data v2: the bundle as a one-file tree (fixed metadata, so the same
 * bundle bytes give the same tree): a repository whose bundle did not change
 * keeps the parent's fields and uploads nothing. The bundle file is removed
 * once the store has read it.
 */
async function bundleTree(ctx: CollectContext, v2: DataV2, file: string, path: string, label: string, entry: Record<string, unknown>, t0: number): Promise<void> {
  const dir = ctx.store.tmpPath('bundle-dir');
  await mkdir(dir, { mode: 0o700 });
  await rename(file, join(dir, 'repo.bundle'));
  const previous = ctx.parent?.repos?.entry?.find((r) => r.path === path);
  const parent =
    previous?.bundle_tree && previous.bundle_tree_nonce && previous.bundle_packs
      ? { tree: previous.bundle_tree, tree_nonce: previous.bundle_tree_nonce, packs: previous.bundle_packs, size: previous.bundle_size ?? 0, files: 1 }
      : undefined;
  const { fields } = await captureTree(v2, dir, label, { ...(parent ? { parent } : {}), fixedMeta: true, warn: ctx.warn, ...(ctx.signal ? { signal: ctx.signal } : {}) });
  v2.fillers.push(async () => {
    await rm(dir, { recursive: true, force: true });
    Object.assign(entry, { bundle_tree: fields.tree, bundle_tree_nonce: fields.tree_nonce, bundle_packs: fields.packs, bundle_size: fields.size });
    ctx.emit({ type: 'build.done', label, hex: fields.tree.slice('sha256:'.length), size: 0, inputSize: fields.size, reused: fields.tree === parent?.tree, ms: Date.now() - t0 });
  });
}

/** Worktrees (folders with a `.git`) under `root`, sorted, at most `maxDepth` below it. */
export async function findRepos(root: string, maxDepth: number, ctx: Pick<CollectContext, 'skip'>): Promise<string[]> {
  const out: string[] = [];
  const visit = async (dir: string, depth: number): Promise<void> => {
    let names: string[];
    try {
      names = (await readdir(dir)).sort();
    } catch {
      return;
    }
    if (names.includes('.git')) {
      out.push(dir);
      return;
    }
    if (depth >= maxDepth) return;
    for (const n of names) {
      const p = join(dir, n);
      if (ctx.skip.skips(p, n)) continue;
      try {
        if ((await lstat(p)).isDirectory()) await visit(p, depth + 1);
      } catch {
        // Vanished or unreadable.
      }
    }
  };
  try {
    if ((await lstat(root)).isDirectory()) await visit(root, 0);
  } catch {
    // The root does not exist: nothing there.
  }
  return out;
}

export async function collectRepos(ctx: CollectContext): Promise<RepoEntry[]> {
  const found = new Set<string>();
  for (const r of ctx.config.repos.roots) {
    for (const w of await findRepos(expandHome(r, ctx.home), ctx.config.repos.max_depth, ctx)) found.add(w);
  }
  const out: RepoEntry[] = [];
  for (const worktree of [...found].sort()) {
    ctx.signal?.throwIfAborted();
    const path = manifestPath(worktree, ctx.home);
    const g = new Git(worktree, ctx.home);
    try {
      const facts = await repoFacts(g);
      if (typeof facts === 'string') {
        ctx.warn(`repo ${path}: ${facts}; left out`);
        continue;
      }
      const entry: Record<string, unknown> = { slug: basename(worktree), path };
      if (facts.url) entry.url = facts.url;
      entry.branch = facts.branch;
      if (needsBundle(facts)) {
        const label = `repo ${path}`;
        const t0 = Date.now();
        ctx.emit({ type: 'build.start', label, total: 0 });
        const b = await createBundle(g, facts, ctx.store.tmpPath('git'), ctx.store.tmpPath('bundle'));
        entry.branch = b.branch;
        if (facts.dirty) entry.dirty = true;
        if (ctx.v2) {
          await bundleTree(ctx, ctx.v2, b.file, path, label, entry, t0);
          out.push(entry as RepoEntry);
          ctx.repoWorktrees.push(worktree);
          continue;
        }
        const blob = await ctx.store.putFile(b.file);
        ctx.blobs.set(blob.hex, { hex: blob.hex, label, size: blob.size });
        ctx.emit({ type: 'build.done', label, hex: blob.hex, size: blob.size, inputSize: blob.size, reused: false, ms: Date.now() - t0 });
        entry.bundle = `sha256:${blob.hex}` as BlobRef;
        entry.bundle_size = blob.size;
      }
      const problem = manifestProblem({ repos: { entry: [entry] } });
      if (problem) {
        ctx.warn(`repo ${path}: ${problem}; left out`);
        continue;
      }
      out.push(entry as RepoEntry);
      ctx.repoWorktrees.push(worktree);
    } catch (e) {
      if (ctx.signal?.aborted) throw e;
      // A failure must not drop the repository from the latest snapshot: keep its last entry.
      const previous = ctx.parent?.repos?.entry?.find((r) => r.path === path);
      if (previous) {
        out.push(previous);
        ctx.repoWorktrees.push(worktree);
      }
      ctx.warn(`repo ${path}: ${errMessage(e)}; ${previous ? "kept the previous snapshot's entry" : 'left out'}`);
    }
  }
  return out;
}
