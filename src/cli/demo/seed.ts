/**
 * Seeds the demo server with a user whose snapshot chain was produced by the
 * real capture code from the fixture (three captures: a full snapshot, then
 * two deltas), signed with a fresh identity whose key vault opens with the
 * demo passphrase. The server is this process's own, so its stores are
 * written directly (the demo owns its data folder) — everything else goes
 * the way a real capture goes.
 */
import { createReadStream, existsSync } from 'node:fs';
import { join } from 'node:path';
import { capture, defaultConfig, type CaptureConfig } from '../../capture/index.ts';
import { createVault, generateIdentity, publicIdentity } from '../../keys/index.ts';
import { blobHex, blobRefs, diff, serialize, sign, snapshotId, type Manifest } from '../../manifest/index.ts';
import type { RunningServer } from '../../server/index.ts';
import { makeFixture } from './fixture-home.ts';

export const DEMO_USER = 'demo';
export const DEMO_PASSWORD = 'koder-demo';
export const DEMO_PASSPHRASE = 'demo passphrase';

export interface Seeded {
  userId: string;
  ids: string[];
}

/** What capture cannot find in a fixture (this machine's packages are not the demo's): the demo's apps. */
function demoApps(step: number): Manifest['apps'] {
  return {
    apt: step === 0 ? ['jq'] : ['jq', 'tree'],
    snap: [{ name: 'spotify', channel: 'latest/stable' }],
    flatpak: [{ ref: 'app/org.gnome.Boxes/x86_64/stable', origin: 'flathub', origin_url: 'https://dl.flathub.org/repo/', scope: 'user' }],
  };
}

export async function seedDemo(srv: RunningServer, workDir: string, log: (l: string) => void): Promise<Seeded> {
  const user = await srv.addUser(DEMO_USER, DEMO_PASSWORD);
  const identity = await generateIdentity();
  const { services } = srv;
  await services.keys.replace(user.id, [publicIdentity(identity)]);
  const { vault } = await createVault(identity, { passphrase: DEMO_PASSPHRASE, kdf: 'interactive' });
  await services.vault.put(user.id, JSON.stringify(vault));

  const fixture = makeFixture(join(workDir, 'fixture'));
  const config: CaptureConfig = defaultConfig({ HOME: fixture.home });
  config.cache.dir = join(workDir, 'capture-cache');
  config.cache.keep_blobs = true;
  config.snapshot.hostname = 'ana-laptop';
  config.repos.roots = ['~/dev'];

  const fulls: Manifest[] = [];
  const ids: string[] = [];
  for (let step = 0; step < 3; step++) {
    if (step > 0) fixture.evolve(step);
    const r = await capture({
      config, home: fixture.home, root: fixture.root, only: ['system', 'repos', 'secrets', 'files'], dryRun: true, identity,
      now: () => new Date(Date.UTC(2026, 10, 1 + step * 7, 18)),
    });
    const full: Manifest = { ...r.full, apps: demoApps(step) };
    full.snapshot = { ...full.snapshot, koder_user_id: user.id };
    const m = step === 0 ? full : diff(fulls[step - 1]!, full, ids[step - 1]);
    const signed = sign(m, identity.signing.seed);
    for (const ref of blobRefs(signed)) {
      const hex = blobHex(ref);
      // v1 blobs in the blob cache; data v2 packs and tree roots where the store wrote them.
      const v1 = join(config.cache.dir, 'blobs', hex);
      await services.blobs.put(user.id, hex, createReadStream(existsSync(v1) ? v1 : join(config.cache.dir, 'v2', 'packs', hex)));
    }
    const created = await services.snapshots.create(user.id, serialize(signed));
    if (created.id !== snapshotId(signed)) throw new Error('demo seed: the server computed another id');
    fulls.push(full);
    ids.push(created.id);
    log(`seeded snapshot ${step + 1}/3 ${created.id.slice(0, 12)} (${step === 0 ? 'full' : 'delta'})`);
  }
  return { userId: user.id, ids };
}
