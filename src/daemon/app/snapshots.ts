/**
 * The app's snapshots: the listing (mine, and shared with me), a snapshot's
 * details (its verified, folded chain: system settings, apps with counts,
 * repositories, secrets by name only, folders with sizes), its files (data
 * v2 trees, read and authenticated on the way down, src/store/
 * snapshot-files.ts; a version 1 snapshot lists its folders only), what
 * deleting it frees, deleting it, and restoring chosen files into the home
 * (restore-files.ts, as a job).
 *
 * A snapshot shared with me is read from its owner's storage and opened
 * with the tree keys the share sealed to my key (never the owner's keys).
 */
import { blobHex, blobRefs, parse } from '../../manifest/index.ts';
import { isV2Files } from '../../manifest/types.ts';
import type { SnapshotSummary } from '../../restore-machine/types.ts';
import { driveBytes } from '../../store/store-writer.ts';
import { openShareKeys } from '../../store/share-keys.ts';
import { SnapshotFiles, type TreeKeys } from '../../store/snapshot-files.ts';
import type { BlobBytes } from '../../store/tree-reader.ts';
import type { Identity } from '../../keys/identity.ts';
import type { Manifest } from '../../manifest/types.ts';
import { CodedError } from '../../util/coded-error.ts';
import { driveBlobSource } from '../drive-blobs.ts';
import { snapshotDetails } from '../verified-chains.ts';
import { categorySizes } from '../../restore-machine/plan.ts';
import type { DeletePlan, FileList, RestoreMode, SnapshotDetails, SnapshotFull } from './contract.ts';
import { checkPaths, restoreFiles } from './restore-files.ts';
import type { AppSession } from './session.ts';

const ID = /^[0-9a-f]{64}$/;

export function checkId(id: string): string {
  if (!ID.test(id)) throw new CodedError('app_bad_request', `not a snapshot id: ${JSON.stringify(id)}`);
  return id;
}

/** Who shared a listed snapshot with me (by id), kept from the last listing. */
const owners = new WeakMap<AppSession, Map<string, { id: string; name: string }>>();

export async function listSnapshots(s: AppSession): Promise<{ mine: SnapshotSummary[]; shared: SnapshotSummary[] }> {
  const c = await s.client();
  const me = s.myId();
  const [mine, shared] = await Promise.all([c.listSnapshots(), c.sharedWithMe()]);
  owners.set(s, new Map(shared.map((x) => [x.id, { id: x.owner_id, name: x.owner_name }])));
  const newest = (a: SnapshotSummary, b: SnapshotSummary) => Date.parse(b.createdAt) - Date.parse(a.createdAt);
  return {
    mine: mine.map((x) => ({ id: x.id, hostname: x.hostname, createdAt: x.created_at, owner: me, shared: false, chainDepth: x.depth, bytes: x.blobs_size })).sort(newest),
    shared: shared.map((x) => ({ id: x.id, hostname: x.hostname, createdAt: x.created_at, owner: x.owner_id, ownerName: x.owner_name, shared: true, chainDepth: x.depth, bytes: x.blobs_size })).sort(newest),
  };
}

/** The owner of `id` when it was shared with me (asked of the server when not listed yet); undefined: mine. */
async function ownerOf(s: AppSession, id: string): Promise<{ id: string; name: string } | undefined> {
  let known = owners.get(s);
  if (!known?.has(id)) {
    await listSnapshots(s);
    known = owners.get(s);
  }
  return known?.get(id);
}

async function folded(s: AppSession, id: string) {
  const owner = await ownerOf(s, checkId(id));
  return { owner, ...(await s.chains.get(id, owner?.id)) };
}

/** The card's details: the same answer as the wizard's daemon gives. */
export async function snapshotCard(s: AppSession, id: string): Promise<SnapshotDetails> {
  const f = await folded(s, id);
  return snapshotDetails(id, f.folded);
}

