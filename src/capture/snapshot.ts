/**
 * capture(): one snapshot of this machine, uploaded.
 *
 *   lock the cache → who am I (server) → the latest snapshot of this host:
 *   resolveChain + fold (verified) → run the collectors (collect.ts) → the
 *   full manifest → diff(parent, full, parentId): a delta (or the full one
 *   with `full`, without a parent, or when the chain is `max_chain` deep) →
 *   sign → upload the blobs the delta references that the server lacks
 *   (HEAD) → post the manifest → save the scan state, empty the blob cache.
 *
 * Interrupted anywhere, nothing is half-done on the server: blobs are
 * content-addressed and complete or absent, and the manifest is posted last
 * (a blob without a manifest is collected by the server after 24 h). Running
 * again reuses the blobs already uploaded (HEAD) and the folders' archives
 * still in the cache. `dryRun` does everything but the upload and the post.
 */
import { hostname as osHostname } from 'node:os';
import { mkdir, readFile } from 'node:fs/promises';
import type { DriveClient } from '../drive/client.ts';
import type { SnapshotSummary, TokenSource } from '../drive/types.ts';
import type { Identity } from '../keys/identity.ts';
import { publicIdentity } from '../keys/identity.ts';
import { openSealed, seal } from '../keys/seal.ts';
import { blobHex, blobRefs, diff, isHostname, normalize, parse, resolveChain, serialize, sign, snapshotId, type Manifest } from '../manifest/index.ts';
import { CATEGORIES, type Category } from '../restore-machine/plan.ts';
import { BlobStore } from './blob-store.ts';
import { collect, type Sections } from './collect.ts';
import type { CaptureConfig } from './config.ts';
import type { BlobItem, CollectContext, Sealer } from './context.ts';
import { CaptureError, errMessage } from './errors.ts';
import { acquireLock } from './lock.ts';
import { expandHome, inRoot } from './paths.ts';
import type { CaptureEvent } from './progress.ts';
import { SkipMatcher } from './skips.ts';
import { CaptureState } from './state.ts';
import { openDataV2 } from './data-v2.ts';
import { saveLastCapture } from './last-result.ts';
import { zstdWorkers } from './config.ts';

export interface CaptureOptions {
  config: CaptureConfig;
  /** The captured home (`~`), default $HOME. */
  home: string;
  /** Root of the system files, default `/`. */
  root?: string;
  /**
   * Collect only these categories; the others are carried over from the
   * parent. Both are limited to the config's `[snapshot] categories`: a
   * category left out there is neither collected nor carried.
   */
  only?: readonly Category[];
  /** A full snapshot even when there is a parent. */
  full?: boolean;
  /** Build everything, upload and post nothing. */
  dryRun?: boolean;
  /** The server; optional for a dry run (then no parent, no diff). */
  client?: DriveClient;
  /**
   * @deprecated Ignored: the blob PUTs (drive/upload.ts) use the client's own
   * tokens. Kept so existing callers still type-check.
   */
  tokens?: TokenSource | string;
  /** Signs the snapshot and seals the secrets; optional for a dry run. */
  identity?: Identity;
  now?: () => Date;
  onEvent?: (e: CaptureEvent) => void;
  signal?: AbortSignal;
}

export interface CaptureBlob {
  hex: string;
  label: string;
  size: number;
  /** Uploaded now (false: the server had it, or a dry run). */
  sent: boolean;
}

export interface CaptureResult {
  /** Id of the snapshot (posted, or that would be posted). */
  id: string;
  /** What was (or would be) posted: a delta or a full manifest, signed when an identity was given. */
  manifest: Manifest;
  text: string;
  /** The full manifest of this capture (normalized, unsigned). */
  full: Manifest;
  parentId?: string;
  kind: 'full' | 'delta';
  /** The blobs the posted manifest references. */
  blobs: CaptureBlob[];
  /** Blob bytes sent to the server. */
  uploadedBytes: number;
  /** Data v2: bytes of new chunks and tree objects packed by this capture (before upload; what a dry run would send at most). */
  packedBytes: number;
  posted: boolean;
  warnings: string[];
}

