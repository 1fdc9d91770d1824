import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { ed25519Sign, ed25519Verify, keyIdOf } from '../../src/keys/ed25519.ts';
import { generateIdentity, loadIdentity, publicIdentity, saveIdentity, PRIVATE_FILE, PUBLIC_FILE } from '../../src/keys/identity.ts';
import { getSodium } from '../../src/keys/sodium.ts';
import { expectSameIdentity, rejectsWith } from './helpers.ts';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'koder-keys-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const mode = async (p: string) => (await stat(p)).mode & 0o777;

describe('generateIdentity / publicIdentity', () => {
  test('keys have the right sizes, match each other, and key_id is sha256 of the Ed25519 key', async () => {
    const sodium = await getSodium();
    const id = await generateIdentity();
    expect(id.signing.seed.length).toBe(32);
    expect(id.signing.publicKey.length).toBe(32);
    expect(id.sealing.privateKey.length).toBe(32);
    expect(id.sealing.publicKey.length).toBe(32);
    expect(Buffer.from(sodium.crypto_scalarmult_base(id.sealing.privateKey)).equals(id.sealing.publicKey)).toBe(true);
    expect(id.keyId).toBe(keyIdOf(id.signing.publicKey));
    expect(id.keyId).toMatch(/^[0-9a-f]{64}$/);
    const msg = new TextEncoder().encode('m');
    expect(ed25519Verify(id.signing.publicKey, msg, ed25519Sign(id.signing.seed, msg))).toBe(true);
    const other = await generateIdentity();
    expect(other.keyId).not.toBe(id.keyId);
  });

  test('publicIdentity holds public keys only', async () => {
    const id = await generateIdentity();
    const pub = publicIdentity(id);
    expect(Object.keys(pub).sort()).toEqual(['ed25519', 'key_id', 'x25519']);
    expect(Buffer.from(pub.ed25519, 'base64').equals(id.signing.publicKey)).toBe(true);
    expect(Buffer.from(pub.x25519, 'base64').equals(id.sealing.publicKey)).toBe(true);
    const text = JSON.stringify(pub);
    for (const secret of [id.signing.seed, id.sealing.privateKey]) expect(text).not.toContain(Buffer.from(secret).toString('base64'));
  });
});