export async function snapshotFull(s: AppSession, id: string): Promise<SnapshotFull> {
  const { owner, folded: m, chain } = await folded(s, id);
  const sys = m.system ?? {};
  return {
    id,
    ...(owner ? { owner: owner.id, ownerName: owner.name } : {}),
    hostname: m.snapshot.hostname,
    createdAt: m.snapshot.created_at,
    version: m.snapshot.version === 2 ? 2 : 1,
    chain,
    system: {
      ...(sys.timezone ? { timezone: sys.timezone } : {}),
      ...(sys.locale ? { locale: sys.locale } : {}),
      ...(sys.keyboard ? { keyboard: sys.keyboard } : {}),
      ...(sys.gpu_driver ? { gpuDriver: sys.gpu_driver } : {}),
      desktopSettings: Object.values(sys.gsettings ?? {}).reduce((n, keys) => n + Object.keys(keys).length, 0),
    },
    apps: { apt: m.apps?.apt?.length ?? 0, flatpak: m.apps?.flatpak?.length ?? 0, snap: m.apps?.snap?.length ?? 0, kpkg: m.apps?.kpkg?.length ?? 0, sources: m.apps?.apt_sources?.length ?? 0 },
    repos: (m.repos?.entry ?? []).map((r) => ({ path: r.path, ...(r.url ? { url: r.url } : {}), ...(r.branch ? { branch: r.branch } : {}), bundled: Boolean(r.bundle || r.bundle_tree) })),
    secrets: Object.keys(m.secrets ?? {}).sort(),
    folders: (m.files?.entry ?? []).map((f) => ({ path: f.local_path, size: f.size, ...(isV2Files(f) ? { files: f.files } : {}), version: isV2Files(f) ? 2 : 1 })),
    bytes: Object.values(categorySizes(m)).reduce((n, c) => n + c.bytes, 0),
  };
}

/** The keys that open a snapshot's trees: mine from my identity, a shared one's from its share. */
async function treeKeys(s: AppSession, id: string, owner: { id: string } | undefined): Promise<TreeKeys> {
  const me = s.identity();
  if (!owner) return { seed: me.signing.seed };
  const sealed = await (await s.client()).shareKeys(owner.id, id);
  return { shared: sealed ? await openShareKeys(sealed, id, me.sealing) : new Map() };
}

/**
 * My snapshots' files readers, kept per identity (the keys they open trees
 * with) for the last few snapshots: a reader's tree roots and last decoded
 * tree objects serve the next folder the person opens, and the sizes of what
 * they then restore, without reading the trees again. Bytes go through the
 * session's client of the moment. A snapshot shared with me gets a new
 * reader each time: its share's keys are asked for again, so a revoked
 * share stops at once (the server answers 404).
 */
const readers = new WeakMap<Identity, Map<string, Promise<SnapshotFiles>>>();
const KEEP_READERS = 4;

async function readerOf(s: AppSession, id: string, owner: { id: string } | undefined, m: Manifest): Promise<SnapshotFiles> {
  if (owner) return new SnapshotFiles(m, driveBytes(await s.client(), owner.id), await treeKeys(s, id, owner));
  const me = s.identity();
  let kept = readers.get(me);
  if (!kept) readers.set(me, (kept = new Map()));
  let r = kept.get(id);
  if (r) kept.delete(id);
  else {
    const bytes: BlobBytes = { read: async (hex, start, end) => driveBytes(await s.client()).read(hex, start, end) };
    r = treeKeys(s, id, undefined).then((keys) => new SnapshotFiles(m, bytes, keys, { list: async () => (await s.client()).listAllBlobs() }));
    const mine = kept;
    r.catch(() => mine.delete(id));
  }
  kept.set(id, r); // the most recent last
  if (kept.size > KEEP_READERS) kept.delete(kept.keys().next().value!);
  return r;
}

/** The snapshot's folders (no path), or the entries of a folder inside it. */
export async function listFiles(s: AppSession, id: string, path: string | undefined): Promise<FileList> {
  const { owner, folded: m } = await folded(s, id);
  // The folders alone need no keys (nor a tree read); inside one, the snapshot's kept reader.
  const files = path ? await readerOf(s, id, owner, m) : new SnapshotFiles(m, driveBytes(await s.client(), owner?.id), {});
  const base = path?.replace(/\/+$/, '') ?? '';
  const entries = await files.list(base || undefined);
  return {
    path: base,
    entries: entries.map((e) => {
      const valid = Buffer.from(e.text, 'utf8').equals(e.name);
      const full = base ? `${base}/${e.text}` : e.text;
      return {
        name: e.text,
        path: full,
        type: e.type,
        ...(e.size !== undefined ? { size: e.size } : {}),
        ...(e.mtimeNs !== undefined ? { mtime: new Date(Number(e.mtimeNs / 1_000_000n)).toISOString() } : {}),
        ...(e.files !== undefined ? { files: e.files } : {}),
        ...(e.target !== undefined ? { target: e.target } : {}),
        selectable: valid && full.startsWith('~/'),
      };
    }),
  };
}

