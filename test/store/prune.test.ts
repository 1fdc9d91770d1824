/**
 * prune (data v2) against the real server: after the snapshot that used
 * most of some packs is deleted, prune repacks the chunks still in use,
 * the server stores less, and the remaining snapshot restores byte-identical
 * — its trees still name the old packs, and the owner's restore finds the
 * moved chunks through the packs' tables of contents. A shared snapshot's
 * packs are kept until the share is revoked.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { capture, type CaptureResult } from '../../src/capture/index.ts';
import { applyFiles } from '../../src/chroot-appliers/files.ts';
import { resolveTarget } from '../../src/chroot-appliers/target.ts';
import { driveBlobSource } from '../../src/daemon/drive-blobs.ts';
import { DriveClient } from '../../src/drive/index.ts';
import { generateIdentity, publicIdentity, type Identity } from '../../src/keys/identity.ts';
import { createVault } from '../../src/keys/index.ts';
import { exportSnapshot } from '../../src/export/export.ts';
import { LocalRepo } from '../../src/export/local-repo.ts';
import { exportSource } from '../../src/daemon/restore-source.ts';
import type { BlobSource } from '../../src/chroot-appliers/applier.ts';
import { blobHex, blobRefs, resolveChain } from '../../src/manifest/index.ts';
import { prune } from '../../src/store/prune.ts';
import { assertShareable } from '../../src/store/share-keys.ts';
import { SnapshotFiles } from '../../src/store/snapshot-files.ts';
import { driveBytes } from '../../src/store/store-writer.ts';
import { hasCode } from '../../src/util/coded-error.ts';
import { applyContext } from '../helpers/apply-context.ts';
import { byteTree } from '../helpers/byte-tree.ts';
import { Prng } from '../helpers/prng.ts';
import { loginAs, testServer, type TestServer } from '../server/fixture.ts';
import { testConfig } from '../capture/fixture.ts';

let srv: TestServer;
let base: string;
let client: DriveClient;
let identity: Identity;
let userId: string;
let s2: CaptureResult;
const home = () => join(base, 'home');
const docs = () => join(home(), 'Documentos');
const cfg = () => testConfig(base, (c) => ((c.files.folders = ['~/Documentos']), (c.files.pack_mib = 4), (c.snapshot.hostname = 'prune-test')));
const stored = async () => (await client.listAllBlobs()).reduce((n, b) => n + b.size, 0);

beforeAll(async () => {
  base = mkdtempSync(join(tmpdir(), 'koder-prune-'));
  srv = await testServer();
  client = new DriveClient({ server: srv.url, tokens: (await loginAs(srv, 'ana')).access_token });
  userId = (await client.me()).id;
  identity = await generateIdentity();
  await client.putKeys([publicIdentity(identity)]);
  await client.putVault((await createVault(identity, { passphrase: 'prune passphrase', kdf: 'min' })).vault); // export needs it
  await srv.addUser('bia', 'bia-password-1');
  mkdirSync(docs(), { recursive: true });
  const rnd = new Prng(9);
  for (let i = 0; i < 30; i++) writeFileSync(join(docs(), `f${String(i).padStart(2, '0')}.bin`), rnd.bytes(300 * 1024));
  const s1 = await capture({ config: cfg(), home: home(), only: ['files'], client, identity });
  // Two thirds of the files go; a full snapshot of the rest reuses S1's chunks, in S1's packs.
  for (let i = 0; i < 30; i++) if (i % 3 !== 0) unlinkSync(join(docs(), `f${String(i).padStart(2, '0')}.bin`));
  s2 = await capture({ config: cfg(), home: home(), only: ['files'], client, identity, full: true });
  expect(s2.kind).toBe('full');
  expect(s2.uploadedBytes).toBeLessThan(100_000); // only trees: the data is S1's
  await client.deleteSnapshot(s1.id);
}, 120_000);
afterAll(async () => {
  await srv?.cleanup();
  if (base) rmSync(base, { recursive: true, force: true });
});

async function restoreS2(name: string, blobs: BlobSource = driveBlobSource(client)) {
  const root = join(base, name);
  mkdirSync(join(root, 'etc'), { recursive: true });
  mkdirSync(join(root, 'home', 'ana'), { recursive: true });
  writeFileSync(join(root, 'etc', 'passwd'), `ana:x:${process.getuid!()}:${process.getgid!()}::/home/ana:/bin/sh\n`);
  const { folded } = await resolveChain(s2.id, (id) => client.getManifest(id), [identity.signing.publicKey]);
  const ctx = applyContext({ target: await resolveTarget(root, 'ana'), manifest: folded, choice: { snapshotId: s2.id, categories: ['files'] }, blobs, identity });
  const r = await applyFiles(ctx.plan.steps.find((s) => s.kind === 'files.restore')!, ctx, () => {});
  return { r, dir: join(root, 'home/ana/Documentos') };
}

describe('prune', () => {
  it('keeps the packs of a shared snapshot', async () => {
    await client.share(s2.id, 'bia');
    const r = await prune({ client, identity, userId, cacheDir: join(base, 'cache') });
    expect(r.candidates).toEqual([]);
    expect(r.pinned).toBeGreaterThan(0);
    await client.unshare(s2.id, 'bia');
  }, 60_000);

  it('repacks half-empty packs: the server stores less, the snapshot restores byte-identical from the moved chunks', async () => {
    const before = await stored();
    const dry = await prune({ client, identity, userId, cacheDir: join(base, 'cache'), dryRun: true });
    expect(dry.candidates.length).toBeGreaterThan(0);
    expect(await stored()).toBe(before);

    const r = await prune({ client, identity, userId, cacheDir: join(base, 'cache') });
    expect(r.candidates.length).toBe(dry.candidates.length);
    expect(r.rewritten).toBe(1);
    const after = await stored();
    expect(after).toBeLessThan(before);
    expect(before - after).toBe(r.freed);
    // About two thirds of the data was unused: well over a third of the bytes go.
    expect(r.freed).toBeGreaterThan(before / 3);

    const { r: out, dir } = await restoreS2('target-after-prune');
    expect(out.status, out.message).toBe('done');
    expect(byteTree(dir)).toEqual(byteTree(docs()));
    // Nothing left to do.
    expect((await prune({ client, identity, userId, cacheDir: join(base, 'cache') })).candidates).toEqual([]);
  }, 60_000);

  it('an export after the prune carries the packs the chunks moved to (not the repacked ones): restored from the drive alone, byte-identical', async () => {
    const dir = join(base, 'usb');
    await exportSnapshot({ client, snapshotId: s2.id, dir, identity });
    const live = new Set((await client.listAllBlobs()).map((b) => b.hash));
    const { folded } = await resolveChain(s2.id, (id) => client.getManifest(id), [identity.signing.publicKey]);
    expect(blobRefs(folded).map(blobHex).some((h) => !live.has(h))).toBe(true); // the manifest still names repacked packs
    const exported = readdirSync(join(dir, 'blobs'));
    expect(exported.every((h) => live.has(h))).toBe(true);
    const { r: out, dir: restored } = await restoreS2('target-from-export', exportSource(await LocalRepo.open(dir)).blobs(undefined));
    expect(out.status, out.message).toBe('done');
    expect(byteTree(restored)).toEqual(byteTree(docs()));
  }, 60_000);

  it('a capture after the prune dedups against the new packs: only trees with the new locations are uploaded', async () => {
    const s3 = await capture({ config: cfg(), home: home(), only: ['files'], client, identity });
    expect(s3.kind).toBe('delta');
    expect(s3.uploadedBytes).toBeGreaterThan(0);
    expect(s3.uploadedBytes).toBeLessThan(20_000); // no file's data: 10 × 300 KiB stay where the prune put them

    // Sharing: the pruned snapshot is refused (a recipient could not reach its moved chunks); the new one names live packs.
    const live = new Set((await client.listAllBlobs()).map((b) => b.hash));
    const chain = async (id: string) => (await resolveChain(id, (x) => client.getManifest(x), [identity.signing.publicKey])).folded;
    let refused: unknown;
    try {
      assertShareable(s2.id, await chain(s2.id), live);
    } catch (e) {
      refused = e;
    }
    expect(hasCode(refused, 'share_pruned'), String(refused)).toBe(true);
    const s3Chain = await chain(s3.id);
    expect(() => assertShareable(s3.id, s3Chain, live)).not.toThrow();
  }, 60_000);

  it('a prune that repacks every pack moves the tree objects too: browsing (ls, the Backup app) finds them as a restore does', async () => {
    const r = await prune({ client, identity, userId, cacheDir: join(base, 'cache'), threshold: 1.01 });
    expect(r.rewritten).toBeGreaterThan(0);
    const { folded } = await resolveChain(s2.id, (id) => client.getManifest(id), [identity.signing.publicKey]);
    const unmoved = new SnapshotFiles(folded, driveBytes(client), { seed: identity.signing.seed });
    await expect(unmoved.list('~/Documentos')).rejects.toThrow(); // its tree objects' pack is gone
    const listed = await new SnapshotFiles(folded, driveBytes(client), { seed: identity.signing.seed }, { list: () => client.listAllBlobs() }).list('~/Documentos');
    expect(listed.map((e) => e.text).sort()).toEqual(readdirSync(docs()).sort());
    const { r: out, dir } = await restoreS2('target-after-full-prune');
    expect(out.status, out.message).toBe('done');
    expect(byteTree(dir)).toEqual(byteTree(docs()));
  }, 60_000);
});