describe('saveIdentity / loadIdentity', () => {
  test('round trip; private file 0600, directory 0700, public file 0644; no temp files left', async () => {
    const dir = join(root, 'a', 'b');
    const id = await generateIdentity();
    const saved = await saveIdentity(dir, id);
    expect(saved.privatePath).toBe(join(dir, PRIVATE_FILE));
    expect(await mode(dir)).toBe(0o700);
    expect(await mode(saved.privatePath)).toBe(0o600);
    expect(await mode(saved.publicPath)).toBe(0o644);
    expect((await readdir(dir)).sort()).toEqual([PRIVATE_FILE, PUBLIC_FILE].sort());
    expect(JSON.parse(await readFile(saved.publicPath, 'utf8'))).toEqual(publicIdentity(id));
    expectSameIdentity(id, await loadIdentity(dir));
  });

  test.each([0o000, 0o022, 0o277])('modes are exact whatever the umask (%o)', async (umask) => {
    const old = process.umask(umask);
    try {
      const dir = join(root, 'u');
      const id = await generateIdentity();
      await saveIdentity(dir, id);
      expect(await mode(dir)).toBe(0o700);
      expect(await mode(join(dir, PRIVATE_FILE))).toBe(0o600);
      expect(await mode(join(dir, PUBLIC_FILE))).toBe(0o644);
      expectSameIdentity(id, await loadIdentity(dir));
    } finally {
      process.umask(old);
    }
  });

  test('an existing group/world-readable directory is tightened to 0700', async () => {
    const dir = join(root, 'open');
    await mkdir(dir);
    await chmod(dir, 0o755);
    await saveIdentity(dir, await generateIdentity());
    expect(await mode(dir)).toBe(0o700);
  });

  test('refuses to overwrite an identity without force; replaces it with force', async () => {
    const first = await generateIdentity();
    const second = await generateIdentity();
    await saveIdentity(root, first);
    await rejectsWith(saveIdentity(root, second), 'identity_exists');
    expectSameIdentity(first, await loadIdentity(root));
    await saveIdentity(root, second, { force: true });
    expectSameIdentity(second, await loadIdentity(root));
    expect(await mode(join(root, PRIVATE_FILE))).toBe(0o600);
    expect((await readdir(root)).sort()).toEqual([PRIVATE_FILE, PUBLIC_FILE].sort());
  });

  test('two concurrent saves into one directory: exactly one wins, the loser is refused', async () => {
    const [a, b] = [await generateIdentity(), await generateIdentity()];
    const results = await Promise.allSettled([saveIdentity(root, a), saveIdentity(root, b)]);
    const ok = results.filter((r) => r.status === 'fulfilled');
    expect(ok.length).toBe(1);
    const failed = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(failed.reason.code).toBe('identity_exists');
    const loaded = await loadIdentity(root);
    expect([a.keyId, b.keyId]).toContain(loaded.keyId);
  });

  test('missing identity: IDENTITY_FILES naming the file', async () => {
    const err = await rejectsWith(loadIdentity(root), 'identity_files');
    expect(err.message).toContain(PRIVATE_FILE);
    expect(err.message).toMatch(/missing/);
  });

  test('a private file readable by others is refused', async () => {
    await saveIdentity(root, await generateIdentity());
    await chmod(join(root, PRIVATE_FILE), 0o640);
    const err = await rejectsWith(loadIdentity(root), 'identity_files');
    expect(err.message).toMatch(/chmod 600/);
  });

  async function editPrivate(edit: (rec: Record<string, unknown>) => void): Promise<void> {
    const p = join(root, PRIVATE_FILE);
    const rec = JSON.parse(await readFile(p, 'utf8')) as Record<string, unknown>;
    edit(rec);
    await writeFile(p, JSON.stringify(rec), { mode: 0o600 });
  }

  test.each([
    ['bad length', (r: Record<string, unknown>) => (r.ed25519_seed = Buffer.alloc(31).toString('base64')), /ed25519_seed: expected 32 bytes, got 31/],
    ['not base64', (r: Record<string, unknown>) => (r.x25519_private = 'not base64!'), /x25519_private: expected base64/],
    ['missing field', (r: Record<string, unknown>) => delete r.x25519_public, /x25519_public/],
    ['Ed25519 public key not matching the seed', (r: Record<string, unknown>) => (r.ed25519_seed = Buffer.alloc(32, 9).toString('base64')), /does not match the seed/],
    ['X25519 public key not matching the private key', (r: Record<string, unknown>) => (r.x25519_private = Buffer.alloc(32, 9).toString('base64')), /X25519 public key does not match/],
    ['key_id not matching', (r: Record<string, unknown>) => (r.key_id = '0'.repeat(64)), /key_id does not match/],
    ['unknown version', (r: Record<string, unknown>) => (r.version = 2), /unsupported version/],
  ])('damaged private file (%s) is refused with a clear message', async (_name, edit, message) => {
    await saveIdentity(root, await generateIdentity());
    await editPrivate(edit);
    const err = await rejectsWith(loadIdentity(root), 'identity_files');
    expect(err.message).toMatch(message);
  });

  test('a private file that is not JSON is refused', async () => {
    await saveIdentity(root, await generateIdentity());
    await writeFile(join(root, PRIVATE_FILE), 'garbage', { mode: 0o600 });
    expect((await rejectsWith(loadIdentity(root), 'identity_files')).message).toMatch(/not valid JSON/);
  });

  test('a public file that disagrees with the private key is reported; a missing one is fine', async () => {
    const id = await generateIdentity();
    await saveIdentity(root, id);
    await writeFile(join(root, PUBLIC_FILE), JSON.stringify(publicIdentity(await generateIdentity())));
    const err = await rejectsWith(loadIdentity(root), 'identity_files');
    expect(err.message).toContain(PUBLIC_FILE);
    await rm(join(root, PUBLIC_FILE));
    expectSameIdentity(id, await loadIdentity(root));
  });

  test('--out pointing at a file is refused', async () => {
    const file = join(root, 'file');
    await writeFile(file, 'x');
    await expect(saveIdentity(file, await generateIdentity())).rejects.toThrow();
  });
});
