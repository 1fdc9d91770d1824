/**
 * A snapshot shared with another person, restored by that person, with the
 * daemon restarted in the middle of the apply: the restarted session must
 * still fetch the owner's blobs (the owner lives in the persisted machine,
 * not in the old process's memory) and finish "done" with the files and the
 * repository exactly as they were captured. Real server, real share, real
 * device-flow logins of two users, real appliers into a plain target root.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testServer, loginAs, type TestServer } from '../server/fixture.ts';
import { AuthSession, saveTokens } from '../../src/auth/index.ts';
import { DriveClient } from '../../src/drive/index.ts';
import { RestoreSession, type RestoreSessionConfig } from '../../src/daemon/restore-session.ts';
import { defaultAppliers, type ApplierTable } from '../../src/chroot-appliers/index.ts';
import type { StepKind } from '../../src/restore-machine/plan.ts';
import type { UiState } from '../../src/daemon/ui-state.ts';
import { seedChain, type SeededChain } from '../helpers/seed-chain.ts';
import { g, setGitHome } from '../helpers/git.ts';
import { makeEnv, type Env } from '../appliers-data/setup.ts';
import { contentTree as tree } from '../helpers/tree-state.ts';

let srv: TestServer;
let work: string;
let seeded: SeededChain;
let anaId: string;
let beaEnv: NodeJS.ProcessEnv;
let anaToken: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'ks-shared-resume-'));
  setGitHome(work);
  srv = await testServer();
  const ana = await loginAs(srv, 'ana');
  const bea = await loginAs(srv, 'bea');
  anaToken = ana.access_token;
  const anaClient = new DriveClient({ server: srv.url, tokens: anaToken });
  anaId = (await anaClient.me()).id;
  seeded = await seedChain(anaClient, work, { user: anaId });
  await anaClient.share(seeded.leaf, 'bea');
  beaEnv = { ...process.env, HOME: join(work, 'bea'), XDG_CONFIG_HOME: join(work, 'bea/config') };
  await saveTokens(bea, beaEnv);
}, 120_000);

afterAll(async () => {
  await srv?.cleanup();
  rmSync(work, { recursive: true, force: true });
});

/** Appliers where `kind` waits at its start until released, or gives up when the restore is aborted. */
function held(kind: StepKind) {
  let release!: () => void;
  let reached!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const started = new Promise<void>((r) => (reached = r));
  const real = defaultAppliers[kind]!;
  const appliers: ApplierTable = {
    ...defaultAppliers,
    [kind]: async (...args: Parameters<typeof real>) => {
      reached();
      const signal = args[1].signal;
      await new Promise<void>((resolve, reject) => {
        void gate.then(resolve);
        signal?.addEventListener('abort', () => reject(signal.reason), { once: true });
      });
      return real(...args);
    },
  };
  return { appliers, started, release };
}

function config(stateDir: string, target: Env, appliers: ApplierTable): RestoreSessionConfig {
  return {
    server: srv.url,
    stateDir,
    mode: 'standalone',
    env: beaEnv,
    defaults: { hostname: 'bea-novo', targetUser: 'ana' },
    appliers,
    target: { root: target.root, user: 'ana' },
  };
}

/** Plays the person's part (as the CLI does) until `until` says stop; resolves with that state. */
function drive(session: RestoreSession, snapshotId: string, until: (ui: UiState) => boolean, beforeConfirm = async () => {}): Promise<UiState> {
  return new Promise((resolve) => {
    let chose = false;
    let confirming = false;
    let unsubscribe = () => {};
    unsubscribe = session.subscribe((ui) => {
      if (until(ui)) {
        queueMicrotask(() => unsubscribe());
        return resolve(ui);
      }
      if (ui.phase === 'welcome') session.send({ type: 'START' });
      else if (ui.phase === 'choose' && ui.snapshots && !chose) {
        chose = true;
        session.send({ type: 'CHOOSE', choice: { snapshotId, hostname: 'bea-novo', targetUser: 'ana', categories: ['files', 'repos'] } });
      } else if (ui.phase === 'ready' && !confirming) {
        confirming = true;
        void beforeConfirm().then(() => session.send({ type: 'CONFIRM' }));
      }
    });
  });
}

