import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, readFileSync, readdirSync, readlinkSync, watch } from 'node:fs';
import { chmod, mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { applySecrets, SECRETS_LOCKED_MESSAGE } from '../../src/chroot-appliers/secrets.ts';
import { toB64 } from '../../src/keys/b64.ts';
import { generateIdentity, type Identity } from '../../src/keys/identity.ts';
import { seal } from '../../src/keys/seal.ts';
import type { Manifest, SecretEntry } from '../../src/manifest/types.ts';
import { buildTar } from '../chroot/tar-builder.ts';
import { snapshotForCompare } from '../chroot/tree.ts';
import { baseManifest, GID, makeCtx, makeEnv, recorder, stepOf, UID, type Env } from './setup.ts';

let env: Env;
let identity: Identity;
let other: Identity;
beforeAll(async () => {
  identity = await generateIdentity();
  other = await generateIdentity();
});
beforeEach(async () => {
  env = await makeEnv();
});
afterEach(async () => {
  await env.dispose();
});

/** Marker strings inside each plaintext, to scan the target for leaks. */
const SSH_KEY = '-----BEGIN OPENSSH PRIVATE KEY-----\nMARKER-SSH-5f1d0c\n-----END OPENSSH PRIVATE KEY-----\n';
const NETRC = 'machine git.example.org login ana password MARKER-NETRC-77aa\n';
const RCLONE = '[drive]\ntype = drive\ntoken = {"access_token":"MARKER-RCLONE-9e9e"}\n';
const NM = '[wifi-security]\npsk=MARKER-WIFI-1234\n';
const GPG_KEY = 'MARKER-GPG-PRIVATE-0b0b\n';
const MARKERS = ['MARKER-SSH-5f1d0c', 'MARKER-NETRC-77aa', 'MARKER-RCLONE-9e9e', 'MARKER-WIFI-1234', 'MARKER-GPG-PRIVATE-0b0b'];

async function sealed(text: string | Buffer, to: Identity = identity): Promise<string> {
  return toB64(await seal(Buffer.from(text), to.sealing.publicKey));
}

/** ~/.gnupg as capture would tar it (`tar -C ~/.gnupg -cf - .`), one file group-writable. */
async function gnupgTar(): Promise<Buffer> {
  const dir = join(env.base, 'captured/.gnupg');
  await mkdir(join(dir, 'private-keys-v1.d'), { recursive: true });
  await writeFile(join(dir, 'private-keys-v1.d/ABCD.key'), GPG_KEY);
  await writeFile(join(dir, 'pubring.kbx'), 'public ring\n');
  await writeFile(join(dir, 'gpg.conf'), 'use-agent\n');
  await chmod(join(dir, 'private-keys-v1.d/ABCD.key'), 0o600);
  await chmod(join(dir, 'private-keys-v1.d'), 0o700);
  await chmod(join(dir, 'pubring.kbx'), 0o644);
  await chmod(join(dir, 'gpg.conf'), 0o666);
  const r = spawnSync('tar', ['--format=posix', '-C', dir, '-cf', '-', '.'], { maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(r.stderr.toString());
  return r.stdout;
}

async function fullSecrets(): Promise<Record<string, SecretEntry>> {
  return {
    ssh_ed25519: { path: '~/.ssh/id_ed25519', mode: '0600', sealed: await sealed(SSH_KEY) },
    ssh_ed25519_pub: { path: '~/.ssh/id_ed25519.pub', mode: '0644', sealed: await sealed('ssh-ed25519 AAAA ana@old\n') },
    netrc: { path: '~/.netrc', mode: '0600', type: 'file', sealed: await sealed(NETRC) },
    rclone: { path: '~/.config/rclone/rclone.conf', mode: '0600', sealed: await sealed(RCLONE) },
    gnupg: { path: '~/.gnupg', mode: '0700', type: 'tar', sealed: await sealed(await gnupgTar()) },
    wifi: { path: '/etc/NetworkManager/system-connections/home.nmconnection', mode: '0600', sealed: await sealed(NM) },
  };
}

const manifestWith = (secrets: Record<string, SecretEntry>): Manifest => ({ ...baseManifest(), secrets });

/** `null`: locked (no identity in the context). */
async function restore(m: Manifest, id: Identity | null = identity, progress = recorder()) {
  const ctx = makeCtx(env, m, id ?? undefined);
  return applySecrets(stepOf(ctx, 'secrets.restore'), ctx, progress);
}

const home = (rel: string) => join(env.root, 'home/ana', rel);
const modeOf = (p: string) => (lstatSync(p).mode & 0o7777).toString(8).padStart(4, '0');
const ownerOf = (p: string) => [lstatSync(p).uid, lstatSync(p).gid];

/** Every regular file in the target holding a marker, as "relpath: marker". */
function markersInTarget(): string[] {
  const found: string[] = [];
  const walk = (rel: string) => {
    const p = join(env.root, rel);
    const st = lstatSync(p);
    if (st.isDirectory()) {
      for (const n of readdirSync(p)) walk(rel ? `${rel}/${n}` : n);
    } else if (st.isFile()) {
      const text = readFileSync(p).toString('latin1');
      for (const m of MARKERS) if (text.includes(m)) found.push(`${rel}: ${m}`);
    }
  };
  walk('');
  return found.sort();
}

describe('secrets.restore', () => {
  it('opens every secret with the identity and writes it with its exact mode, owner and parents 0700; plaintext nowhere else', async () => {
    const oldUmask = process.umask(0o077); // a 0644 secret must still be 0644
    try {
      const progress = recorder();
      const out = await restore(manifestWith(await fullSecrets()), identity, progress);
      expect(out).toEqual({ status: 'done', message: '6 secrets restored' });
      expect(progress.calls.at(-1)).toEqual({ bytes: 0, items: 6 });
    } finally {
      process.umask(oldUmask);
    }
    expect(readFileSync(home('.ssh/id_ed25519'), 'utf8')).toBe(SSH_KEY);
    expect(modeOf(home('.ssh/id_ed25519'))).toBe('0600');
    expect(modeOf(home('.ssh/id_ed25519.pub'))).toBe('0644');
    expect(modeOf(home('.ssh'))).toBe('0700');
    expect(ownerOf(home('.ssh'))).toEqual([UID, GID]);
    expect(ownerOf(home('.ssh/id_ed25519'))).toEqual([UID, GID]);
    expect(readFileSync(home('.netrc'), 'utf8')).toBe(NETRC);
    expect(modeOf(home('.netrc'))).toBe('0600');
    expect(readFileSync(home('.config/rclone/rclone.conf'), 'utf8')).toBe(RCLONE);
    for (const d of ['.config', '.config/rclone']) {
      expect(modeOf(home(d)), d).toBe('0700');
      expect(ownerOf(home(d)), d).toEqual([UID, GID]);
    }
    // The folder secret: its own mode 0700, modes from the tar minus group/world write.
    expect(modeOf(home('.gnupg'))).toBe('0700');
    expect(readFileSync(home('.gnupg/private-keys-v1.d/ABCD.key'), 'utf8')).toBe(GPG_KEY);
    expect(modeOf(home('.gnupg/private-keys-v1.d/ABCD.key'))).toBe('0600');
    expect(modeOf(home('.gnupg/private-keys-v1.d'))).toBe('0700');
    expect(modeOf(home('.gnupg/pubring.kbx'))).toBe('0644');
    expect(modeOf(home('.gnupg/gpg.conf'))).toBe('0644'); // was 0666
    for (const p of ['.gnupg', '.gnupg/pubring.kbx', '.gnupg/private-keys-v1.d', '.gnupg/private-keys-v1.d/ABCD.key']) {
      expect(ownerOf(home(p)), p).toEqual([UID, GID]);
    }
    // Outside the home: root's.
    const wifi = join(env.root, 'etc/NetworkManager/system-connections/home.nmconnection');
    expect(readFileSync(wifi, 'utf8')).toBe(NM);
    expect(modeOf(wifi)).toBe('0600');
    expect(ownerOf(wifi)).toEqual([0, 0]);
    expect(modeOf(join(env.root, 'etc/NetworkManager/system-connections'))).toBe('0700');

    // Each plaintext is in its final file and nowhere else; no temp or staging left.
    expect(markersInTarget()).toEqual(
      [
        'etc/NetworkManager/system-connections/home.nmconnection: MARKER-WIFI-1234',
        'home/ana/.config/rclone/rclone.conf: MARKER-RCLONE-9e9e',
        'home/ana/.gnupg/private-keys-v1.d/ABCD.key: MARKER-GPG-PRIVATE-0b0b',
        'home/ana/.netrc: MARKER-NETRC-77aa',
        'home/ana/.ssh/id_ed25519: MARKER-SSH-5f1d0c',
      ].sort(),
    );
    expect(existsSync(join(env.root, '.koder-restore-staging'))).toBe(false);
    expect(readdirSync(home('.ssh')).sort()).toEqual(['id_ed25519', 'id_ed25519.pub']);
  });

  it('locked (no identity): skipped with the names, nothing written', async () => {
    const before = snapshotForCompare(env.root);
    const out = await restore(manifestWith(await fullSecrets()), null);
    expect(out).toEqual({
      status: 'skipped',
      message: SECRETS_LOCKED_MESSAGE,
      details: ['gnupg', 'netrc', 'rclone', 'ssh_ed25519', 'ssh_ed25519_pub', 'wifi'],
    });
    expect(snapshotForCompare(env.root)).toEqual(before);
  });

  it('a tampered sealed value, or one sealed to another key, fails that item; the others are restored', async () => {
    const secrets = await fullSecrets();
    const b = Buffer.from(secrets.netrc!.sealed, 'base64');
    b[b.length - 5]! ^= 0x01;
    secrets.netrc = { ...secrets.netrc!, sealed: b.toString('base64') };
    secrets.rclone = { ...secrets.rclone!, sealed: await sealed(RCLONE, other) };
    secrets.broken = { path: '~/.broken', mode: '0600', sealed: 'not base64!' };
    const out = await restore(manifestWith(secrets));
    expect(out.status).toBe('failed');
    expect(out.message).toBe('3 of 7 secrets could not be restored');
    expect(out.details).toEqual([
      'broken: the sealed value is not base64',
      'netrc: cannot be opened: it was sealed to another key, or it was altered',
      'rclone: cannot be opened: it was sealed to another key, or it was altered',
    ]);
    expect(existsSync(home('.netrc'))).toBe(false);
    expect(existsSync(home('.config/rclone'))).toBe(false);
    expect(readFileSync(home('.ssh/id_ed25519'), 'utf8')).toBe(SSH_KEY);
    expect(readFileSync(home('.gnupg/private-keys-v1.d/ABCD.key'), 'utf8')).toBe(GPG_KEY);
    expect(markersInTarget().some((l) => l.includes('NETRC') || l.includes('RCLONE'))).toBe(false);
  });

  it('an existing different file is kept as .pre-restore (a symlink to /etc/shadow is not followed); a second run changes nothing', async () => {
    await writeFile(join(env.root, 'etc/shadow'), 'root:*:19000:0:99999:7:::\n', { mode: 0o640 });
    await mkdir(home('.ssh'), { mode: 0o700 });
    await symlink('/etc/shadow', home('.ssh/id_ed25519'));
    await writeFile(home('.netrc'), 'old netrc\n', { mode: 0o600 });
    const m = manifestWith(await fullSecrets());
    const out = await restore(m);
    expect(out.status).toBe('done');
    expect(out.details).toEqual([
      'netrc: kept /home/ana/.netrc.pre-restore (was different)',
      'ssh_ed25519: kept /home/ana/.ssh/id_ed25519.pre-restore (was different)',
    ]);
    expect(readFileSync(join(env.root, 'etc/shadow'), 'utf8')).toBe('root:*:19000:0:99999:7:::\n');
    expect(lstatSync(home('.ssh/id_ed25519')).isFile()).toBe(true);
    expect(readFileSync(home('.ssh/id_ed25519'), 'utf8')).toBe(SSH_KEY);
    expect(readlinkSync(home('.ssh/id_ed25519.pre-restore'))).toBe('/etc/shadow');
    expect(readFileSync(home('.netrc.pre-restore'), 'utf8')).toBe('old netrc\n');

    const before = snapshotForCompare(env.root);
    // The second run writes nothing — no staging, no temp file, no plaintext
    // on disk a second time: watch the folders it would write in.
    const events: string[] = [];
    const watchers = ['', 'home/ana', 'home/ana/.ssh', 'home/ana/.gnupg', 'home/ana/.gnupg/private-keys-v1.d', 'etc/NetworkManager/system-connections'].map((d) =>
      watch(join(env.root, d), (type, name) => events.push(`${type} ${d}/${String(name)}`)),
    );
    try {
      const again = await restore(m);
      expect(again).toEqual({ status: 'done', message: '6 secrets restored' });
      await new Promise((r) => setTimeout(r, 200));
    } finally {
      for (const w of watchers) w.close();
    }
    expect(events).toEqual([]);
    expect(snapshotForCompare(env.root)).toEqual(before);
  });

  it('a folder secret with unsafe entries is refused (that item fails), nothing written outside', async () => {
    for (const entries of [
      [{ name: './ok', data: 'x' }, { name: '../../../escaped', data: 'MARKER-SSH-5f1d0c' }],
      [{ name: './ok', data: 'x' }, { name: './dev', type: '4', devmajor: 8, devminor: 0 }],
      [{ name: './out', type: '2', linkname: '../../../..' }, { name: './out/escaped', data: 'x' }],
      [{ name: './ok', data: 'x' }, { name: './suid', data: 'x', mode: 0o4755 }],
    ]) {
      const secrets = { gnupg: { path: '~/.gnupg', mode: '0700', type: 'tar' as const, sealed: await sealed(buildTar(entries)) } };
      const before = snapshotForCompare(env.root);
      const out = await restore(manifestWith(secrets));
      expect(out.status).toBe('failed');
      expect(out.details![0]).toMatch(/^gnupg: unsafe tar entry/);
      expect(snapshotForCompare(env.root)).toEqual(before);
      expect(existsSync(join(env.base, 'escaped'))).toBe(false);
    }
  });

  it('a temp file left by an interrupted run is replaced, not followed, and gone afterwards', async () => {
    await mkdir(home('.ssh'), { mode: 0o700 });
    await symlink('/etc/passwd', home('.ssh/.id_ed25519.koder-restore-tmp'));
    const passwd = readFileSync(join(env.root, 'etc/passwd'), 'utf8');
    const out = await restore(manifestWith({ ssh_ed25519: { path: '~/.ssh/id_ed25519', mode: '0600', sealed: await sealed(SSH_KEY) } }));
    expect(out.status).toBe('done');
    expect(readdirSync(home('.ssh'))).toEqual(['id_ed25519']);
    expect(readFileSync(join(env.root, 'etc/passwd'), 'utf8')).toBe(passwd);
  });

  it('a secret path through a symlink out of the root is refused (failed item)', async () => {
    await symlink('../../../outside', home('.ssh'));
    const out = await restore(manifestWith({ ssh_ed25519: { path: '~/.ssh/id_ed25519', mode: '0600', sealed: await sealed(SSH_KEY) } }));
    expect(out.status).toBe('failed');
    expect(out.details![0]).toMatch(/escapes root/);
    expect(existsSync(join(env.base, 'outside'))).toBe(false);
  });
});
