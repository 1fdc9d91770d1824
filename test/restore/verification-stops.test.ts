/**
 * Which errors stop a restore (issue 12): only the verification failures,
 * as the catalogue (src/util/coded-error.ts) marks them — each one produced
 * by the real code path against the real server, nothing thrown by hand:
 *
 * - a manifest altered on its way (bad signature): prepare refuses the
 *   snapshot, nothing is applied (a manifest is verified before any step);
 * - a data v1 folder whose blob was altered on the server (a flipped byte:
 *   zstd or tar fail first, the blob is read again → hash_mismatch; another
 *   valid archive under the address → the extractor's hash_mismatch);
 * - a data v2 folder whose pack (chunk_auth_failed) or tree object
 *   (tree_format) was altered on the server.
 * Each stops run-plan at that step: the folder after it never runs.
 *
 * And nothing else does: a package the archives do not have (real apt in a
 * Debian root), a folder whose blob is not on the server, an authentic
 * archive with an entry we refuse — each reported, and the restore goes on
 * to the last folder.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { appendFile, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActor, fromCallback, fromPromise, waitFor, type EventObject } from 'xstate';
import { capture, type CaptureResult } from '../../src/capture/index.ts';
import { defaultAppliers } from '../../src/chroot-appliers/index.ts';
import { runPlan } from '../../src/chroot-appliers/run-plan.ts';
import { resolveTarget } from '../../src/chroot-appliers/target.ts';
import { driveBlobSource } from '../../src/daemon/drive-blobs.ts';
import { DriveClient, uploadBlob } from '../../src/drive/index.ts';
import { generateIdentity, publicIdentity, type Identity } from '../../src/keys/identity.ts';
import { resolveChain, type Manifest } from '../../src/manifest/index.ts';
import { isV2Files, type FileEntryV1 } from '../../src/manifest/types.ts';
import { restoreMachine, type ApplyInput, type PrepareInput } from '../../src/restore-machine/machine.ts';
import { planRestore, type Category } from '../../src/restore-machine/plan.ts';
import type { Prepared, RestoreReport, SnapshotSummary } from '../../src/restore-machine/types.ts';
import { isVerificationError } from '../../src/util/coded-error.ts';
import { allFiles, testConfig } from '../capture/fixture.ts';
import { applyContext } from '../helpers/apply-context.ts';
import { makeDebianRoot, type TestRoot } from '../helpers/debian-root.ts';
import { buildTar, zstdCli } from '../chroot/tar-builder.ts';
import { loginAs, testServer, type TestServer } from '../server/fixture.ts';

let srv: TestServer;
let base: string;
let client: DriveClient;
let identity: Identity;
let trusted: Uint8Array[];
let v1: CaptureResult;
let v2: CaptureResult;

const home = () => join(base, 'home');
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const blobFile = (hex: string) => {
  const f = allFiles(join(srv.dataDir, 'blobs')).find((x) => x.endsWith(hex));
  if (!f) throw new Error(`blob ${hex} is not in the server's data dir`);
  return f;
};
const folded = async (id: string): Promise<Manifest> => (await resolveChain(id, (x) => client.getManifest(x), trusted)).folded;

/** Replaces a stored blob's bytes on the server for the time of `during` (an attacker with the disk, or a broken one). */
async function tampered<T>(hex: string, change: (b: Buffer) => Buffer, during: () => Promise<T>): Promise<T> {
  const file = blobFile(hex);
  const before = readFileSync(file);
  writeFileSync(file, change(Buffer.from(before)));
  try {
    return await during();
  } finally {
    writeFileSync(file, before);
  }
}

/** A plain target root with the user ana. */
async function plainTarget(name: string): Promise<string> {
  const root = join(base, name);
  await mkdir(join(root, 'etc'), { recursive: true });
  await mkdir(join(root, 'home', 'ana'), { recursive: true });
  await writeFile(join(root, 'etc', 'passwd'), `root:x:0:0::/root:/bin/sh\nana:x:1000:1000::/home/ana:/bin/sh\n`);
  return root;
}

