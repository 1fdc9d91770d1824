/** A snapshot named by a unique prefix of its id (as `list` prints), among mine and, optionally, those shared with me. */
import type { DriveClient } from './client.ts';
import { DriveError } from './errors.ts';

export async function resolveSnapshotId(c: DriveClient, idOrPrefix: string, o: { includeShared?: boolean } = {}): Promise<{ id: string; owner?: string }> {
  const p = idOrPrefix.toLowerCase();
  if (!/^[0-9a-f]{4,64}$/.test(p)) throw new DriveError(0, 'invalid_snapshot_id', `not a snapshot id (hex, at least 4 digits): ${idOrPrefix}`);
  const mine = (await c.listSnapshots()).filter((s) => s.id.startsWith(p)).map((s) => ({ id: s.id, owner: undefined as string | undefined }));
  const shared = o.includeShared ? (await c.sharedWithMe()).filter((s) => s.id.startsWith(p)).map((s) => ({ id: s.id, owner: s.owner_id })) : [];
  const all = [...mine, ...shared];
  if (all.length === 1) return all[0]!;
  if (all.length === 0) {
    if (p.length === 64) return { id: p }; // maybe an ancestor of a shared chain: let the server decide
    throw new DriveError(404, 'not_found', `no snapshot id starts with ${p}`);
  }
  throw new DriveError(0, 'ambiguous_id', `${all.length} snapshots start with ${p}: give more digits`);
}
