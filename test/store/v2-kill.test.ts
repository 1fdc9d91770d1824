/**
 * Data v2 under SIGKILL, with the real server:
 * - a capture killed while it uploads posts no manifest; the next capture
 *   uploads only what the server does not have yet;
 * - a files restore killed mid-way resumes from its journal: the same tree
 *   in the end, and fewer range GETs than a restore from scratch (finished
 *   files are not fetched again).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { capture } from '../../src/capture/index.ts';
import { applyFiles } from '../../src/chroot-appliers/files.ts';
import { resolveTarget } from '../../src/chroot-appliers/target.ts';
import { driveBlobSource } from '../../src/daemon/drive-blobs.ts';
import { DriveClient } from '../../src/drive/index.ts';
import { generateIdentity, publicIdentity, saveIdentity, type Identity } from '../../src/keys/identity.ts';
import { resolveChain } from '../../src/manifest/index.ts';
import { applyContext } from '../helpers/apply-context.ts';
import { byteTree } from '../helpers/byte-tree.ts';
import { Prng } from '../helpers/prng.ts';
import { loginAs, testServer, type TestServer } from '../server/fixture.ts';
import { testConfig } from '../capture/fixture.ts';

let srv: TestServer;
let base: string;
let client: DriveClient;
let token: string;
let identity: Identity;
const idDir = () => join(base, 'identity');
const home = () => join(base, 'home');
const docs = () => join(home(), 'Documentos');

function child(script: string, env: Record<string, string>) {
  const p = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'fixtures', script)], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  p.stdout.on('data', (d: Buffer) => (out += d));
  p.stderr.on('data', (d: Buffer) => (out += d));
  const exited = new Promise<number | null>((r) => p.on('exit', (code, sig) => r(sig ? -1 : code)));
  return { p, exited, out: () => out };
}

const serverBlobs = async () => (await client.listBlobs()).blobs;
const blobReads = async () => (await srv.db.get<{ n: number }>("SELECT COUNT(*) AS n FROM audit WHERE action = 'blob.read'"))!.n;
const until = async (cond: () => boolean | Promise<boolean>, what: string, ms = 60_000) => {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

beforeAll(async () => {
  base = mkdtempSync(join(tmpdir(), 'koder-v2kill-'));
  srv = await testServer();
  token = (await loginAs(srv, 'ana')).access_token;
  client = new DriveClient({ server: srv.url, tokens: token });
  identity = await generateIdentity();
  await client.putKeys([publicIdentity(identity)]);
  await saveIdentity(idDir(), identity);
  // 1,200 files of 48 KiB: many packs of 4 MiB, many restore jobs.
  const rnd = new Prng(5);
  for (let d = 0; d < 12; d++) {
    mkdirSync(join(docs(), `d${d}`), { recursive: true });
    for (let f = 0; f < 100; f++) writeFileSync(join(docs(), `d${d}`, `f${f}.bin`), rnd.bytes(48 * 1024));
  }
}, 120_000);
afterAll(async () => {
  await srv?.cleanup();
  if (base) rmSync(base, { recursive: true, force: true });
});

describe('data v2 killed and run again', () => {
  let snapshotId = '';

  it('a capture SIGKILLed while uploading posts nothing; the next one uploads only what is missing', async () => {
    const c = child('capture-child.ts', { KODER_T_SERVER: srv.url, KODER_T_TOKEN: token, KODER_T_IDENTITY: idDir(), KODER_T_BASE: base, KODER_T_HOME: home() });
    await until(async () => (await serverBlobs()).length >= 3, 'three packs on the server').catch((e: Error) => {
      throw new Error(`${e.message}; the capture said: ${c.out()}`);
    });
    c.p.kill('SIGKILL');
    expect(await c.exited).toBe(-1);
    expect(await client.listSnapshots()).toEqual([]);
    const before = (await serverBlobs()).reduce((n, b) => n + b.size, 0);
    expect(before).toBeGreaterThan(8 * 1024 * 1024);

    const r = await capture({ config: testConfig(base, (x) => ((x.files.folders = ['~/Documentos']), (x.files.pack_mib = 4), (x.snapshot.hostname = 'kill-test'))), home: home(), only: ['files'], client, identity });
    expect(r.posted).toBe(true);
    snapshotId = r.id;
    const after = (await serverBlobs()).reduce((n, b) => n + b.size, 0);
    // What the killed run uploaded is not sent again: this run sent the rest, and the server
    // holds about one copy of the data (≈ 56 MiB sealed; a pack the killed run was sealing may
    // be sent again, 4 MiB).
    expect(r.uploadedBytes).toBeLessThan(after - before + 1);
    expect(r.uploadedBytes).toBeLessThan(1200 * 48 * 1024 - before + 6 * 1024 * 1024);
    expect(after).toBeLessThan(1200 * 48 * 1024 * 1.2);
  }, 120_000);

  it('a restore SIGKILLed mid-way resumes from its journal: the same tree, finished files not fetched again', async () => {
    const setupRoot = (name: string) => {
      const root = join(base, name);
      mkdirSync(join(root, 'etc'), { recursive: true });
      mkdirSync(join(root, 'home', 'ana'), { recursive: true });
      writeFileSync(join(root, 'etc', 'passwd'), `ana:x:${process.getuid!()}:${process.getgid!()}::/home/ana:/bin/sh\n`);
      return root;
    };
    const restoreHere = async (root: string) => {
      const { folded } = await resolveChain(snapshotId, (id) => client.getManifest(id), [identity.signing.publicKey]);
      const ctx = applyContext({ target: await resolveTarget(root, 'ana'), manifest: folded, choice: { snapshotId, categories: ['files'] }, blobs: driveBlobSource(client), identity });
      const step = ctx.plan.steps.find((s) => s.kind === 'files.restore')!;
      const out = await applyFiles(step, ctx, () => {});
      return { out, logs: ctx.logs };
    };
    // From scratch, for the count of range GETs.
    const clean = setupRoot('target-clean');
    let reads = await blobReads();
    expect((await restoreHere(clean)).out.status).toBe('done');
    const fullReads = (await blobReads()) - reads;
    expect(byteTree(join(clean, 'home/ana/Documentos'))).toEqual(byteTree(docs()));

    // Killed once a sixth of the files are finished (well before the commit into place).
    const root = setupRoot('target-killed');
    const staging = () => join(root, '.koder-restore-staging');
    const journal = () => {
      const dir = staging();
      const f = existsSync(dir) ? readdirSync(dir).find((x) => x.endsWith('.journal')) : undefined;
      return f ? readFileSync(join(dir, f), 'latin1').split('\n').length - 2 : 0;
    };
    const c = child('restore-child.ts', { KODER_T_SERVER: srv.url, KODER_T_TOKEN: token, KODER_T_IDENTITY: idDir(), KODER_T_SNAPSHOT: snapshotId, KODER_T_ROOT: root });
    await until(() => journal() >= 200, 'a sixth of the files finished').catch((e: Error) => {
      throw new Error(`${e.message}; the restore said: ${c.out()}`);
    });
    c.p.kill('SIGKILL');
    expect(await c.exited).toBe(-1);
    const finishedBefore = journal();
    expect(finishedBefore).toBeLessThan(1200);
    expect(existsSync(join(root, 'home/ana/Documentos'))).toBe(false); // nothing moved into place yet

    reads = await blobReads();
    const again = await restoreHere(root);
    expect(again.out.status).toBe('done');
    expect(again.logs.join('\n')).toMatch(new RegExp(`${finishedBefore}|\\d+ finished by an earlier run`));
    const resumedReads = (await blobReads()) - reads;
    expect(resumedReads).toBeLessThan(fullReads);
    expect(byteTree(join(root, 'home/ana/Documentos'))).toEqual(byteTree(docs()));
    expect(existsSync(staging())).toBe(false);
  }, 120_000);
});
