/**
 * A repository from its git bundle (v2/v3, as `git bundle create` writes it),
 * offline, into a fresh folder:
 *
 * - The bundle's packfile is written into the new repo's
 *   `.git/objects/pack/pack-<checksum>.pack` while the blob streams in
 *   (git-bundle.ts `splitBundle`) and indexed (`git.indexPack`; isomorphic-git
 *   holds the whole pack in memory: fine for repos, not for multi-GiB monorepos).
 * - Every ref of the bundle is written as it is — branches under refs/heads,
 *   remote-tracking refs, tags, and side refs such as `refs/koder/wip` (all
 *   kept); `HEAD` is not written as a ref, it becomes the symbolic ref to
 *   `branch`; `refs/remotes/R/HEAD` (listed dereferenced) becomes symbolic
 *   again, to the remote branch it matches. Ref names that are not valid git
 *   ref names under `refs/` are skipped and reported (a ref name is a path
 *   inside .git). `origin` is set to `entry.url` when given (plus the
 *   branch's upstream when the bundle has `refs/remotes/origin/<branch>`),
 *   then `branch` is checked out and the uncommitted work of `refs/koder/wip`
 *   brought back (repo-work-tree.ts).
 * - SHA-256 repositories (`@object-format=sha256`) fail: isomorphic-git reads
 *   SHA-1 only.
 * - A bundle with prerequisites (an incremental one, e.g.
 *   `git bundle create b origin/main..main`) carries a *thin* pack: the
 *   commits it builds on are cloned from `entry.url` first (http/https/file
 *   only, repo-clone.ts), the thin pack is indexed against them and then
 *   rewritten as a self-contained pack (real git cannot read a thin pack in
 *   objects/pack).
 *
 * A bundle that looks malformed is read again whole through the BlobSource:
 * altered bytes are a verification failure (Rethrow), an authentic bundle we
 * cannot read is this repo's failure.
 */
