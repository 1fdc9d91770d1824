/**
 * Data v2's promises, each tried against the real server:
 * - no plaintext on the server: document contents, file names and repo
 *   files never appear in the data dir (blobs, database, WAL);
 * - sharing: bob restores alice's shared snapshot byte-identical with the
 *   keys sealed to him; those keys do not open her other snapshots; revoke →
 *   404;
 * - tamper: a flipped byte in a pack, or a pack swapped for another of the
 *   same user, is refused with a verification error and nothing is written;
 * - dedup: the same file in two folders, and on a second machine of the same
 *   account, is stored once; another account's identical file is not deduped
 *   with it;
 * - `ls` and `restore --path`.
 */
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { capture, type CaptureResult } from '../../src/capture/index.ts';
import { applyFiles } from '../../src/chroot-appliers/files.ts';
import { resolveTarget } from '../../src/chroot-appliers/target.ts';
import { driveBlobSource } from '../../src/daemon/drive-blobs.ts';
import { DriveClient } from '../../src/drive/index.ts';
import { generateIdentity, publicIdentity, type Identity } from '../../src/keys/identity.ts';
import { resolveChain, type Manifest } from '../../src/manifest/index.ts';
import { isV2Files } from '../../src/manifest/types.ts';
import { openShareKeys } from '../../src/store/share-keys.ts';
import { SnapshotFiles } from '../../src/store/snapshot-files.ts';
import { driveBytes } from '../../src/store/store-writer.ts';
import { isVerificationError } from '../../src/util/coded-error.ts';
import { share as shareCommand } from '../../src/cli/commands/share.ts';
import { ls as lsCommand } from '../../src/cli/commands/ls.ts';
import { main } from '../../src/cli/main.ts';
import { saveIdentity } from '../../src/keys/identity.ts';
import { saveTokens, type StoredTokens } from '../../src/auth/index.ts';
import { applyContext } from '../helpers/apply-context.ts';
import { byteTree } from '../helpers/byte-tree.ts';
import { loginAs, testServer, type TestServer } from '../server/fixture.ts';
import { allFiles, testConfig } from '../capture/fixture.ts';

let srv: TestServer;
let base: string;
type Who = { client: DriveClient; identity: Identity; token: string; tokens: StoredTokens };
let alice: Who;
let bob: Who;
const MARK = `KODER-MARKER-${randomBytes(6).toString('hex')}`;
const NAME_MARK = `koder-name-${randomBytes(4).toString('hex')}.txt`;
const shared = randomBytes(2 * 1024 * 1024);
let s1: CaptureResult;
let s2: CaptureResult;
let s1Tree: Record<string, string>;

const home = () => join(base, 'home');
const cfg = (machine = 'a', over?: (c: ReturnType<typeof testConfig>) => void) =>
  testConfig(join(base, machine), (c) => {
    c.files.folders = ['~/Documentos', '~/Imagens'];
    c.snapshot.hostname = `host-${machine}`;
    over?.(c);
  });
const run = (who: typeof alice, machine = 'a', h = home()) => capture({ config: cfg(machine), home: h, only: ['files'], client: who.client, identity: who.identity });

async function restoreInto(root: string, who: typeof alice, folded: Manifest, snapshotId: string, o: { owner?: string; treeKeys?: Map<string, Uint8Array>; paths?: string[] } = {}) {
  mkdirSync(join(root, 'etc'), { recursive: true });
  mkdirSync(join(root, 'home', 'ana'), { recursive: true });
  writeFileSync(join(root, 'etc', 'passwd'), `ana:x:${process.getuid!()}:${process.getgid!()}::/home/ana:/bin/sh\n`);
  const target = await resolveTarget(root, 'ana');
  const ctx = applyContext({
    target,
    manifest: folded,
    choice: { snapshotId, categories: ['files'], ...(o.owner ? { owner: o.owner } : {}), ...(o.paths ? { paths: o.paths } : {}) },
    blobs: driveBlobSource(who.client, o.owner),
    ...(o.owner ? {} : { identity: who.identity }),
    ...(o.treeKeys ? { treeKeys: o.treeKeys } : {}),
  });
  const out: Record<string, string> = {};
  for (const step of ctx.plan.steps.filter((s) => s.kind === 'files.restore')) {
    const r = await applyFiles(step, ctx, () => {});
    out[step.id] = `${r.status}${r.message ? `: ${r.message}` : ''}`;
  }
  return out;
}

