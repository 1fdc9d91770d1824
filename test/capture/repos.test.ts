/**
 * Repositories in the corners: detached HEAD, no commit yet, a stash, HEAD
 * behind its remote. Captured (dry run: blobs in the cache), then restored
 * by the repos applier from the cache folder (a real BlobSource over it).
 * Bundles are deterministic: the same repository gives the same blob.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { capture, type CaptureResult } from '../../src/capture/index.ts';
import { applyRepo } from '../../src/chroot-appliers/repos.ts';
import { resolveTarget } from '../../src/chroot-appliers/target.ts';
import type { RepoEntry } from '../../src/manifest/types.ts';
import { BlobDir } from '../helpers/blob-dir.ts';
import { applyContext } from '../helpers/apply-context.ts';
import { git, testConfig } from './fixture.ts';

const base = mkdtempSync(join(tmpdir(), 'koder-repos-'));
const home = join(base, 'home');
const dev = join(home, 'code');
let r: CaptureResult;
let entries: Record<string, RepoEntry>;
const heads: Record<string, string> = {};

// Bundle semantics do not depend on the data format; v1 keeps them in the cache as plain blobs for the BlobDir source.
const dry = () => capture({ config: testConfig(base, (c) => ((c.cache.keep_blobs = true), (c.files.format = 1))), home, only: ['repos'], dryRun: true });

beforeAll(async () => {
  mkdirSync(dev, { recursive: true });
  writeFileSync(join(home, '.gitconfig'), '[init]\n\tdefaultBranch = main\n');
  const remote = join(base, 'remote.git');
  git(base, home, 'init', '-q', '--bare', remote);

  const detached = join(dev, 'detached');
  git(dev, home, 'clone', '-q', remote, detached);
  writeFileSync(join(detached, 'f.txt'), '1\n');
  git(detached, home, 'add', '-A');
  git(detached, home, 'commit', '-q', '-m', 'c1');
  writeFileSync(join(detached, 'f.txt'), '2\n');
  git(detached, home, 'commit', '-q', '-am', 'c2');
  git(detached, home, 'push', '-q', 'origin', 'main');
  git(detached, home, 'checkout', '-q', 'HEAD~1');
  heads.detached = git(detached, home, 'rev-parse', 'HEAD');

  const fresh = join(dev, 'fresh');
  mkdirSync(fresh);
  git(fresh, home, 'init', '-q');
  writeFileSync(join(fresh, 'draft.md'), 'no commit yet\n');

  const stashed = join(dev, 'stashed');
  git(dev, home, 'clone', '-q', remote, stashed);
  writeFileSync(join(stashed, 'f.txt'), 'older stash\n');
  git(stashed, home, 'stash', '-q');
  writeFileSync(join(stashed, 'f.txt'), 'stashed change\n');
  git(stashed, home, 'stash', '-q');
  heads.stash0 = git(stashed, home, 'rev-parse', 'stash@{0}');
  heads.stash1 = git(stashed, home, 'rev-parse', 'stash@{1}');
  heads.stashed = git(stashed, home, 'rev-parse', 'HEAD');

  const behind = join(dev, 'behind');
  git(dev, home, 'clone', '-q', remote, behind);
  git(behind, home, 'reset', '-q', '--hard', 'HEAD~1');

  r = await dry();
  entries = Object.fromEntries((r.full.repos?.entry ?? []).map((e) => [e.slug, e]));
}, 60_000);
afterAll(() => rmSync(base, { recursive: true, force: true }));

async function restore(slug: string): Promise<string> {
  const root = join(base, `target-${slug}`);
  mkdirSync(join(root, 'etc'), { recursive: true });
  writeFileSync(join(root, 'etc', 'passwd'), `ana:x:${process.getuid!()}:${process.getgid!()}::/home/ana:/bin/sh\n`);
  const target = await resolveTarget(root, 'ana');
  const ctx = applyContext({ target, manifest: r.full, choice: { snapshotId: r.id, categories: ['repos'] }, blobs: new BlobDir(join(base, 'cache', 'koder-snapshot', 'blobs')) });
  const step = ctx.plan.steps.find((s) => s.key === entries[slug]!.path)!;
  const out = await applyRepo(step, ctx, () => {});
  expect(out.status, out.message).toBe('done');
  return join(root, 'home', 'ana', 'code', slug);
}

describe('repositories in the corners', () => {
  it('a detached HEAD travels as a bundle and comes back on branch koder-detached at the same commit', async () => {
    expect(entries.detached).toMatchObject({ branch: 'koder-detached' });
    expect(entries.detached!.bundle).toBeDefined();
    const dst = await restore('detached');
    expect(git(dst, home, 'rev-parse', 'HEAD')).toBe(heads.detached);
    expect(git(dst, home, 'rev-parse', 'refs/heads/main')).toBe(git(join(dev, 'detached'), home, 'rev-parse', 'main'));
  });

  it('a repository without commits comes back with its files', async () => {
    expect(entries.fresh).toMatchObject({ branch: 'main', dirty: true });
    const dst = await restore('fresh');
    expect(readFileSync(join(dst, 'draft.md'), 'utf8')).toBe('no commit yet\n');
  });

  it('stashes are work not on the remote: bundled, every one of them comes back as a ref', async () => {
    expect(entries.stashed!.bundle).toBeDefined();
    expect(entries.stashed!.dirty).toBeUndefined();
    const dst = await restore('stashed');
    expect(git(dst, home, 'rev-parse', 'HEAD')).toBe(heads.stashed);
    expect(git(dst, home, 'rev-parse', 'refs/stash')).toBe(heads.stash0);
    expect(git(dst, home, 'rev-parse', 'refs/koder/stash/1')).toBe(heads.stash1);
    expect(git(dst, home, 'show', 'refs/koder/stash/1:f.txt')).toBe('older stash');
  });

  it('a clone behind its remote needs no bundle (nothing of its own)', () => {
    expect(entries.behind!.bundle).toBeUndefined();
    expect(entries.behind!.url).toMatch(/^file:\/\//);
  });

  it('the same repositories give the same bundles', async () => {
    const again = await dry();
    expect(again.full.repos).toEqual(r.full.repos);
  });
});
