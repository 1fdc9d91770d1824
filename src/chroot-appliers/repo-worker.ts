/**
 * The thread a repository's git work runs in, one repository a thread
 * (util/worker-thread.ts oneJob): a repository from its bundle's pack
 * (repo-from-pack.ts), or a clone of its url (repo-clone.ts) — seconds of
 * CPU in isomorphic-git that would hold the restore's event loop.
 */
import { answerJob } from '../util/worker-thread.ts';
import { cloneFrom } from './repo-clone.ts';
import { repoFromPack, type RepoFromPackJob } from './repo-from-pack.ts';

/** A clone of `url` at `branch` into the empty folder `dir`. */
export interface RepoCloneJob {
  clone: { dir: string; url: string; branch: string };
}

answerJob(async (job: RepoFromPackJob | RepoCloneJob): Promise<string[]> => {
  if ('clone' in job) {
    await cloneFrom(job.clone.dir, job.clone.url, job.clone.branch);
    return [];
  }
  return repoFromPack(job);
});