beforeAll(async () => {
  base = mkdtempSync(join(tmpdir(), 'koder-v2sec-'));
  srv = await testServer();
  const mk = async (name: string) => {
    const tokens = await loginAs(srv, name);
    const token = tokens.access_token;
    const client = new DriveClient({ server: srv.url, tokens: token });
    const identity = await generateIdentity();
    await client.putKeys([publicIdentity(identity)]);
    return { client, identity, token, tokens };
  };
  alice = await mk('alice');
  bob = await mk('bob');
  mkdirSync(join(home(), 'Documentos', 'cartas'), { recursive: true });
  mkdirSync(join(home(), 'Imagens'), { recursive: true });
  writeFileSync(join(home(), 'Documentos', NAME_MARK), `${MARK} a secret letter\n`.repeat(50));
  writeFileSync(join(home(), 'Documentos', 'cartas', 'mae.txt'), `Querida mãe, ${MARK}\n`);
  writeFileSync(join(home(), 'Documentos', 'foto.raw'), shared);
  writeFileSync(join(home(), 'Imagens', 'copia.raw'), shared); // the same file in a second folder
  s1 = await run(alice);
  s1Tree = byteTree(join(home(), 'Documentos'));
  writeFileSync(join(home(), 'Documentos', 'cartas', 'pai.txt'), `Querido pai, ${MARK}\n`);
  s2 = await run(alice);
}, 120_000);

afterAll(async () => {
  await srv?.cleanup();
  if (base) rmSync(base, { recursive: true, force: true });
});

const folded = async (who: typeof alice, id: string, owner?: string) =>
  (await resolveChain(id, (x) => who.client.getManifest(x, owner), (await who.client.getKeys(owner)).map((k) => new Uint8Array(Buffer.from(k.ed25519, 'base64'))))).folded;