/** run-plan over the real appliers, blobs from the real server; the report, or what it threw. */
async function restoreWithRunPlan(root: string, manifest: Manifest, snapshotId: string, categories: Category[] = ['files']): Promise<{ report?: RestoreReport; error?: unknown }> {
  const ctx = applyContext({
    target: await resolveTarget(root, 'ana'),
    manifest,
    choice: { snapshotId, categories },
    blobs: driveBlobSource(client),
    identity,
  });
  const state = mkdtempSync(join(base, 'state-'));
  return runPlan({ plan: ctx.plan, ctx, appliers: defaultAppliers, journalPath: join(state, 'journal.json') }).then(
    (report) => ({ report }),
    (error: unknown) => ({ error }),
  );
}

/** The first two folders of a snapshot, in plan order: the tampered one runs first. */
function folders(m: Manifest) {
  const entries = m.files?.entry ?? [];
  expect(entries.map((e) => e.local_path)).toEqual(['~/Documentos', '~/Imagens']);
  return { docs: entries[0]!, images: entries[1]! };
}

function expectStopped(r: { report?: RestoreReport; error?: unknown }, root: string, code: string) {
  expect(r.report, 'the restore must not finish').toBeUndefined();
  expect(isVerificationError(r.error), String(r.error)).toBe(true);
  expect((r.error as { code?: string }).code).toBe(code);
  // Nothing of the refused folder, and the folder after it never ran (nor was a report written).
  expect(existsSync(join(root, 'home/ana/Documentos'))).toBe(false);
  expect(existsSync(join(root, 'home/ana/Imagens'))).toBe(false);
  expect(existsSync(join(root, 'var/lib/koder-restore/report.json'))).toBe(false);
}

beforeAll(async () => {
  base = mkdtempSync(join(tmpdir(), 'koder-verify-stops-'));
  srv = await testServer();
  const tokens = await loginAs(srv, 'ana');
  client = new DriveClient({ server: srv.url, tokens: tokens.access_token });
  identity = await generateIdentity();
  await client.putKeys([publicIdentity(identity)]);
  trusted = [identity.signing.publicKey];
  mkdirSync(join(home(), 'Documentos', 'cartas'), { recursive: true });
  mkdirSync(join(home(), 'Imagens'), { recursive: true });
  writeFileSync(join(home(), 'Documentos', 'cartas', 'mae.txt'), 'Querida mãe,\n'.repeat(200));
  writeFileSync(join(home(), 'Documentos', 'dados.bin'), randomBytes(600 * 1024));
  writeFileSync(join(home(), 'Imagens', 'foto.raw'), randomBytes(300 * 1024));
  const run = (format: 1 | 2) =>
    capture({
      config: testConfig(join(base, `machine-v${format}`), (c) => {
        c.files.folders = ['~/Documentos', '~/Imagens'];
        c.files.format = format;
        c.snapshot.hostname = `host-v${format}`;
      }),
      home: home(),
      only: ['files'],
      client,
      identity,
    });
  v1 = await run(1);
  v2 = await run(2);
  expect([v1.manifest.snapshot.version, v2.manifest.snapshot.version]).toEqual([1, 2]);
}, 120_000);

afterAll(async () => {
  await srv?.cleanup();
  if (base) rmSync(base, { recursive: true, force: true });
});

