/**
 * Seeds a real server with a user's snapshot chain, the way capture would
 * leave it: identity + public key + vault (passphrase), blobs (a documents
 * archive made by tar + zstd, a repo bundle with uncommitted work on
 * refs/koder/wip), a sealed ssh key, and two signed manifests (a full root,
 * then a delta). Used by the restore e2e tests.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { DriveClient } from '../../src/drive/index.ts';
import { diff, serialize, sign, snapshotId, type Manifest } from '../../src/manifest/index.ts';
import { createVault, generateIdentity, publicIdentity, seal, type Identity } from '../../src/keys/index.ts';
import { g, saveWip } from '../helpers/git.ts';

export const PASSPHRASE = 'correct horse battery staple';

export interface SeededChain {
  identity: Identity;
  ids: string[];
  leaf: string;
  /** The documents folder that was archived (to compare with the restored one). */
  documents: string;
  /** The repo that was bundled (with its uncommitted change). */
  bundledRepo: string;
  sshKey: Buffer;
  blobs: Map<string, string>;
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

export async function seedChain(client: DriveClient, work: string, o: { httpRepoUrl?: string; user: string; /** The leaf's apt packages (default: jq, tree and one not in the archive). */ apt?: string[] }): Promise<SeededChain> {
  const identity = await generateIdentity();
  await client.putKeys([publicIdentity(identity)]);
  const { vault } = await createVault(identity, { passphrase: PASSPHRASE, kdf: 'min' });
  await client.putVault(vault);

  // Documents: text, binary, nested, a symlink inside, an executable.
  const documents = join(work, 'home/Documentos');
  mkdirSync(join(documents, 'contas/2026'), { recursive: true });
  writeFileSync(join(documents, 'leia-me.txt'), 'Olá, mundo restaurado!\n');
  writeFileSync(join(documents, 'contas/2026/extrato.bin'), Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7919) % 251)));
  writeFileSync(join(documents, 'script.sh'), '#!/bin/sh\necho ok\n');
  chmodSync(join(documents, 'script.sh'), 0o755);
  symlinkSync('contas/2026/extrato.bin', join(documents, 'atalho'));
  const tar = execFileSync('tar', ['--sort=name', '--owner=0', '--group=0', '--numeric-owner', '-C', documents, '-cf', '-', '.'], { maxBuffer: 1 << 28 });
  const zst = execFileSync('zstd', ['-q', '-3', '-c'], { input: tar, maxBuffer: 1 << 28 });

  // A repo with unpushed history and uncommitted work, as a bundle.
  const bundledRepo = join(work, 'home/dev/notas');
  mkdirSync(bundledRepo, { recursive: true });
  g(bundledRepo, ['init', '-q', '-b', 'main']);
  writeFileSync(join(bundledRepo, 'README.md'), '# notas\n');
  g(bundledRepo, ['add', '.']);
  g(bundledRepo, ['commit', '-q', '-m', 'first']);
  writeFileSync(join(bundledRepo, 'README.md'), '# notas\n\nrascunho não commitado\n');
  writeFileSync(join(bundledRepo, 'nova.txt'), 'arquivo novo\n');
  saveWip(bundledRepo);
  const bundleFile = join(work, 'notas.bundle');
  g(bundledRepo, ['bundle', 'create', bundleFile, '--all']);
  const bundle = readFileSync(bundleFile);

  const sshKey = Buffer.from('-----BEGIN OPENSSH PRIVATE KEY-----\nnot-a-real-key-but-secret-9f8e7d\n-----END OPENSSH PRIVATE KEY-----\n');
  const sealed = Buffer.from(await seal(sshKey, identity.sealing.publicKey)).toString('base64');

  const blobs = new Map<string, string>();
  for (const data of [zst, bundle]) {
    const hex = sha(data);
    const file = join(work, `${hex}.blob`);
    writeFileSync(file, data);
    blobs.set(hex, file);
  }
  await client.uploadBlobs([...blobs].map(([hex, file]) => ({ hex, file })));

  const root: Manifest = {
    snapshot: { version: 1, hostname: 'ana-laptop', created_at: '2026-11-01T10:00:00Z', koder_user_id: o.user },
    system: { timezone: 'UTC', locale: 'pt_BR.UTF-8', keyboard: 'br' },
    apps: { apt: ['jq', 'no-such-package-xyz'], snap: [{ name: 'spotify', channel: 'latest/stable' }] },
    repos: {
      entry: [
        { slug: 'notas', path: '~/dev/notas', branch: 'main', bundle: `sha256:${sha(bundle)}`, bundle_size: bundle.length, dirty: true },
        ...(o.httpRepoUrl ? [{ slug: 'site', url: o.httpRepoUrl, path: '~/dev/site', branch: 'main' }] : []),
      ],
    },
    secrets: { ssh_id_ed25519: { path: '~/.ssh/id_ed25519', mode: '0600', sealed } },
  };
  const leafFull: Manifest = structuredClone(root);
  leafFull.snapshot.created_at = '2026-11-20T10:00:00Z';
  leafFull.system!.timezone = 'America/Sao_Paulo';
  leafFull.apps!.apt = o.apt ?? ['jq', 'no-such-package-xyz', 'tree'];
  leafFull.files = { entry: [{ local_path: '~/Documentos', blob: `sha256:${sha(zst)}`, sha256: sha(tar), size: tar.length, stored_size: zst.length }] };

  const ids: string[] = [];
  for (const [i, full] of [root, leafFull].entries()) {
    const m = i === 0 ? full : diff(root, full, ids[0]);
    const signed = sign(m, identity.signing.seed);
    await client.postManifest(serialize(signed));
    ids.push(snapshotId(signed));
  }
  return { identity, ids, leaf: ids[1]!, documents, bundledRepo, sshKey, blobs };
}