describe('data v2 on the real server', () => {
  it('stores a file found in two folders once (dedup inside the account)', () => {
    expect(s1.manifest.snapshot.version).toBe(2);
    // 2 MiB of random bytes twice, plus small files and trees: well under 2 × 2 MiB.
    expect(s1.uploadedBytes).toBeGreaterThan(2 * 1024 * 1024);
    expect(s1.uploadedBytes).toBeLessThan(2.5 * 1024 * 1024);
  });

  it('keeps no plaintext on the server: contents, names and markers are nowhere in the data dir', () => {
    const files = allFiles(srv.dataDir);
    expect(files.some((f) => f.endsWith('.sqlite'))).toBe(true);
    for (const f of files) {
      const bytes = readFileSync(f);
      for (const needle of [MARK, NAME_MARK, 'Querida', 'cartas', 'mae.txt']) expect(bytes.includes(needle), `${needle} in ${f}`).toBe(false);
      expect(bytes.includes(shared.subarray(1000, 1064)), `document bytes in ${f}`).toBe(false);
    }
  });

  it('lists a snapshot and restores one file or one folder of it (--path)', async () => {
    const m = await folded(alice, s2.id);
    const files = new SnapshotFiles(m, driveBytes(alice.client), { seed: alice.identity.signing.seed });
    expect((await files.list()).map((e) => e.text)).toEqual(['~/Documentos', '~/Imagens']);
    expect((await files.list('~/Documentos')).map((e) => `${e.type} ${e.text}`)).toEqual(['dir cartas', 'file foto.raw', `file ${NAME_MARK}`]);
    expect((await files.list('~/Documentos/cartas')).map((e) => e.text)).toEqual(['mae.txt', 'pai.txt']);
    await expect(files.list('~/Documentos/nope')).rejects.toMatchObject({ code: 'path_not_in_snapshot' });

    // The same through the CLI: `koder-snapshot ls`, with the identity file.
    const idDir = join(base, 'alice-identity-ls');
    await saveIdentity(idDir, alice.identity);
    process.env.XDG_CONFIG_HOME = join(base, 'cli-config');
    await saveTokens(alice.tokens);
    const lines: string[] = [];
    const io = { out: (l: string) => lines.push(l), err: (l: string) => lines.push(l) };
    expect(await lsCommand.run([s2.id.slice(0, 12), '~/Documentos/cartas', '--identity', idDir, '--server', srv.url], io as never), lines.join('\n')).toBe(0);
    expect(lines.map((l) => l.split(/\s+/).pop())).toEqual(['mae.txt', 'pai.txt']);
    lines.length = 0;
    // path_not_in_snapshot: exit 2, from the catalogue (the CLI's entry, main.ts)
    expect(await main(['ls', s2.id.slice(0, 12), '~/Documentos/nope', '--identity', idDir, '--server', srv.url], io as never)).toBe(2);
    expect(lines.join('\n')).toMatch(/not in the snapshot/);

    const root = join(base, 'target-path');
    const r = await restoreInto(root, alice, m, s2.id, { paths: ['~/Documentos/cartas/pai.txt'] });
    expect(Object.values(r)).toEqual([expect.stringMatching(/^done/)]);
    const docs = join(root, 'home/ana/Documentos');
    expect(readdirSync(docs)).toEqual(['cartas']);
    expect(readdirSync(join(docs, 'cartas'))).toEqual(['pai.txt']);
    expect(readFileSync(join(docs, 'cartas/pai.txt'), 'utf8')).toBe(`Querido pai, ${MARK}\n`);
  });

  it('shares a snapshot: bob restores it byte-identical, cannot open alice\'s other snapshots, and loses access on revoke', async () => {
    // alice shares s1 with bob through the CLI command (her identity file, the server's directory).
    const idDir = join(base, 'alice-identity');
    await saveIdentity(idDir, alice.identity);
    const out: string[] = [];
    const io = { out: (l: string) => out.push(l), err: (l: string) => out.push(l) };
    process.env.XDG_CONFIG_HOME = join(base, 'cli-config');
    await saveTokens(alice.tokens);
    expect(await shareCommand.run([s1.id, 'bob', '--identity', idDir, '--server', srv.url], io as never), out.join('\n')).toBe(0);
    expect(out.join('\n')).toMatch(/bob's key: [0-9a-f]{4} /);

    const aliceId = (await alice.client.me()).id;
    const sealed = await bob.client.shareKeys(aliceId, s1.id);
    expect(sealed).toBeDefined();
    const keys = await openShareKeys(sealed!, s1.id, bob.identity.sealing);
    const m1 = await folded(bob, s1.id, aliceId);
    const root = join(base, 'target-bob');
    const r = await restoreInto(root, bob, m1, s1.id, { owner: aliceId, treeKeys: keys });
    for (const v of Object.values(r)) expect(v).toMatch(/^done/);
    expect(byteTree(join(root, 'home/ana/Documentos'))).toEqual(s1Tree);

    // s2 (not shared): its manifest and its new tree root are 404 for bob, and his keys do not open it.
    await expect(bob.client.getManifest(s2.id, aliceId)).rejects.toMatchObject({ status: 404 });
    const m2 = await folded(alice, s2.id);
    const docs2 = m2.files!.entry!.find((e) => e.local_path === '~/Documentos')!;
    if (!isV2Files(docs2)) throw new Error('v2 expected');
    await expect(bob.client.readBlob(docs2.tree.slice(7), { owner: aliceId })).rejects.toMatchObject({ status: 404 });
    const withBobsKeys = new SnapshotFiles(m2, driveBytes(alice.client), { shared: keys });
    await expect(withBobsKeys.list('~/Documentos')).rejects.toMatchObject({ code: 'data_keys_locked' });
    // Even offered s2's root under s1's key (a mix-up, or a malicious server), it does not open.
    const docs1 = m1.files!.entry!.find((e) => e.local_path === '~/Documentos')!;
    if (!isV2Files(docs1)) throw new Error('v2 expected');
    const mixed = new SnapshotFiles(m2, driveBytes(alice.client), { shared: new Map([[docs2.tree, keys.get(docs1.tree)!]]) });
    await expect(mixed.list('~/Documentos')).rejects.toMatchObject({ code: 'tree_format' });

    await alice.client.unshare(s1.id, 'bob');
    await expect(bob.client.getManifest(s1.id, aliceId)).rejects.toMatchObject({ status: 404 });
    await expect(bob.client.shareKeys(aliceId, s1.id)).rejects.toMatchObject({ status: 404 });
    await expect(bob.client.readBlob(docs1.tree.slice(7), { owner: aliceId })).rejects.toMatchObject({ status: 404 });
  }, 60_000);

  it('a second machine of the account uploads no chunk the first stored; another account does not dedup with it', async () => {
    const homeB = join(base, 'home-b');
    cpSync(home(), homeB, { recursive: true });
    const other = await run(alice, 'b', homeB); // another cache, another hostname: its own full snapshot
    expect(other.kind).toBe('full');
    expect(other.uploadedBytes).toBeLessThan(100_000); // trees and roots only
    const bobs = await run(bob, 'c', homeB);
    expect(bobs.uploadedBytes).toBeGreaterThan(2 * 1024 * 1024); // keyed ids: nothing shared across accounts
  }, 60_000);

  it('two machines of the account capture at the same time: both post, neither corrupts the other, both restore byte-identical', async () => {
    const mk = (m: string) => {
      const h = join(base, `home-${m}`);
      mkdirSync(join(h, 'Documentos'), { recursive: true });
      writeFileSync(join(h, 'Documentos', 'shared.raw'), shared); // the same bytes on both, already stored
      writeFileSync(join(h, 'Documentos', `${m}.raw`), randomBytes(3 * 1024 * 1024));
      return h;
    };
    const [hd, he] = [mk('d'), mk('e')];
    const [d, e] = await Promise.all([run(alice, 'd', hd), run(alice, 'e', he)]);
    expect(d.posted && e.posted).toBe(true);
    for (const [r, h] of [[d, hd], [e, he]] as const) {
      const root = join(base, `target-${r.id.slice(0, 8)}`);
      const out = await restoreInto(root, alice, await folded(alice, r.id), r.id);
      for (const v of Object.values(out)) expect(v).toMatch(/^done/);
      expect(byteTree(join(root, 'home/ana/Documentos'))).toEqual(byteTree(join(h, 'Documentos')));
    }
  }, 60_000);

  describe('tampering on the server', () => {
    const packsOf = async (id: string) => {
      const m = await folded(alice, id);
      const e = m.files!.entry!.find((x) => x.local_path === '~/Documentos')!;
      if (!isV2Files(e)) throw new Error('v2 expected');
      return { m, packs: e.packs.map((p) => p.slice(7)) };
    };
    const blobFile = (hex: string) => allFiles(join(srv.dataDir, 'blobs')).find((f) => f.endsWith(hex))!;

    it('a flipped byte in a pack: refused, nothing of it written', async () => {
      const { m, packs } = await packsOf(s2.id);
      // The largest pack holds the documents' data chunks.
      const file = packs.map(blobFile).sort((a, b) => statSync(b).size - statSync(a).size)[0]!;
      const before = readFileSync(file);
      const bytes = Buffer.from(before);
      bytes[Math.floor(bytes.length / 3)]! ^= 0x01;
      writeFileSync(file, bytes);
      try {
        const root = join(base, 'target-tamper');
        const err = await restoreInto(root, alice, m, s2.id).then(() => undefined, (e: unknown) => e);
        expect(isVerificationError(err), String(err)).toBe(true);
        expect(existsSync(join(root, 'home/ana/Documentos'))).toBe(false);
        expect(allFiles(root).filter((f) => f.includes('koder-restore-staging'))).toEqual([]);
      } finally {
        writeFileSync(file, before);
      }
    }, 60_000);

    it('a pack swapped for another pack of the same user: refused', async () => {
      const { m, packs } = await packsOf(s2.id);
      const others = (await alice.client.listBlobs()).blobs.map((b) => b.hash).filter((h) => !packs.includes(h));
      const victim = blobFile(packs.map(blobFile).map((f, i) => [statSync(f).size, packs[i]!] as const).sort((a, b) => b[0] - a[0])[0]![1]);
      const donor = others.map(blobFile).sort((a, b) => statSync(b).size - statSync(a).size)[0]!;
      const before = readFileSync(victim);
      // Another pack's bytes, at the victim's length (the server's size row stays true).
      const donorBytes = readFileSync(donor);
      const swapped = Buffer.alloc(before.length);
      for (let at = 0; at < swapped.length; at += donorBytes.length) donorBytes.copy(swapped, at);
      writeFileSync(victim, swapped);
      try {
        const root = join(base, 'target-swap');
        const err = await restoreInto(root, alice, m, s2.id).then(() => undefined, (e: unknown) => e);
        expect(isVerificationError(err), `the swap must be refused as not authentic: ${String(err)}`).toBe(true);
        expect(existsSync(join(root, 'home/ana/Documentos'))).toBe(false);
      } finally {
        writeFileSync(victim, before);
      }
    }, 60_000);
  });
});