describe('a verification failure stops the restore', () => {
  it('a manifest altered on its way (bad signature): prepare refuses the snapshot, nothing is applied', async () => {
    let applied = 0;
    const machine = (fetch: (id: string) => Promise<string>) =>
      restoreMachine.provide({
        actors: {
          login: fromCallback<EventObject, { retry: number }>(() => undefined),
          listSnapshots: fromPromise(async (): Promise<SnapshotSummary[]> => [{ id: v1.id, hostname: 'host-v1', createdAt: new Date().toISOString(), owner: 'me', shared: false, chainDepth: 1, bytes: 0 }]),
          // The daemon's prepare: resolve and verify the chain against the owner's keys, then plan.
          prepare: fromPromise<Prepared, PrepareInput>(async ({ input }) => {
            const { folded: m, chain } = await resolveChain(input.choice.snapshotId, fetch, trusted);
            return { plan: planRestore(m, input.choice), vault: 'locked', chain: chain.map((l) => l.id) };
          }),
          apply: fromCallback<EventObject, ApplyInput>(() => {
            applied++;
          }),
        },
      });
    const choose = async (fetch: (id: string) => Promise<string>) => {
      const actor = createActor(machine(fetch)).start();
      actor.send({ type: 'START' });
      actor.send({ type: 'LOGIN.DONE', user: { id: 'me' } });
      await waitFor(actor, (s) => s.matches({ choose: 'ready' }));
      actor.send({ type: 'CHOOSE', choice: { snapshotId: v1.id, hostname: 'novo', targetUser: 'ana', categories: ['files'] }, unlock: false });
      return waitFor(actor, (s) => s.matches('refused') || s.matches({ prepare: 'failed' }) || s.matches('waitTarget'));
    };

    // The hostname changed in transit: the signature no longer matches.
    const altered = await choose(async (id) => (await client.getManifest(id)).replace(/hostname = "host-v1"/, 'hostname = "evil"'));
    expect(altered.value).toBe('refused');
    expect(altered.context.error?.code).toBe('MANIFEST_VERIFY'); // the UiState's spelling, which the wizard reads
    expect(applied).toBe(0);

    // Not a verification failure (the server has no such manifest: not_found): retryable, not refused.
    const missing = await choose(() => client.getManifest('0'.repeat(64)));
    expect(missing.value).toEqual({ prepare: 'failed' });
    expect(missing.context.error?.code).toBe('not_found');
    // And the untouched chain verifies and goes on.
    expect((await choose((id) => client.getManifest(id))).value).toBe('waitTarget');
  }, 60_000);

  it('a data v1 folder with a flipped byte on the server: hash_mismatch, the next folder never runs', async () => {
    const m = await folded(v1.id);
    const { docs } = folders(m);
    const root = await plainTarget('v1-flip');
    const r = await tampered(docs.blob!.slice(7), (b) => ((b[Math.floor(b.length / 2)]! ^= 0x20), b), () => restoreWithRunPlan(root, m, v1.id));
    expectStopped(r, root, 'hash_mismatch');
  }, 60_000);

  it('a data v1 folder holding another valid archive: the extractor\'s hash_mismatch, the next folder never runs', async () => {
    const m = await folded(v1.id);
    const { docs, images } = folders(m);
    // Imagens' archive, padded to the victim's length with a zstd skippable frame
    // (the server's size row stays true): valid zstd, a valid tar, not the bytes signed.
    const other = readFileSync(blobFile(images.blob!.slice(7)));
    const victim = readFileSync(blobFile(docs.blob!.slice(7)));
    expect(victim.length - other.length).toBeGreaterThanOrEqual(8);
    const skippable = Buffer.alloc(victim.length - other.length);
    skippable.writeUInt32LE(0x184d2a50, 0);
    skippable.writeUInt32LE(skippable.length - 8, 4);
    const root = await plainTarget('v1-swap');
    const r = await tampered(docs.blob!.slice(7), () => Buffer.concat([other, skippable]), () => restoreWithRunPlan(root, m, v1.id));
    expectStopped(r, root, 'hash_mismatch');
    expect((r.error as Error).name).toBe('TarHashMismatchError');
  }, 60_000);

  it('a data v2 folder whose pack was altered on the server: chunk_auth_failed, the next folder never runs', async () => {
    const m = await folded(v2.id);
    const { docs } = folders(m);
    if (!isV2Files(docs)) throw new Error('v2 expected');
    // The largest pack holds the documents' data chunks.
    const pack = docs.packs.map((p) => p.slice(7)).sort((a, b) => statSync(blobFile(b)).size - statSync(blobFile(a)).size)[0]!;
    const root = await plainTarget('v2-pack');
    const r = await tampered(pack, (b) => ((b[Math.floor(b.length / 3)]! ^= 0x01), b), () => restoreWithRunPlan(root, m, v2.id));
    expectStopped(r, root, 'chunk_auth_failed');
  }, 60_000);

  it('a data v2 folder whose tree was altered on the server: tree_format, the next folder never runs', async () => {
    const m = await folded(v2.id);
    const { docs } = folders(m);
    if (!isV2Files(docs)) throw new Error('v2 expected');
    const root = await plainTarget('v2-tree');
    const r = await tampered(docs.tree.slice(7), (b) => ((b[b.length - 20]! ^= 0x01), b), () => restoreWithRunPlan(root, m, v2.id));
    expectStopped(r, root, 'tree_format');
  }, 60_000);
});

