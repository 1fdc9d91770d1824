/**
 * Capture of THIS machine's real system (root `/`: the real /etc, dpkg and
 * apt-mark, the real gsettings/snap/flatpak if installed) with a fixture
 * home: the manifest parses, validates and verifies; then the same through
 * the CLI (`capture --dry-run`, `config`).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { capture } from '../../src/capture/index.ts';
import { capture as captureCommand } from '../../src/cli/commands/capture.ts';
import { config as configCommand } from '../../src/cli/commands/config.ts';
import type { Io } from '../../src/cli/command.ts';
import { main } from '../../src/cli/main.ts';
import { generateIdentity, saveIdentity, type Identity } from '../../src/keys/identity.ts';
import { parse, snapshotId, verifySignature } from '../../src/manifest/index.ts';
import { testConfig } from './fixture.ts';

const base = mkdtempSync(join(tmpdir(), 'koder-real-'));
const home = join(base, 'home');
let identity: Identity;
const saved: Record<string, string | undefined> = {};

beforeAll(async () => {
  mkdirSync(join(home, 'Documentos'), { recursive: true });
  writeFileSync(join(home, 'Documentos', 'carta.txt'), 'Olá\n');
  identity = await generateIdentity();
  for (const k of ['XDG_CONFIG_HOME', 'XDG_CACHE_HOME', 'KODER_SNAPSHOT_SERVER']) saved[k] = process.env[k];
  process.env.XDG_CONFIG_HOME = join(base, 'config');
  process.env.XDG_CACHE_HOME = join(base, 'cache');
  delete process.env.KODER_SNAPSHOT_SERVER;
});
afterAll(() => {
  for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k];
  else process.env[k] = v;
  rmSync(base, { recursive: true, force: true });
});

const hasAptMark = (() => {
  try {
    execFileSync('apt-mark', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

describe('capture of this machine', () => {
  it('produces a manifest that parses, validates and verifies', async () => {
    const r = await capture({ config: testConfig(base), home, root: '/', dryRun: true, identity });
    expect(r.posted).toBe(false);
    const m = parse(r.text, 'real.kvg');
    expect(snapshotId(m)).toBe(r.id);
    expect(verifySignature(m, [identity.signing.publicKey])).toBe(identity.keyId);
    expect(m.snapshot.koder_user_id).toBe('local');
    if (hasAptMark) {
      const manual = execFileSync('apt-mark', ['showmanual'], { encoding: 'utf8' }).split('\n').filter(Boolean);
      expect(m.apps?.apt?.length ?? 0).toBeGreaterThan(0);
      for (const p of m.apps!.apt!) expect(manual).toContain(p);
    }
    expect(m.system?.timezone).toBeTruthy();
    expect(m.files?.entry?.map((f) => f.local_path)).toEqual(['~/Documentos']);
    expect(m.skips?.patterns).toContain('node_modules');
  }, 60_000);

  it('`koder-snapshot capture --dry-run` prints the manifest and the sizes (no login needed)', async () => {
    await saveIdentity(join(base, 'config', 'koder-snapshot', 'identity'), identity);
    const out: string[] = [];
    const err: string[] = [];
    const io: Io = { out: (l) => out.push(l), err: (l) => err.push(l), isTTY: false };
    const code = await captureCommand.run(['--dry-run', '--home', home, '--only', 'system,files'], io);
    expect(code, err.join('\n')).toBe(0);
    const text = out.join('\n');
    const m = parse(text, 'stdout');
    verifySignature(m, [identity.signing.publicKey]);
    expect(m.apps).toBeUndefined();
    expect(text).toMatch(/^# full snapshot [0-9a-f]{64}/m);
    expect(text).toMatch(/^# folder .* files  ~\/Documentos$/m);
    expect(text).toContain('nothing uploaded (--dry-run)');
    expect(err.join('\n')).toContain('not logged in');
    expect(err.join('\n')).toMatch(/files +1 folder/);
  }, 60_000);

  it('`koder-snapshot config` prints the effective config, which is a valid config.toml', async () => {
    const out: string[] = [];
    const io: Io = { out: (l) => out.push(l), err: () => {} };
    expect(await configCommand.run([], io)).toBe(0);
    expect(out[0]).toMatch(/^# effective configuration: defaults/);
    const file = join(base, 'config', 'koder-snapshot', 'config.toml');
    writeFileSync(file, '[files]\nzstd_level = 5\n');
    out.length = 0;
    expect(await configCommand.run([], io)).toBe(0);
    expect(out.join('\n')).toContain('zstd_level = 5');
    writeFileSync(file, out.slice(1).join('\n'));
    out.length = 0;
    expect(await configCommand.run([], io)).toBe(0);
    expect(out.join('\n')).toContain('zstd_level = 5');
    writeFileSync(file, '[files]\nzstd = 5\n');
    const err: string[] = [];
    // config_invalid: exit 2, from the catalogue (the CLI's entry, main.ts)
    expect(await main(['config'], { out: () => {}, err: (l) => err.push(l) })).toBe(2);
    expect(err.join('\n')).toContain('files.zstd: unknown key');
  });
});
