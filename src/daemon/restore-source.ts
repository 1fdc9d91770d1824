/**
 * Where a restore reads its snapshots from: the Koder Drive server (after
 * the device login) or an export on a drive (src/export, no login, no
 * network). The session verifies the same way whatever the source: the
 * chain against the source's keys, then the vault opened with the person's
 * secret — and, for an export, the key list it brought checked against the
 * identity the vault opened (`trust`), since the drive could hold anything.
 */
import type { BlobSource } from '../chroot-appliers/applier.ts';
import type { DriveClient } from '../drive/client.ts';
import type { Identity } from '../keys/identity.ts';
import { fromB64 } from '../keys/b64.ts';
import { LocalRepo } from '../export/local-repo.ts';
import type { SnapshotSummary } from '../restore-machine/types.ts';
import { driveBlobSource } from './drive-blobs.ts';

export interface RestoreSource {
  readonly kind: 'server' | 'export';
  listSnapshots(): Promise<SnapshotSummary[]>;
  /** The Ed25519 keys `owner`'s chains (mine when undefined) are checked against. */
  verifyingKeys(owner?: string): Promise<Uint8Array[]>;
  manifest(id: string, owner?: string): Promise<string>;
  vault(): Promise<unknown | undefined>;
  /** The data v2 keys a share of `id` sealed to me (server only). */
  shareKeys(owner: string, id: string): Promise<string | undefined>;
  blobs(owner: string | undefined, signal?: AbortSignal): BlobSource;
  /** Once the vault opened: what the source must check against that identity (an export: its key list is signed by it). */
  trust(identity: Identity): Promise<void>;
  /** A restore from it needs the vault opened (an export: nothing on a drive is trusted without it). */
  readonly needsSecret: boolean;
  /** The .debs it brings for apt (export --with-debs). */
  debsDir(): string | undefined;
}

export function serverSource(c: DriveClient): RestoreSource {
  return {
    kind: 'server',
    needsSecret: false,
    async listSnapshots() {
      const [mine, shared] = await Promise.all([c.listSnapshots(), c.sharedWithMe()]);
      const me = (await c.me()).id;
      const all: SnapshotSummary[] = [
        ...mine.map((s) => ({ id: s.id, hostname: s.hostname, createdAt: s.created_at, owner: me, shared: false, chainDepth: s.depth, bytes: s.blobs_size })),
        ...shared.map((s) => ({ id: s.id, hostname: s.hostname, createdAt: s.created_at, owner: s.owner_id, ownerName: s.owner_name, shared: true, chainDepth: s.depth, bytes: s.blobs_size })),
      ];
      return all.sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt));
    },
    verifyingKeys: async (owner) => (await c.getKeys(owner)).map((k) => fromB64(k.ed25519)!).filter(Boolean),
    manifest: (id, owner) => c.getManifest(id, owner),
    vault: async () => (await c.getVault())?.doc,
    shareKeys: (owner, id) => c.shareKeys(owner, id),
    blobs: (owner, signal) => driveBlobSource(c, owner, signal),
    trust: async () => undefined,
    debsDir: () => undefined,
  };
}

export function exportSource(repo: LocalRepo): RestoreSource {
  const blobs = repo.blobs.source();
  return {
    kind: 'export',
    needsSecret: true,
    listSnapshots: async () => repo.snapshots(),
    verifyingKeys: () => repo.verifyingKeys(),
    manifest: (id) => repo.manifest(id),
    vault: () => repo.vault(),
    shareKeys: async () => undefined,
    blobs: () => blobs,
    trust: (identity) => repo.trust(identity),
    debsDir: () => repo.debsDir(),
  };
}