/** Raw blob references of each of my snapshots (content-addressed: read once). */
const refsCache = new Map<string, string[]>();

async function refsOf(s: AppSession, id: string): Promise<string[]> {
  let r = refsCache.get(id);
  if (!r) {
    const text = await (await s.client()).getManifest(id);
    r = blobRefs(parse(text, `snapshot ${id}`)).map(blobHex);
    refsCache.set(id, r);
  }
  return r;
}

/**
 * What deleting `id` does: it and every later snapshot built on it go, and
 * with them the blobs no remaining snapshot references, plus their manifests
 * (what the server's delete collects: src/server/store/snapshots.ts).
 */
export async function deletePlan(s: AppSession, id: string): Promise<DeletePlan> {
  checkId(id);
  const c = await s.client();
  const list = await c.listSnapshots();
  if (!list.some((x) => x.id === id)) throw new CodedError('path_not_in_snapshot', `${id} is not one of your snapshots`);
  const deletes = [id];
  for (let i = 0; i < deletes.length; i++) for (const x of list) if (x.parent === deletes[i] && !deletes.includes(x.id)) deletes.push(x.id);
  const going = new Set<string>();
  const staying = new Set<string>();
  for (const x of list) for (const h of await refsOf(s, x.id)) (deletes.includes(x.id) ? going : staying).add(h);
  const sizes = new Map<string, number>();
  for (let after: string | undefined, page; (page = await c.listBlobs(after ? { after } : {})); after = page.next) {
    for (const b of page.blobs) sizes.set(b.hash, b.size);
    if (!page.next) break;
  }
  let frees = list.filter((x) => deletes.includes(x.id)).reduce((n, x) => n + x.manifest_size, 0);
  for (const h of going) if (!staying.has(h)) frees += sizes.get(h) ?? 0;
  return { deletes, frees };
}

export async function deleteSnapshot(s: AppSession, id: string): Promise<{ deleted: string[] }> {
  checkId(id);
  const deleted = await (await s.client()).deleteSnapshot(id, { cascade: true });
  s.bump();
  return { deleted };
}

/** Starts restoring `paths` of a snapshot into the home (a job the page follows). */
export async function startRestore(s: AppSession, body: { snapshotId?: unknown; paths?: unknown; mode?: unknown }): Promise<string> {
  if (typeof body?.snapshotId !== 'string') throw new CodedError('app_bad_request', 'snapshotId: a snapshot id');
  if (body.mode !== 'new-folder' && body.mode !== 'in-place') throw new CodedError('app_bad_request', "mode: 'new-folder' or 'in-place'");
  if (!Array.isArray(body.paths)) throw new CodedError('app_bad_request', 'paths: a list of ~/… paths');
  const id = checkId(body.snapshotId);
  const mode = body.mode as RestoreMode;
  const { owner, folded: m } = await folded(s, id);
  const c = await s.client();
  const paths = checkPaths(m, body.paths as unknown[] as string[]);
  // A chosen file's size (a truer total than its folder's), read by the job from the reader the browsing used.
  const files = await readerOf(s, id, owner, m);
  const keys = files.keys;
  const sizeOf = async (p: string) => {
    const cut = p.lastIndexOf('/');
    const hit = (await files.list(p.slice(0, cut))).find((e) => e.text === p.slice(cut + 1));
    return hit?.type === 'file' ? hit.size : undefined;
  };
  return s.restore.start({ items: [], doneBytes: 0, totalBytes: 0, fraction: 0 }, (signal, report) =>
    restoreFiles({
      snapshotId: id,
      ...(owner ? { owner: owner.id } : {}),
      folded: m,
      paths,
      mode,
      home: s.home,
      user: s.user,
      uid: s.uid,
      gid: s.gid,
      blobs: driveBlobSource(c, owner?.id, signal),
      ...(owner ? { treeKeys: keys.shared ?? new Map() } : { identity: s.identity() }),
      sizeOf,
      signal,
      report,
      log: (l) => s.cfg.log?.(l),
    }),
  );
}
