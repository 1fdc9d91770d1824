/**
 * The git work of a repository from its bundle, once the bundle's packfile
 * is written whole into the fresh repo's pack folder (repo-bundle.ts splits
 * it there as `tmp-bundle.pack`): an incremental bundle's base cloned, the
 * pack indexed (a thin one rewritten self-contained), every ref written,
 * `origin` and the upstream set, the branch checked out (git-checkout.ts) and the uncommitted
 * work of `refs/koder/wip` brought back. Returns the details to report;
 * throws RepoFailure for what makes this repository fail.
 *
 * Seconds of CPU for a large repository (isomorphic-git: zlib, SHA-1 and
 * every file of the checkout in JS), so it runs in a thread of its own
 * (repo-worker.ts): on the restore's own thread it held the event loop for
 * 4.4 s while apt ran — apt's next command and its status lines waited
 * (bench/README.md, install-restore).
 */
import fs from 'node:fs';
import { mkdir, rename, rm, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import * as git from 'isomorphic-git';
import type { RepoEntry } from '../manifest/types.ts';
import { isSafeRefName, type BundleHeader } from './git-bundle.ts';
import { checkoutFresh } from './git-checkout.ts';
import { indexPack, packIndexOids } from './git-pack.ts';
import { canFetchHere, cloneFrom, setUpstream } from './repo-clone.ts';
import { RepoFailure } from './repo-failure.ts';
import { restoreWorkingTree, WIP_REF } from './repo-work-tree.ts';
import { errMessage } from '../util/fs.ts';

export interface RepoFromPackJob {
  /** The fresh repository (git init done), its pack at `.git/objects/pack/tmp-bundle.pack`. */
  dir: string;
  entry: RepoEntry;
  header: BundleHeader;
  /** The pack's trailing checksum (hex): its name. */
  packChecksum: string;
}

async function hasObject(dir: string, oid: string): Promise<boolean> {
  try {
    await git.readObject({ fs, dir, oid, format: 'deflated' });
    return true;
  } catch {
    return false;
  }
}

export async function repoFromPack({ dir, entry, header, packChecksum }: RepoFromPackJob): Promise<string[]> {
  const details: string[] = [];
  const packDir = join(dir, '.git/objects/pack');
  const tmpPack = join(packDir, 'tmp-bundle.pack');

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

  const packName = `pack-${packChecksum}`;
  const packRel = `.git/objects/pack/${packName}.pack`;
  await rename(tmpPack, join(dir, packRel));
  try {
    // A self-contained pack is indexed here (git-pack.ts); a thin one against the clone, by isomorphic-git.
    if (header.prerequisites.length === 0) indexPack(join(dir, packRel));
    else await git.indexPack({ fs, dir, filepath: packRel });
  } catch (e) {
    throw new RepoFailure(`the bundle's packfile cannot be indexed: ${errMessage(e)}`);
  }
  if (header.prerequisites.length > 0) {
    // A thin pack (deltas against the cloned objects) → a self-contained one.
    const oids = packIndexOids(join(dir, `.git/objects/pack/${packName}.idx`));
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
    // A fresh repository's empty working tree: written here (git-checkout.ts); on top of
    // the clone an incremental bundle builds on, isomorphic-git updates what changed.
    if (header.prerequisites.length === 0) checkoutFresh(dir, await git.resolveRef({ fs, dir, ref: local }));
    else await git.checkout({ fs, dir, ref: entry.branch, force: true });
  } catch (e) {
    if (e instanceof RepoFailure) throw e;
    throw new RepoFailure(`cannot check out ${entry.branch}: ${errMessage(e)}`);
  }

  const wip = refs.get(WIP_REF);
  if (wip !== undefined) {
    const head = await git.resolveRef({ fs, dir, ref: 'HEAD' });
    const n = await restoreWorkingTree(dir, head, wip);
    if (n > 0) details.push(`${n} uncommitted change(s) restored from ${WIP_REF}`);
  }
  return details;
}