/** This machine's hostname, as an RFC 1123 name (the config's, the root's /etc/hostname, or the kernel's). */
export async function captureHostname(cfg: CaptureConfig, root: string): Promise<string> {
  let name = cfg.snapshot.hostname;
  if (!name && root !== '/') name = (await readFile(inRoot(root, '/etc/hostname'), 'utf8').catch(() => '')).trim();
  if (!name) name = osHostname();
  if (isHostname(name)) return name;
  const cleaned = name
    .toLowerCase()
    .replace(/[^a-z0-9.-]/g, '-')
    .split('.')
    .map((l) => l.replace(/^-+|-+$/g, '').slice(0, 63))
    .filter(Boolean)
    .join('.')
    .slice(0, 253);
  return isHostname(cleaned) ? cleaned : 'localhost';
}

const time = (s: SnapshotSummary) => {
  const t = Date.parse(s.created_at);
  return Number.isNaN(t) ? 0 : t;
};

/** The newest snapshot of `host` in a listing (by created_at, then upload time). */
export function latestOfHost(list: readonly SnapshotSummary[], host: string): SnapshotSummary | undefined {
  return list.filter((s) => s.hostname === host).sort((a, b) => time(b) - time(a) || b.uploaded_at - a.uploaded_at)[0];
}

function sealerFor(id: Identity): Sealer {
  return {
    seal: async (plain) => Buffer.from(await seal(plain, id.sealing.publicKey)).toString('base64'),
    open: async (sealed) => {
      try {
        return await openSealed(new Uint8Array(Buffer.from(sealed, 'base64')), id.sealing);
      } catch {
        return undefined;
      }
    },
  };
}

/** The sections of the parent for the categories this capture neither collected nor leaves out. */
function carryOver(parent: Manifest | undefined, notCarried: readonly Category[]): Sections {
  const out: Sections = {};
  if (!parent) return out;
  for (const c of CATEGORIES) {
    if (notCarried.includes(c)) continue;
    const v = (parent as unknown as Record<string, unknown>)[c];
    if (v !== undefined) (out as Record<string, unknown>)[c] = structuredClone(v);
  }
  return out;
}

