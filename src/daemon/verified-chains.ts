/**
 * Snapshot chains fetched, resolved and verified once per daemon: by source
 * (the server, or an export on a drive: restore-source.ts), owner
 * (undefined: mine; a user id: a snapshot they shared with me) and snapshot
 * id, against the owner's keys as the source gives them. Content-addressed, so a
 * verified chain stays valid; a failure is not kept (the next ask tries
 * again). Shared by the wizard's restore session and the Backup app.
 */
import type { DriveClient } from '../drive/client.ts';
import { serverSource, type RestoreSource } from './restore-source.ts';
import { resolveChain, type Manifest } from '../manifest/index.ts';
import { categorySizes } from '../restore-machine/plan.ts';
import type { SnapshotDetails } from './ui-state.ts';

export interface VerifiedChain {
  folded: Manifest;
  /** Ids, leaf first. */
  chain: string[];
}

export class VerifiedChains {
  private cache = new Map<string, Promise<VerifiedChain>>();

  /** `source`: where chains come from now, and a name for it (an export's folder; '' for the server). */
  constructor(private readonly source: () => Promise<{ name: string; source: RestoreSource }>) {}

  /** Over the server only (the Backup app). */
  static ofServer(client: () => Promise<DriveClient>): VerifiedChains {
    return new VerifiedChains(async () => ({ name: '', source: serverSource(await client()) }));
  }

  async get(snapshotId: string, owner: string | undefined): Promise<VerifiedChain> {
    const { name, source } = await this.source();
    const key = `${name}/${owner ?? ''}/${snapshotId}`;
    let p = this.cache.get(key);
    if (!p) {
      p = (async () => {
        const keys = await source.verifyingKeys(owner);
        const { chain, folded } = await resolveChain(snapshotId, (id) => source.manifest(id, owner), keys);
        return { folded, chain: chain.map((l) => l.id) };
      })();
      p.catch(() => this.cache.delete(key));
      this.cache.set(key, p);
    }
    return p;
  }

  /** Forgets everything (another account signed in). */
  clear(): void {
    this.cache.clear();
  }
}

/** What a snapshot card shows: the folded chain's sizes per category and its counts. */
export function snapshotDetails(id: string, folded: Manifest): SnapshotDetails {
  return {
    id,
    hostname: folded.snapshot.hostname,
    byCategory: categorySizes(folded),
    counts: {
      apt: folded.apps?.apt?.length ?? 0,
      snap: folded.apps?.snap?.length ?? 0,
      flatpak: folded.apps?.flatpak?.length ?? 0,
      repos: folded.repos?.entry?.length ?? 0,
      files: folded.files?.entry?.length ?? 0,
      secrets: Object.keys(folded.secrets ?? {}).length,
    },
  };
}