import fs, { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { mkdir, readFile, rename, rm, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import * as git from 'isomorphic-git';
import type { BlobRef, RepoEntry } from '../manifest/types.ts';
import type { ApplyContext, Progress } from './applier.ts';
import { verifyBlob, watched } from './blob-stream.ts';
import { BundleFormatError, isSafeRefName, splitBundle, type BundleHeader } from './git-bundle.ts';
import { canFetchHere, cloneFrom, linuxCoreConfig, setUpstream } from './repo-clone.ts';
import { RepoFailure, Rethrow } from './repo-failure.ts';
import { restoreWorkingTree, WIP_REF } from './repo-work-tree.ts';
import { errMessage } from '../util/fs.ts';

/** Object ids listed in a pack index (v2). */
async function oidsOfPackIndex(idxPath: string): Promise<string[]> {
  const b = await readFile(idxPath);
  if (b.readUInt32BE(0) !== 0xff744f63 || b.readUInt32BE(4) !== 2) throw new Error(`${idxPath}: not a v2 pack index`);
  const n = b.readUInt32BE(8 + 255 * 4);
  const out: string[] = [];
  const start = 8 + 256 * 4;
  for (let i = 0; i < n; i++) out.push(b.subarray(start + i * 20, start + (i + 1) * 20).toString('hex'));
  return out;
}

async function hasObject(dir: string, oid: string): Promise<boolean> {
  try {
    await git.readObject({ fs, dir, oid, format: 'deflated' });
    return true;
  } catch {
    return false;
  }
}

interface BundleOutcome {
  header: BundleHeader;
  details: string[];
}

/** Where a bundle's bytes come from: a blob (version 1) or a file restored from its data v2 tree. */
export interface BundleInput {
  open(): Promise<Readable>;
  /** Throws when the bytes read were not the authentic ones (a malformed bundle: altered, or ours to refuse?). */
  verify(): Promise<void>;
}

/** A version 1 bundle blob, through the restore's BlobSource. */
export function bundleBlob(ctx: ApplyContext, ref: BlobRef): BundleInput {
  return {
    open: () => ctx.blobs.open(ref, ctx.signal ? { signal: ctx.signal } : {}),
    verify: () => verifyBlob(ctx.blobs, ref, ctx.signal),
  };
}

/** A bundle file restored from its tree: every chunk was authenticated on the way. */
export function bundleFile(path: string): BundleInput {
  return { open: async () => createReadStream(path), verify: async () => undefined };
}

export async function restoreFromBundle(dir: string, entry: RepoEntry, input: BundleInput, ctx: ApplyContext, progress: Progress): Promise<BundleOutcome> {
  const details: string[] = [];
  const packDir = join(dir, '.git/objects/pack');
  const tmpPack = join(dir, '.git/objects/pack/tmp-bundle.pack');
  // The fresh repo first: splitting needs its pack folder. An incremental
  // bundle's base is cloned later, once the header said so.
  await git.init({ fs, dir, defaultBranch: entry.branch });
  await linuxCoreConfig(dir);

  const source = await input.open();
  const { chunks, failure } = watched(source);
  let split;
  try {
    split = await splitBundle(chunks, tmpPack, { onBytes: (n) => progress({ bytes: n, items: 0 }) });
  } catch (e) {
    if (failure.error !== undefined) throw new Rethrow(failure.error);
    if (e instanceof BundleFormatError) {
      // Altered bytes, or an authentic bundle we cannot read? Only the whole blob tells.
      try {
        await input.verify();
      } catch (v) {
        throw new Rethrow(v);
      }
      throw new RepoFailure(errMessage(e));
    }
    throw e;
  } finally {
    source.destroy();
  }
  // From here on the whole blob was read and the BlobSource vouched for it.
  const { header } = split;

  if (header.prerequisites.length > 0) {
    if (!canFetchHere(entry.url)) {
      throw new RepoFailure(
        `the bundle is incremental (it builds on ${header.prerequisites.length} commit(s) of the remote) and ${entry.url ? `${entry.url} cannot be fetched before first boot` : 'the entry has no url'}`,
      );
    }
    // Keep the pack aside, clone the base into a clean dir, bring the pack back.
    const aside = join(dirname(dir), 'bundle.pack');
    await rename(tmpPack, aside);
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir);
    await cloneFrom(dir, entry.url, entry.branch);
    await rename(aside, tmpPack);
    for (const p of header.prerequisites) {
      if (!(await hasObject(dir, p.oid))) throw new RepoFailure(`the bundle needs commit ${p.oid} which ${entry.url} does not have`);
    }
  }

  const packName = `pack-${split.packChecksum}`;
  const packRel = `.git/objects/pack/${packName}.pack`;
  await rename(tmpPack, join(dir, packRel));
  try {
    await git.indexPack({ fs, dir, filepath: packRel });
  } catch (e) {
    throw new RepoFailure(`the bundle's packfile cannot be indexed: ${errMessage(e)}`);
  }
  if (header.prerequisites.length > 0) {
    // A thin pack (deltas against the cloned objects) → a self-contained one.
    const oids = await oidsOfPackIndex(join(dir, `.git/objects/pack/${packName}.idx`));
    const { filename } = await git.packObjects({ fs, dir, oids, write: true });
    if (filename !== `${packName}.pack`) {
      await git.indexPack({ fs, dir, filepath: `.git/objects/pack/${filename}` });
      await unlink(join(packDir, `${packName}.pack`));
      await unlink(join(packDir, `${packName}.idx`));
    }
  }

  // Refs, as the bundle has them.
  const refs = new Map<string, string>();
  for (const r of header.refs) {
    if (r.name === 'HEAD') continue;
    if (!isSafeRefName(r.name)) {
      details.push(`ref ${JSON.stringify(r.name)} not restored: not a valid ref name`);
      continue;
    }
    if (!(await hasObject(dir, r.oid))) throw new RepoFailure(`ref ${r.name} points to ${r.oid}, which the bundle does not carry`);
    refs.set(r.name, r.oid);
  }
  for (const [name, oid] of refs) {
    // A bundle lists a remote's HEAD dereferenced; git clone made it symbolic.
    const remoteHead = /^(refs\/remotes\/[^/]+\/)HEAD$/.exec(name);
    if (remoteHead) {
      const prefix = remoteHead[1]!;
      const same = [...refs].filter(([n, o]) => o === oid && n !== name && n.startsWith(prefix)).map(([n]) => n).sort();
      const to = same.find((n) => n === `${prefix}${entry.branch}`) ?? same[0];
      if (to !== undefined) {
        await git.writeRef({ fs, dir, ref: name, value: to, symbolic: true, force: true });
        continue;
      }
    }
    await git.writeRef({ fs, dir, ref: name, value: oid, force: true });
  }
  if (entry.url) await git.addRemote({ fs, dir, remote: 'origin', url: entry.url, force: true });

  const local = `refs/heads/${entry.branch}`;
  const tracking = `refs/remotes/origin/${entry.branch}`;
  if (!refs.has(local)) {
    const from = refs.get(tracking);
    if (from === undefined) throw new RepoFailure(`branch ${entry.branch} is not in the bundle`);
    await git.writeRef({ fs, dir, ref: local, value: from, force: true });
  }
  if (entry.url && (refs.has(tracking) || header.prerequisites.length > 0)) await setUpstream(dir, entry.branch);
  await git.writeRef({ fs, dir, ref: 'HEAD', value: local, symbolic: true, force: true });
  try {
    await git.checkout({ fs, dir, ref: entry.branch, force: true });
  } catch (e) {
    throw new RepoFailure(`cannot check out ${entry.branch}: ${errMessage(e)}`);
  }

  const wip = refs.get(WIP_REF);
  if (wip !== undefined) {
    const head = await git.resolveRef({ fs, dir, ref: 'HEAD' });
    const n = await restoreWorkingTree(dir, head, wip);
    if (n > 0) details.push(`${n} uncommitted change(s) restored from ${WIP_REF}`);
  }
  return { header, details };
}
