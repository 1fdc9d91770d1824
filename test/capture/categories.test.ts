/**
 * `[snapshot] categories` (the Backup app's "what to include"): the config
 * refuses an unknown, empty or repeated list naming the key; a capture
 * leaves a category out entirely — not collected and not carried over from
 * the parent, so the chain folds without it — while `only` still carries
 * the categories it did not collect.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { capture, mergeConfig, ConfigError } from '../../src/capture/index.ts';
import { DriveClient } from '../../src/drive/index.ts';
import { generateIdentity, type Identity } from '../../src/keys/identity.ts';
import { resolveChain } from '../../src/manifest/index.ts';
import { loginAs, testServer, type TestServer } from '../server/fixture.ts';
import { makeFixtureHome, testConfig, type FixtureHome } from './fixture.ts';

let srv: TestServer;
let fx: FixtureHome;
let client: DriveClient;
let identity: Identity;

beforeAll(async () => {
  fx = makeFixtureHome(mkdtempSync(join(tmpdir(), 'koder-categories-')));
  srv = await testServer();
  client = new DriveClient({ server: srv.url, tokens: (await loginAs(srv, 'ana')).access_token });
  identity = await generateIdentity();
}, 60_000);
afterAll(async () => {
  await srv?.close();
  fx?.cleanup();
});

describe('[snapshot] categories', () => {
  it('refuses an unknown, empty or repeated list, naming the key', () => {
    for (const bad of [['files', 'music'], [], ['files', 'files'], 'files']) {
      expect(() => mergeConfig({ snapshot: { categories: bad } }, 'config.toml'), JSON.stringify(bad)).toThrow(ConfigError);
      expect(() => mergeConfig({ snapshot: { categories: bad } }, 'config.toml')).toThrow(/snapshot\.categories/);
    }
    expect(mergeConfig({ snapshot: { categories: ['files', 'repos'] } }, 'config.toml').snapshot.categories).toEqual(['files', 'repos']);
    expect(mergeConfig({}, 'config.toml').snapshot.categories).toEqual(['system', 'apps', 'repos', 'secrets', 'files']);
  });

  it('a category left out is neither collected nor carried over; `only` still carries the rest', async () => {
    const all = await capture({ config: testConfig(fx.base), home: fx.home, root: '/', only: ['repos', 'secrets', 'files'], client, identity });
    expect(all.full.repos?.entry?.length).toBeGreaterThan(0);
    expect(Object.keys(all.full.secrets ?? {}).length).toBeGreaterThan(0);

    // Only files collected: repos and secrets come from the parent.
    const carried = await capture({ config: testConfig(fx.base), home: fx.home, root: '/', only: ['files'], client, identity });
    expect(carried.full.repos).toEqual(all.full.repos);
    expect(carried.full.secrets).toEqual(all.full.secrets);

    // The config leaves repos out: gone from the snapshot, though the parent has them.
    const cfg = testConfig(fx.base, (c) => (c.snapshot.categories = ['secrets', 'files']));
    const without = await capture({ config: cfg, home: fx.home, root: '/', client, identity });
    expect(without.kind).toBe('delta');
    expect(without.full.repos).toBeUndefined();
    const { folded } = await resolveChain(without.id, (id) => client.getManifest(id), [identity.signing.publicKey]);
    expect(folded.repos?.entry ?? []).toEqual([]);
    expect(Object.keys(folded.secrets ?? {})).toEqual(Object.keys(all.full.secrets ?? {}));
    expect(folded.files?.entry?.map((f) => f.local_path)).toEqual(all.full.files?.entry?.map((f) => f.local_path));
  }, 120_000);
});
