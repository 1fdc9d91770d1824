/**
 * The thread a repository's git work runs in (repo-from-pack.ts), one
 * repository a thread (util/worker-thread.ts oneJob).
 */
import { answerJob } from '../util/worker-thread.ts';
import { repoFromPack } from './repo-from-pack.ts';

answerJob(repoFromPack);
