/**
 * A real data v2 snapshot on a real server, as capture leaves it: an
 * account with its identity, public key and vault (passphrase), a folder
 * and a repository captured by `capture()` (packs, tree roots, a bundle as
 * a tree), then a signed delta on top that adds apt packages (capture only
 * lists this machine's own). For the restore tests that need apt beside
 * data v2 (fetch-ahead, exports).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { capture } from '../../src/capture/index.ts';
import type { DriveClient } from '../../src/drive/index.ts';
import { createVault, generateIdentity, publicIdentity, seal, type Identity } from '../../src/keys/index.ts';
import type { KdfStrength } from '../../src/keys/vault.ts';
import { diff, serialize, sign, snapshotId, type Manifest } from '../../src/manifest/index.ts';
import { testConfig } from '../capture/fixture.ts';
import { g } from './git.ts';
import { Prng } from './prng.ts';

export const V2_PASSPHRASE = 'correct horse battery staple';

export interface V2Account {
  identity: Identity;
}

/** An identity, its public key and a vault opened by V2_PASSPHRASE (the fast KDF unless `kdf` says: the product's is 'default'). */
export async function v2Account(client: DriveClient, o: { kdf?: KdfStrength } = {}): Promise<V2Account> {
  const identity = await generateIdentity();
  await client.putKeys([publicIdentity(identity)]);
  const { vault } = await createVault(identity, { passphrase: V2_PASSPHRASE, kdf: o.kdf ?? 'min' });
  await client.putVault(vault);
  return { identity };
}

/** `~/Documentos`: `files` random files of `size` bytes in a few folders, a text file, a symlink. */
export function writeDocuments(home: string, o: { files: number; size: number; seed?: number }): string {
  const docs = join(home, 'Documentos');
  const rnd = new Prng(o.seed ?? 7);
  for (let i = 0; i < o.files; i++) {
    const d = join(docs, `d${i % 8}`);
    mkdirSync(d, { recursive: true });
    writeFileSync(join(d, `f${i}.bin`), rnd.bytes(o.size));
  }
  writeFileSync(join(docs, 'leia-me.txt'), 'Olá, mundo restaurado!\n');
  return docs;
}

/** `~/dev/notas`: a repository with two commits and no remote (captured as a bundle). */
export function writeRepo(home: string): string {
  const repo = join(home, 'dev', 'notas');
  mkdirSync(repo, { recursive: true });
  g(repo, ['init', '-q', '-b', 'main']);
  writeFileSync(join(repo, 'README.md'), '# notas\n');
  g(repo, ['add', '.']);
  g(repo, ['commit', '-q', '-m', 'first']);
  writeFileSync(join(repo, 'ideias.txt'), 'uma ideia\n');
  g(repo, ['add', '.']);
  g(repo, ['commit', '-q', '-m', 'second']);
  return repo;
}

/**
 * Captures `home`'s `~/Documentos` (or `folders`) and `~/dev` repositories as data v2
 * (packs of `packMib`), then posts a signed delta adding `apt`. Returns the
 * leaf id and the full manifest.
 */
export async function captureV2(
  client: DriveClient,
  account: V2Account,
  work: string,
  home: string,
  o: { apt?: string[]; packMib?: number; hostname?: string; folders?: string[]; /** Secrets sealed to the account's key, by name: [path, bytes]. */ secrets?: Record<string, [string, Buffer]> } = {},
): Promise<{ leaf: string; ids: string[]; full: Manifest }> {
  const r = await capture({
    config: testConfig(work, (c) => {
      c.files.folders = o.folders ?? ['~/Documentos'];
      c.files.pack_mib = o.packMib ?? 4;
      c.repos.roots = ['~/dev'];
      c.snapshot.hostname = o.hostname ?? 'ana-v2';
    }),
    home,
    only: ['files', 'repos'],
    client,
    identity: account.identity,
  });
  if (!r.posted) throw new Error('the capture posted nothing');
  if (!o.apt?.length && !o.secrets) return { leaf: r.id, ids: [r.id], full: r.full };
  const full: Manifest = structuredClone(r.full);
  full.snapshot.created_at = new Date(Date.parse(full.snapshot.created_at) + 1000).toISOString().replace(/\.\d+Z$/, 'Z');
  if (o.apt?.length) full.apps = { ...full.apps, apt: o.apt };
  for (const [name, [path, bytes]] of Object.entries(o.secrets ?? {})) {
    full.secrets = { ...full.secrets, [name]: { path, mode: '0600', sealed: Buffer.from(await seal(bytes, account.identity.sealing.publicKey)).toString('base64') } };
  }
  const delta = sign(diff(r.full, full, r.id), account.identity.signing.seed);
  await client.postManifest(serialize(delta));
  return { leaf: snapshotId(delta), ids: [r.id, snapshotId(delta)], full };
}
