/**
 * pull: one snapshot with its whole chain, verified, into a folder.
 *   fetch leaf → parent → … → root, each checked against its id and signed by
 *   a trusted key (resolveChain) → write OUT/<id>.kvg for each → download the
 *   blobs the folded manifest needs into OUT/blobs/<hex> (N at a time, sha256
 *   checked, resumed after drops).
 * Trusted keys: the ones given, else the owner's keys as the server lists
 * them (a server that lies about keys can only make verification fail for
 * manifests it cannot sign; pass keys explicitly to pin them).
 * Interrupted, a second run resumes partial blobs and rewrites the manifests.
 */
import { mkdir, writeFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { blobHex, blobRefs, resolveChain, type Manifest } from '../manifest/index.ts';
import { fromB64 } from '../keys/b64.ts';
import type { DriveClient } from './client.ts';
import type { DownloadResult } from './download.ts';

export interface PullOptions {
  /** Owner id, for a snapshot shared with me. */
  owner?: string;
  /** Raw Ed25519 public keys to trust; default: the owner's registered keys. */
  trusted?: Uint8Array[];
  parallel?: number;
  /** Also download blobs only older links reference (default: only what the folded manifest needs). */
  allBlobs?: boolean;
  signal?: AbortSignal;
  onBlob?: (r: DownloadResult) => void;
}

export interface PullResult {
  /** Root first. */
  chain: { id: string; file: string }[];
  folded: Manifest;
  blobs: DownloadResult[];
}

export async function pullSnapshot(c: DriveClient, id: string, out: string, o: PullOptions = {}): Promise<PullResult> {
  const trusted = o.trusted ?? (await c.getKeys(o.owner)).map((k) => fromB64(k.ed25519)).filter((k): k is Uint8Array => !!k);
  const { chain, folded } = await resolveChain(id, (x) => c.getManifest(x, o.owner), trusted);
  await mkdir(join(out, 'blobs'), { recursive: true });
  const files: { id: string; file: string }[] = [];
  for (const link of chain) {
    const file = join(out, `${link.id}.kvg`);
    await writeFile(`${file}.tmp`, link.text, { mode: 0o600 });
    await rename(`${file}.tmp`, file);
    files.push({ id: link.id, file });
  }
  const refs = new Set((o.allBlobs ? chain.flatMap((l) => blobRefs(l.manifest)) : blobRefs(folded)).map(blobHex));
  const blobs = await c.downloadBlobs(
    [...refs].map((hex) => ({ hex, dest: join(out, 'blobs', hex) })),
    { parallel: o.parallel ?? 4, owner: o.owner, signal: o.signal },
  );
  for (const b of blobs) o.onBlob?.(b);
  return { chain: files, folded, blobs };
}
