/**
 * `koder-snapshot init` against a real server: identity written, public key
 * registered, vault uploaded with a passphrase slot AND a recovery slot
 * (both open to the same identity), the recovery key printed once with its
 * QR; run again: nothing to do; on a second machine: the identity comes from
 * the vault; a different local identity is refused.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { saveTokens } from '../../src/auth/token-store.ts';
import { init } from '../../src/cli/commands/init.ts';
import { main } from '../../src/cli/main.ts';
import type { Io } from '../../src/cli/command.ts';
import { DriveClient } from '../../src/drive/index.ts';
import { generateIdentity, loadIdentity, saveIdentity } from '../../src/keys/identity.ts';
import { openVault, parseVault } from '../../src/keys/vault.ts';
import { loginAs, testServer, type TestServer } from '../server/fixture.ts';

const base = mkdtempSync(join(tmpdir(), 'koder-init-'));
let srv: TestServer;
let client: DriveClient;
const saved: Record<string, string | undefined> = {};
const PASS = 'correct horse battery staple';

function io(stdin = ''): Io & { out_: string[]; err_: string[] } {
  const out_: string[] = [];
  const err_: string[] = [];
  return { out_, err_, out: (l) => out_.push(l), err: (l) => err_.push(l), stdin: async () => stdin };
}

beforeAll(async () => {
  for (const k of ['XDG_CONFIG_HOME', 'KODER_SNAPSHOT_SERVER']) saved[k] = process.env[k];
  process.env.XDG_CONFIG_HOME = join(base, 'config');
  delete process.env.KODER_SNAPSHOT_SERVER;
  srv = await testServer();
  const tokens = await loginAs(srv, 'bia');
  await saveTokens(tokens);
  client = new DriveClient({ server: srv.url, tokens: tokens.access_token });
}, 120_000);
afterAll(async () => {
  for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k];
  else process.env[k] = v;
  await srv?.cleanup();
  rmSync(base, { recursive: true, force: true });
});

describe('init', () => {
  let recoveryKey = '';

  it('creates the identity, registers it, uploads a vault with passphrase and recovery slots, prints the key once with a QR', async () => {
    const o = io(`${PASS}\n`);
    expect(await init.run(['--passphrase-stdin', '--server', srv.url], o), o.err_.join('\n')).toBe(0);
    const text = o.out_.join('\n');
    recoveryKey = /^ {4}([0-9A-Z]{4}(?:-[0-9A-Z]{4}){7})$/m.exec(text)?.[1] ?? '';
    expect(recoveryKey).not.toBe('');
    expect(text.split(recoveryKey).length - 1).toBe(1);
    expect(text).toMatch(/[█▀▄]{10,}/);
    const id = await loadIdentity(join(base, 'config', 'koder-snapshot', 'identity'));
    expect((await client.getKeys()).map((k) => k.key_id)).toContain(id.keyId);
    const stored = await client.getVault();
    const vault = parseVault(stored!.doc);
    expect(vault.key_id).toBe(id.keyId);
    expect(vault.slots.map((s) => s.kind).sort()).toEqual(['passphrase', 'recovery']);
    expect((await openVault(vault, { passphrase: PASS })).keyId).toBe(id.keyId);
    expect((await openVault(vault, { recoveryKey })).keyId).toBe(id.keyId);
  }, 60_000);

  it('run again: already set up', async () => {
    const o = io();
    expect(await init.run(['--passphrase-stdin', '--server', srv.url], o)).toBe(0);
    expect(o.out_.join('\n')).toMatch(/already set up/);
  });

  it('a second machine gets the same identity from the vault', async () => {
    const dir = join(base, 'machine2');
    const o = io(`${PASS}\n`);
    expect(await init.run(['--passphrase-stdin', '--identity', dir, '--server', srv.url], o), o.err_.join('\n')).toBe(0);
    expect(o.out_.join('\n')).toMatch(/opened from your account's vault/);
    const first = await loadIdentity(join(base, 'config', 'koder-snapshot', 'identity'));
    expect((await loadIdentity(dir)).keyId).toBe(first.keyId);
  }, 60_000);

  it('a machine with another identity is refused; a short passphrase is a usage error', async () => {
    const dir = join(base, 'machine3');
    await saveIdentity(dir, await generateIdentity());
    const o = io(`${PASS}\n`);
    // init_conflict: exit 1, from the catalogue (the CLI's entry, main.ts)
    expect(await main(['init', '--passphrase-stdin', '--identity', dir, '--server', srv.url], o)).toBe(1);
    expect(o.err_.join('\n')).toMatch(/is not the one in your account's vault/);
    await expect(init.run(['--passphrase-stdin', '--identity', join(base, 'm4'), '--force', '--server', srv.url], io('short\n'))).rejects.toThrow(/at least 8/);
  });
});
