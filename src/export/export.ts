/**
 * `export`: one of my snapshots with its chain, as a local repository in a
 * folder (layout.ts), for restores without the network. In order:
 *
 *   the folder's index, if any: same account, else refused
 *   the chain from the server, verified against my registered keys (nothing is written before)
 *   manifests/<id>.kvg for every link
 *   blobs/<hex> for every blob the folded snapshot needs that the folder does not have
 *     (same name and size: kept; else downloaded to <hex>.part, sha256 checked, renamed);
 *     after a prune, the packs its moved data lives in instead of the repacked ones (moved-packs.ts)
 *   vault.json, keys.json (my public keys, signed with my identity)
 *   debs/ (--with-debs: debs.ts)
 *   koder-export.json last: it names a snapshot only once everything it needs is there
 *
 * A second export into the same folder writes only what is new (packs of
 * the new captures, the new manifests); an interrupted one resumes its
 * `.part` files and leaves the previous index valid.
 */
import { mkdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { DriveClient } from '../drive/client.ts';
import { downloadBlob } from '../drive/download.ts';
import { pool } from '../drive/retry.ts';
import { driveBytes } from '../store/store-writer.ts';
import type { Identity } from '../keys/identity.ts';
import { fromB64 } from '../keys/b64.ts';
import { blobHex, blobRefs, resolveChain } from '../manifest/index.ts';
import { isV2Files, type Manifest } from '../manifest/types.ts';
import { writeFileAtomic } from '../util/atomic-write.ts';
import { CodedError } from '../util/coded-error.ts';
import { BLOBS_DIR, INDEX_FILE, KEYS_FILE, MANIFESTS_DIR, VAULT_FILE, parseIndex, signKeys, type ExportIndex, type ExportedSnapshot } from './layout.ts';
import { exportDebs, type DebsResult } from './debs.ts';
import { movedPacks } from './moved-packs.ts';

export interface ExportOptions {
  client: DriveClient;
  snapshotId: string;
  dir: string;
  /** My identity (the one the vault holds): it signs keys.json. */
  identity: Identity;
  /** Also the .debs of the snapshot's apt packages (debs.ts). */
  withDebs?: boolean;
  parallel?: number;
  signal?: AbortSignal;
  onProgress?: (p: { blobs: number; of: number; written: number }) => void;
  log?: (line: string) => void;
}

export interface ExportResult {
  snapshot: ExportedSnapshot;
  /** Blobs the snapshot needs, and how many of them this run wrote. */
  blobs: number;
  newBlobs: number;
  /** Bytes this run wrote into blobs/ (what the folder did not have). */
  written: number;
  debs?: DebsResult;
}

const opt = { mode: null } as const; // FAT drives refuse chmod

async function sizeOf(path: string): Promise<number | undefined> {
  return (await stat(path).catch(() => undefined))?.size;
}

/** The data v2 packs a manifest names (its folders' and its repositories' bundles'). */
function v2Packs(m: Manifest): string[] {
  const out: string[] = [];
  for (const f of m.files?.entry ?? []) if (isV2Files(f)) out.push(...f.packs.map(blobHex));
  for (const r of m.repos?.entry ?? []) out.push(...(r.bundle_packs ?? []).map(blobHex));
  return out;
}

export async function exportSnapshot(o: ExportOptions): Promise<ExportResult> {
  const c = o.client;
  const me = await c.me();
  const indexPath = join(o.dir, INDEX_FILE);
  const before = await readFile(indexPath, 'utf8').then(
    (t) => parseIndex(t, indexPath),
    (e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return undefined;
      throw e;
    },
  );
  if (before && before.user !== me.id) throw new CodedError('export_other_account', `${o.dir} holds the export of another account (${before.user}); export into another folder`);

  // The chain, verified before anything is written.
  const keys = await c.getKeys();
  if (!keys.some((k) => k.key_id === o.identity.keyId)) throw new CodedError('data_keys_locked', `the identity given (${o.identity.keyId.slice(0, 16)}…) is not one of this account's keys`);
  const { chain, folded } = await resolveChain(o.snapshotId, (id) => c.getManifest(id), keys.map((k) => fromB64(k.ed25519)!));
  const vault = await c.getVault();
  if (!vault) throw new CodedError('data_keys_locked', 'this account has no key vault: a drive could not be opened without it (run `koder-snapshot init` first)');

  await mkdir(join(o.dir, MANIFESTS_DIR), { recursive: true });
  await mkdir(join(o.dir, BLOBS_DIR), { recursive: true });
  for (const link of chain) {
    const file = join(o.dir, MANIFESTS_DIR, `${link.id}.kvg`);
    if ((await readFile(file, 'utf8').catch(() => '')) !== link.text) await writeFileAtomic(file, link.text, opt);
  }

  // Blobs: what the folder has (same name and size) stays. Packs the manifests
  // name that a prune repacked are replaced by the packs their data went to.
  const sizes = new Map((await c.listAllBlobs()).map((b) => [b.hash, b.size]));
  const named = blobRefs(folded).map(blobHex);
  const gone = new Set(v2Packs(folded).filter((h) => !sizes.has(h)));
  const refs = gone.size ? [...new Set([...named.filter((h) => !gone.has(h)), ...(await movedPacks(folded, o.identity, driveBytes(c), sizes, gone))])] : named;
  let done = 0;
  let written = 0;
  let newBlobs = 0;
  let total = 0;
  await pool(refs, o.parallel ?? 4, async (hex) => {
    const file = join(o.dir, BLOBS_DIR, hex);
    const size = sizes.get(hex);
    if (size === undefined) throw new CodedError('blob_missing', `the server does not have blob ${hex} that snapshot ${o.snapshotId.slice(0, 12)} needs`);
    total += size;
    if ((await sizeOf(file)) !== size) {
      const r = await downloadBlob(c, hex, file, o.signal ? { signal: o.signal } : {});
      written += r.size;
      newBlobs++;
    }
    done++;
    o.onProgress?.({ blobs: done, of: refs.length, written });
  });

  await writeFileAtomic(join(o.dir, VAULT_FILE), JSON.stringify(vault.doc, null, 1) + '\n', opt);
  await writeFileAtomic(join(o.dir, KEYS_FILE), JSON.stringify(signKeys(me.id, keys, o.identity), null, 1) + '\n', opt);
  const debs = o.withDebs ? await exportDebs(o.dir, folded.apps?.apt ?? [], o.log ?? (() => undefined)) : undefined;

  const leaf = chain.at(-1)!;
  const entry: ExportedSnapshot = {
    id: leaf.id,
    hostname: folded.snapshot.hostname,
    created_at: folded.snapshot.created_at,
    chain: chain.map((l) => l.id),
    bytes: total,
    exported_at: Date.now(),
    ...(debs || before?.snapshots.find((s) => s.id === leaf.id)?.debs ? { debs: true } : {}),
  };
  const index: ExportIndex = {
    format: 'koder-export',
    version: 1,
    user: me.id,
    server: c.base,
    snapshots: [entry, ...(before?.snapshots ?? []).filter((s) => s.id !== leaf.id)].sort((a, b) => Date.parse(b.created_at) - Date.parse(a.created_at)),
  };
  await writeFileAtomic(indexPath, JSON.stringify(index, null, 1) + '\n', opt);
  return { snapshot: entry, blobs: refs.length, newBlobs, written, ...(debs ? { debs } : {}) };
}