describe('nothing else stops it', () => {
  let t: TestRoot;
  beforeAll(async () => {
    // A real Debian root (for a real apt), offline: no archive to look packages up in.
    t = await makeDebianRoot();
    await writeFile(join(t.root, 'etc/apt/sources.list'), '');
    for (const f of await readdir(join(t.root, 'etc/apt/sources.list.d')).catch(() => [])) await rm(join(t.root, 'etc/apt/sources.list.d', f), { force: true });
    await appendFile(join(t.root, 'etc/passwd'), 'ana:x:1000:1000::/home/ana:/bin/sh\n');
    await mkdir(join(t.root, 'home/ana'), { recursive: true });
  }, 300_000);
  afterAll(async () => {
    await t?.dispose();
  });

  it('a missing package, a blob not on the server, a refused archive: each reported, the restore goes on to the last folder', async () => {
    const m = await folded(v1.id);
    const { docs, images } = folders(m);
    // An authentic archive (its address is right) with an entry we refuse to write.
    const unsafe = zstdCli(buildTar([{ name: './ok.txt', data: 'ok' }, { name: '../../../etc/evil', data: 'pwned' }]));
    const unsafeHex = sha256(unsafe);
    const unsafeFile = join(base, 'unsafe.tar.zst');
    writeFileSync(unsafeFile, unsafe);
    await uploadBlob(client, unsafeHex, unsafeFile);
    const absent = randomBytes(32).toString('hex');
    const entry = (local_path: string, hex: string): FileEntryV1 => ({ ...(images as FileEntryV1), local_path, blob: `sha256:${hex}`, stored_size: unsafe.length });
    const manifest: Manifest = {
      ...m,
      apps: { apt: ['koder-no-such-package'] },
      files: { entry: [entry('~/Ausente', absent), entry('~/Recusado', unsafeHex), images, docs] },
    };

    const { report, error } = await restoreWithRunPlan(t.root, manifest, v1.id, ['apps', 'files']);
    expect(error, String(error)).toBeUndefined();
    const status = Object.fromEntries(report!.results.map((r) => [r.stepId, r.status]));
    expect(status, JSON.stringify(report!.results, null, 1)).toEqual({
      'apt.install': 'skipped',
      'files.restore:~/Ausente': 'failed',
      'files.restore:~/Recusado': 'failed',
      'files.restore:~/Imagens': 'done',
      'files.restore:~/Documentos': 'done',
    });
    const message = (id: string) => report!.results.find((r) => r.stepId === id)!;
    expect(message('apt.install').details?.join('\n')).toMatch(/koder-no-such-package: not in the target's archives/);
    expect(message('files.restore:~/Ausente').message).toMatch(/not_found|404/);
    expect(message('files.restore:~/Recusado').message).toMatch(/archive refused: unsafe tar entry/);
    expect(report!.status).toBe('partial');
    // The last folder is there, byte for byte; nothing of the refused archive anywhere.
    expect(readFileSync(join(t.root, 'home/ana/Documentos/dados.bin')).equals(readFileSync(join(home(), 'Documentos/dados.bin')))).toBe(true);
    expect(existsSync(join(t.root, 'home/ana/Recusado/ok.txt'))).toBe(false);
    expect(existsSync(join(t.root, 'etc/evil'))).toBe(false);
  }, 300_000);
});