const finished = (ui: UiState) => ['report', 'apply-failed', 'prepare-failed', 'refused', 'list-failed', 'login-failed'].includes(ui.phase) || (ui.phase === 'choose' && !!ui.error);


describe('a shared snapshot, restored by the person it was shared with', () => {
  it('is listed as shared by its owner', async () => {
    const bea = new DriveClient({ server: srv.url, tokens: await AuthSession.load(srv.url, { env: beaEnv }) });
    const shared = await bea.sharedWithMe();
    expect(shared.map((s) => [s.id, s.owner_id])).toContainEqual([seeded.leaf, anaId]);
  });

  it("fetches and verifies the chain once for the wizard's details and for prepare", async () => {
    const target = await makeEnv();
    const store = srv.services.snapshots;
    const text = store.text.bind(store);
    const fetched: string[] = [];
    store.text = (...args: Parameters<typeof text>) => {
      fetched.push(args[2]);
      return text(...args);
    };
    try {
      const session = await RestoreSession.open(config(join(work, 'state-once'), target, defaultAppliers));
      await drive(session, seeded.leaf, (ui) => ui.phase === 'choose' && !!ui.snapshots);
      const details = await session.details(seeded.leaf);
      expect(details.counts.files).toBe(1);
      await drive(session, seeded.leaf, (ui) => ui.phase === 'ready' || finished(ui), () => new Promise(() => {}));
      await session.close();
      expect(fetched.sort()).toEqual([...seeded.ids].sort());
    } finally {
      store.text = text;
      await target.dispose();
    }
  });

  it('survives a daemon restart in the middle of the apply and ends "done" with byte-identical files', async () => {
    const target = await makeEnv();
    const stateDir = join(work, 'state-restart');
    try {
      const hold = held('files.restore');
      const first = await RestoreSession.open(config(stateDir, target, hold.appliers));
      void drive(first, seeded.leaf, finished);
      await hold.started;
      expect(first.ui().phase).toBe('applying');
      await first.close(); // the daemon goes away with the files step in flight

      const second = await RestoreSession.open(config(stateDir, target, defaultAppliers));
      const end = await drive(second, seeded.leaf, finished);
      await second.close();
      expect(end.phase, JSON.stringify(end.error ?? end.report)).toBe('report');
      expect(end.report?.status, JSON.stringify(end.report?.results, null, 2)).toBe('done');
      expect(end.report?.results.map((r) => r.stepId)).toEqual(expect.arrayContaining(['files.restore:~/Documentos', 'repo.restore:~/dev/notas']));

      expect(tree(join(target.root, 'home/ana/Documentos'))).toEqual(tree(seeded.documents));
      const repo = join(target.root, 'home/ana/dev/notas');
      expect(g(repo, ['rev-parse', 'HEAD'])).toBe(g(seeded.bundledRepo, ['rev-parse', 'HEAD']));
      expect(readFileSync(join(repo, 'README.md'), 'utf8')).toBe(readFileSync(join(seeded.bundledRepo, 'README.md'), 'utf8'));
      expect(readFileSync(join(repo, 'nova.txt'), 'utf8')).toBe('arquivo novo\n');
    } finally {
      await target.dispose();
    }
  });

  it('a blob that cannot be fetched says which, from where and why in the report (the owner revoked the share)', async () => {
    const target = await makeEnv();
    const stateDir = join(work, 'state-revoked');
    try {
      const session = await RestoreSession.open(config(stateDir, target, defaultAppliers));
      // Prepared while the share stands (chain verified), revoked before the apply.
      const end = await drive(session, seeded.leaf, finished, () => new DriveClient({ server: srv.url, tokens: anaToken }).unshare(seeded.leaf, 'bea'));
      await session.close();
      expect(end.report?.status).toBe('partial');
      const blobSteps = end.report!.results.filter((r) => /^(files|repo)\.restore:/.test(r.stepId));
      expect(blobSteps).toHaveLength(2);
      for (const r of blobSteps) {
        expect(r.status).toBe('failed');
        expect(r.message).toMatch(new RegExp(`blob [0-9a-f]{64} could not be fetched from /v1/users/${anaId}/blobs/[0-9a-f]{64} \\(HTTP 404 not_found\\)`));
      }
    } finally {
      await target.dispose();
    }
  });
});
