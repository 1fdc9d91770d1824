/** Signed manifests and blob bytes for tests. */
import { createHash, randomFillSync } from 'node:crypto';
import { serialize, sign, snapshotId, type Manifest } from '../../src/manifest/index.ts';
import { generateIdentity, publicIdentity, type Identity } from '../../src/keys/identity.ts';

export { generateIdentity, publicIdentity, type Identity };

export function blob(size = 1000): { bytes: Buffer<ArrayBuffer>; hex: string } {
  const bytes = randomFillSync(Buffer.alloc(size));
  return { bytes, hex: createHash('sha256').update(bytes).digest('hex') };
}

let n = 0;
export function manifest(o: { blobs?: string[]; parent?: string; hostname?: string; user?: string } = {}): Manifest {
  n++;
  return {
    snapshot: {
      version: 1,
      hostname: o.hostname ?? `host-${n}`,
      created_at: new Date(Date.UTC(2026, 0, 1, 0, 0, n)).toISOString().replace('.000Z', 'Z'),
      koder_user_id: o.user ?? 'someone',
      ...(o.parent ? { parent: o.parent } : {}),
    },
    system: { timezone: 'America/Recife' },
    files: { entry: (o.blobs ?? []).map((hex, i) => ({ local_path: `~/dir${n}-${i}`, blob: `sha256:${hex}` as const, sha256: hex, size: 1 })) },
  };
}

/** Signs and serializes; returns the text and the snapshot id. */
export function signed(m: Manifest, id: Identity): { text: string; id: string } {
  const s = sign(m, id.signing.seed);
  return { text: serialize(s), id: snapshotId(s) };
}