export async function capture(o: CaptureOptions): Promise<CaptureResult> {
  const cfg = o.config;
  const root = o.root ?? '/';
  const wanted = cfg.snapshot.categories;
  const only = (o.only?.length ? [...o.only] : [...CATEGORIES]).filter((c) => wanted.includes(c));
  /** Categories neither collected nor carried over: the config leaves them out. */
  const leftOut = CATEGORIES.filter((c) => !wanted.includes(c));
  const now = o.now ?? (() => new Date());
  const warnings: string[] = [];
  const emit = (e: CaptureEvent) => o.onEvent?.(e);
  const warn = (message: string) => {
    warnings.push(message);
    emit({ type: 'warning', message });
  };
  if (!o.dryRun && (!o.client || !o.identity)) throw new CaptureError('no_identity', 'a capture that uploads needs a server login (client) and an identity');

  const cacheDir = expandHome(cfg.cache.dir, process.env.HOME ?? o.home);
  await mkdir(cacheDir, { recursive: true, mode: 0o700 });
  const release = await acquireLock(cacheDir);
  try {
    const store = await BlobStore.open(cacheDir);
    const state = await CaptureState.load(cacheDir);
    const host = await captureHostname(cfg, root);
    const userId = o.client ? (await o.client.me()).id : 'local';

    // The parent: the newest snapshot of this host, verified and folded.
    let parent: { id: string; folded: Manifest; depth: number } | undefined;
    if (o.client) {
      const latest = latestOfHost(await o.client.listSnapshots(), host);
      if (latest) {
        const trusted: Uint8Array[] = (await o.client.getKeys()).map((k) => new Uint8Array(Buffer.from(k.ed25519, 'base64')));
        if (o.identity) trusted.push(o.identity.signing.publicKey);
        try {
          const chain = await resolveChain(latest.id, (id) => o.client!.getManifest(id), trusted);
          parent = { id: latest.id, folded: chain.folded, depth: latest.depth };
        } catch (e) {
          warn(`the latest snapshot of ${host} (${latest.id.slice(0, 12)}) does not verify (${errMessage(e)}); making a full snapshot`);
        }
      }
    }
    const version: 1 | 2 = cfg.files.format === 2 ? 2 : 1;
    const chainTooDeep = parent !== undefined && parent.depth + 1 >= cfg.snapshot.max_chain;
    // A chain keeps one data version: the first v2 capture after a v1 chain is a full v2 snapshot.
    const otherVersion = parent !== undefined && parent.folded.snapshot.version !== version;
    const asDelta = parent !== undefined && !o.full && !chainTooDeep && !otherVersion;
    emit({
      type: 'parent',
      ...(asDelta ? { id: parent!.id, depth: parent!.depth } : {}),
      reason: !parent ? `no earlier snapshot of ${host}: full snapshot` : o.full ? 'full snapshot (--full)' : otherVersion ? `the latest snapshot of ${host} is data version ${parent.folded.snapshot.version}: full version ${version} snapshot` : chainTooDeep ? `chain is ${parent.depth + 1} deep (max_chain ${cfg.snapshot.max_chain}): full snapshot` : `delta from ${parent.id.slice(0, 12)}`,
    });

    const userEnv: NodeJS.ProcessEnv = { ...process.env, HOME: o.home };
    if (process.env.HOME !== o.home) for (const k of ['XDG_CONFIG_HOME', 'XDG_DATA_HOME', 'XDG_CACHE_HOME', 'XDG_STATE_HOME']) delete userEnv[k];
    const blobs = new Map<string, BlobItem>();
    const v2 =
      version === 2 && (only.includes('files') || only.includes('repos'))
        ? await openDataV2({
            cacheDir,
            userId,
            ...(o.client && !o.dryRun ? { client: o.client } : {}),
            ...(o.identity ? { identity: o.identity } : {}),
            level: cfg.files.zstd_level,
            workers: zstdWorkers(cfg),
            packMib: cfg.files.pack_mib,
            keep: cfg.cache.keep_blobs,
            ...(o.signal ? { signal: o.signal } : {}),
            uploadEvents: {
              start: (it) => emit({ type: 'upload.start', label: it.label, hex: it.hex, size: it.size }),
              done: (it, sent, ms) => emit({ type: 'upload.done', label: it.label, hex: it.hex, size: it.size, sent, ms }),
            },
            warn,
          })
        : undefined;
    try {
      const ctx: CollectContext = {
        root,
        home: o.home,
        config: cfg,
        userEnv,
        store,
        state,
        skip: new SkipMatcher(cfg.skips.patterns, o.home),
        ...(parent ? { parent: parent.folded } : {}),
        ...(o.identity ? { sealer: sealerFor(o.identity) } : {}),
        ...(v2 ? { v2 } : {}),
        blobs,
        repoWorktrees: [],
        warn,
        emit,
        ...(o.signal ? { signal: o.signal } : {}),
      };
      const sections = await collect(ctx, only);
      // Data v2: seal the last packs, write the tree roots, wait for every upload; then the entries are complete.
      await v2?.finish();

      const header = { version, hostname: host, created_at: now().toISOString(), koder_user_id: userId };
      // Folders and bundles of a parent of the other data version cannot be carried into this one.
      const carried = [...only, ...leftOut, ...(otherVersion ? (['files', 'repos'] as const) : [])];
      if (otherVersion && (!only.includes('files') || !only.includes('repos'))) warn(`the latest snapshot is data version ${parent!.folded.snapshot.version}: its folders and repositories are not carried into this version ${version} snapshot`);
      const full = normalize({ snapshot: header, ...carryOver(parent?.folded, carried), ...sections } as Manifest);
      let manifest = asDelta ? diff(parent!.folded, full, parent!.id) : full;
      if (o.identity) manifest = sign(manifest, o.identity.signing.seed);
      const text = serialize(manifest);
      parse(text, 'the new snapshot'); // never post what we could not read back
      const id = snapshotId(manifest);
      const refs = blobRefs(manifest).map(blobHex);
    // Data v2's packs and tree roots: the store uploaded them (or found them stored) already.
    const v2Refs = new Set<string>();
    for (const f of manifest.files?.entry ?? []) if (f.tree !== undefined) for (const r of [f.tree, ...f.packs]) v2Refs.add(blobHex(r));
    for (const r of manifest.repos?.entry ?? []) for (const x of [r.bundle_tree, ...(r.bundle_packs ?? [])]) if (x) v2Refs.add(blobHex(x));
      const result: CaptureResult = {
        id,
        manifest,
        text,
        full,
        ...(asDelta ? { parentId: parent!.id } : {}),
        kind: asDelta ? 'delta' : 'full',
        blobs: refs.map((hex) => ({ hex, label: v2Refs.has(hex) ? 'data v2' : (blobs.get(hex)?.label ?? 'from an earlier snapshot'), size: blobs.get(hex)?.size ?? 0, sent: false })),
        uploadedBytes: 0,
        packedBytes: v2?.writer.newBytes ?? 0,
        posted: false,
        warnings,
      };
      await state.save();
      if (o.dryRun) return result;

      const client = o.client!;
      await client.addKey(publicIdentity(o.identity!));
      if (v2) result.uploadedBytes += v2.writer.uploader.sentBytes;
      for (const b of result.blobs) {
        o.signal?.throwIfAborted();
        if (v2 && b.label === 'data v2') continue; // uploaded (or found) by the store
        const item = blobs.get(b.hex);
        if (!item) {
          // Kept from the parent (a folder that could not be read this time): it must be on the server already.
          if ((await client.headBlob(b.hex)) === undefined) throw new CaptureError('upload_failed', `blob ${b.hex} (${b.label}) is neither here nor on the server`);
          continue;
        }
        if (!(await store.has(b.hex))) {
          if ((await client.headBlob(b.hex)) !== undefined) {
            emit({ type: 'upload.done', label: b.label, hex: b.hex, size: b.size, sent: false, ms: 0 });
            continue;
          }
          if (!item.rebuild) throw new CaptureError('upload_failed', `blob ${b.hex} (${b.label}) is no longer in the cache`);
          await item.rebuild();
        }
        const t0 = Date.now();
        emit({ type: 'upload.start', label: b.label, hex: b.hex, size: b.size });
        let last = 0;
        const up = await client.uploadBlob(b.hex, store.path(b.hex), {
          ...(o.signal ? { signal: o.signal } : {}),
          onProgress: (done, size) => {
            const t = Date.now();
            if (t - last < 100) return;
            last = t;
            emit({ type: 'upload.progress', label: b.label, hex: b.hex, done, size });
          },
        });
        b.sent = up.sent;
        if (up.sent) result.uploadedBytes += up.size;
        emit({ type: 'upload.done', label: b.label, hex: b.hex, size: up.size, sent: up.sent, ms: Date.now() - t0 });
      }
      const posted = await client.postManifest(text);
      if (posted.id !== id) throw new CaptureError('upload_failed', `the server stored the snapshot as ${posted.id}, expected ${id}`);
      result.posted = true;
      emit({ type: 'posted', id: posted.id, created: posted.created });
      await saveLastCapture(cacheDir, { id, at: now().toISOString(), kind: result.kind, uploadedBytes: result.uploadedBytes, warnings })
        .catch((e) => warn(`could not record this capture's outcome in ${cacheDir}: ${errMessage(e)}`));
      if (!cfg.cache.keep_blobs) for (const hex of await store.list()) await store.remove(hex);
      return result;
    } catch (e) {
      await v2?.close(e);
      throw e;
    } finally {
      await v2?.close();
    }
  } finally {
    await release();
  }
}
