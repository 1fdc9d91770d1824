import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { EXIT_FAILED, EXIT_OK, UsageError, type Io } from '../../src/cli/command.ts';
import { keygen } from '../../src/cli/commands/keygen.ts';
import { main } from '../../src/cli/main.ts';
import { loadIdentity, publicIdentity, PRIVATE_FILE, PUBLIC_FILE } from '../../src/keys/identity.ts';

function capture(): Io & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, out: (l) => stdout.push(l), err: (l) => stderr.push(l) };
}

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'koder-keygen-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

/** The `name value` lines keygen prints. */
function printed(lines: string[]): Record<string, string> {
  return Object.fromEntries(lines.map((l) => l.split(/\s+/) as [string, string]));
}

describe('koder-snapshot keygen', () => {
  test('writes an identity (0600 in 0700) and prints key_id and public keys', async () => {
    const dir = join(root, 'id');
    const io = capture();
    expect(await keygen.run(['--out', dir], io)).toBe(EXIT_OK);
    const id = await loadIdentity(dir);
    const pub = publicIdentity(id);
    expect(printed(io.stdout)).toEqual({ key_id: pub.key_id, ed25519: pub.ed25519, x25519: pub.x25519 });
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    expect((await stat(join(dir, PRIVATE_FILE))).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(join(dir, PUBLIC_FILE), 'utf8'))).toEqual(pub);
    expect(io.stderr.join('\n')).toContain(join(dir, PRIVATE_FILE));
    // Nothing secret on the terminal.
    const all = [...io.stdout, ...io.stderr].join('\n');
    expect(all).not.toContain(Buffer.from(id.signing.seed).toString('base64'));
    expect(all).not.toContain(Buffer.from(id.sealing.privateKey).toString('base64'));
  });

  test('-o is short for --out', async () => {
    const io = capture();
    expect(await keygen.run(['-o', root], io)).toBe(EXIT_OK);
    expect(printed(io.stdout).key_id).toBe((await loadIdentity(root)).keyId);
  });

  // The exit status of a refusal is the catalogue's, given by the CLI's entry (main).
  test('refuses to replace an identity (exit 1, says why) unless --force', async () => {
    const first = capture();
    await keygen.run(['--out', root], first);
    const keyId = printed(first.stdout).key_id;

    const again = capture();
    expect(await main(['keygen', '--out', root], again)).toBe(EXIT_FAILED);
    expect(again.stdout).toEqual([]);
    expect(again.stderr.join('\n')).toMatch(/already exists.*--force/);
    expect((await loadIdentity(root)).keyId).toBe(keyId);

    const forced = capture();
    expect(await keygen.run(['--out', root, '--force'], forced)).toBe(EXIT_OK);
    const newId = printed(forced.stdout).key_id;
    expect(newId).not.toBe(keyId);
    expect((await loadIdentity(root)).keyId).toBe(newId);
    expect((await readdir(root)).sort()).toEqual([PRIVATE_FILE, PUBLIC_FILE].sort());
  });

  test('a file-system failure is exit 1 with the reason', async () => {
    const io = capture();
    const file = join(root, 'f');
    await keygen.run(['--out', file], capture()); // makes a directory named f
    expect(await main(['keygen', '--out', join(file, PRIVATE_FILE, 'x')], io)).toBe(EXIT_FAILED);
    expect(io.stderr.join('\n')).toMatch(/EEXIST|ENOTDIR|not a directory/);
  });

  test('--help prints the usage and writes nothing', async () => {
    const io = capture();
    expect(await keygen.run(['--help'], io)).toBe(EXIT_OK);
    expect(io.stdout.join('\n')).toContain('Usage: koder-snapshot keygen --out DIR [--force]');
    expect(await readdir(root)).toEqual([]);
  });

  test.each([
    [[] as string[], /--out/],
    [['--out'], /--out/],
    [['--out', ''], /--out/],
    [['--bogus', '--out', 'x'], /bogus/],
    [['--out', 'x', 'extra'], /extra|positional/i],
  ])('usage error for %j', async (rawArgs, message) => {
    const args = rawArgs.map((a) => (a === 'x' ? join(root, 'x') : a));
    await expect(keygen.run(args, capture())).rejects.toThrow(UsageError);
    await expect(keygen.run(args, capture())).rejects.toThrow(message);
    expect(await readdir(root)).toEqual([]);
  });
});
