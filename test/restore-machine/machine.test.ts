import { describe, expect, it } from 'vitest';
import { createActor, fromCallback, fromPromise, waitFor, type EventObject } from 'xstate';
import { restoreMachine, type ApplyInput, type PrepareInput } from '../../src/restore-machine/machine.ts';
import { planRestore, type RestoreChoice } from '../../src/restore-machine/plan.ts';
import type { Prepared, RestoreReport, SnapshotSummary } from '../../src/restore-machine/types.ts';
import { normalize, parse, VerificationError } from '../../src/manifest/index.ts';
import { KeyError } from '../../src/keys/errors.ts';
import { fixtureText } from '../helpers/manifests.ts';

const manifest = normalize(parse(fixtureText(), 'full.kvg'));
const choice: RestoreChoice = { snapshotId: 'a'.repeat(64), hostname: 'novo', targetUser: 'ana', categories: ['system', 'apps', 'files', 'repos', 'secrets'] };
const snapshots: SnapshotSummary[] = [{ id: choice.snapshotId, hostname: 'rodrigo-laptop', createdAt: '2026-05-21T10:00:00Z', owner: 'u1', shared: false, chainDepth: 1, bytes: 10 }];


/** The machine with in-memory actors that record what they were asked to do. */
function harness(opts: { prepareError?: Error[]; stepFails?: string[] } = {}) {
  const calls = { login: 0, prepare: [] as PrepareInput[], apply: [] as ApplyInput[] };
  const prepareErrors = [...(opts.prepareError ?? [])];
  const machine = restoreMachine.provide({
    actors: {
      login: fromCallback<EventObject, { retry: number }>(({ sendBack }) => {
        calls.login++;
        sendBack({ type: 'LOGIN.CODE', code: { userCode: 'ABCD-EFGH', verificationUri: 'http://127.0.0.1/device', verificationUriComplete: 'http://127.0.0.1/device?user_code=ABCD-EFGH', expiresAt: 1 } });
      }),
      listSnapshots: fromPromise(async () => snapshots),
      prepare: fromPromise<Prepared, PrepareInput>(async ({ input }) => {
        calls.prepare.push(input);
        const e = prepareErrors.shift();
        if (e) throw e;
        return { plan: planRestore(manifest, input.choice), vault: input.unlock ? 'unlocked' : 'locked', chain: [input.choice.snapshotId] };
      }),
      apply: fromCallback<EventObject, ApplyInput>(({ input, sendBack }) => {
        calls.apply.push(input);
        const steps = input.prepared.plan.steps.filter((s) => !input.retryOnly || input.retryOnly.includes(s.id));
        const results = steps.map((s) => {
          sendBack({ type: 'STEP.START', stepId: s.id });
          sendBack({ type: 'STEP.PROGRESS', stepId: s.id, bytes: s.bytes, items: s.items });
          const failed = !input.retryOnly && opts.stepFails?.includes(s.kind);
          const result = { stepId: s.id, status: failed ? ('failed' as const) : ('done' as const) };
          sendBack({ type: 'STEP.DONE', result });
          return result;
        });
        const report: RestoreReport = { status: results.some((r) => r.status === 'failed') ? 'partial' : 'done', snapshotId: input.choice.snapshotId, results, deferred: input.prepared.plan.deferred, startedAt: 'x', finishedAt: 'y' };
        sendBack({ type: 'APPLY.DONE', report });
      }),
    },
  });
  return { machine, calls };
}

describe('restore machine', () => {
  it('goes welcome → login → choose → prepare → waitTarget → apply → report', async () => {
    const { machine, calls } = harness();
    const actor = createActor(machine).start();
    expect(actor.getSnapshot().value).toBe('welcome');
    actor.send({ type: 'START' });
    expect(actor.getSnapshot().value).toEqual({ login: 'waiting' });
    expect(actor.getSnapshot().context.login?.userCode).toBe('ABCD-EFGH');
    actor.send({ type: 'LOGIN.DONE', user: { id: 'u1' } });
    await waitFor(actor, (s) => s.matches({ choose: 'ready' }));
    expect(actor.getSnapshot().context.snapshots).toEqual(snapshots);
    actor.send({ type: 'CHOOSE', choice, unlock: true });
    await waitFor(actor, (s) => s.matches('waitTarget'));
    expect(calls.prepare).toEqual([{ choice, unlock: true }]);
    actor.send({ type: 'TARGET', target: { root: '/target', user: 'ana' } });
    await waitFor(actor, (s) => s.matches('report'));
    const ctx = actor.getSnapshot().context;
    expect(ctx.report?.status).toBe('done');
    expect(ctx.results.map((r) => r.stepId)).toEqual(ctx.prepared!.plan.steps.map((s) => s.id));
    expect(ctx.progress['files.restore:~/Documentos']).toEqual({ bytes: 40960, items: 1 });
  });

  it('SKIP ends the machine without doing anything', () => {
    const { machine, calls } = harness();
    const actor = createActor(machine).start();
    actor.send({ type: 'SKIP' });
    expect(actor.getSnapshot().status).toBe('done');
    expect(calls.login).toBe(0);
  });

  it('a verification failure is final for that snapshot; BACK lets the person choose another', async () => {
    const { machine } = harness({ prepareError: [new VerificationError('bad-signature', 'snapshot x: signature does not match')] });
    const actor = createActor(machine, { snapshot: undefined }).start();
    actor.send({ type: 'START' });
    actor.send({ type: 'LOGIN.DONE', user: { id: 'u1' } });
    await waitFor(actor, (s) => s.matches({ choose: 'ready' }));
    actor.send({ type: 'CHOOSE', choice, unlock: false });
    await waitFor(actor, (s) => s.matches('refused'));
    // The UiState's spelling of manifest_verify, which the wizard reads.
    expect(actor.getSnapshot().context.error).toEqual({ code: 'MANIFEST_VERIFY', message: 'snapshot x: signature does not match' });
    actor.send({ type: 'RETRY' }); // not offered for a refusal
    expect(actor.getSnapshot().value).toBe('refused');
    actor.send({ type: 'BACK' });
    await waitFor(actor, (s) => s.matches({ choose: 'ready' }));
    expect(actor.getSnapshot().context.error).toBeUndefined();
  });

  it('a wrong passphrase goes back to choose with the error; a network error offers retry', async () => {
    const { machine, calls } = harness({ prepareError: [new KeyError('wrong_secret', 'wrong passphrase'), new Error('ECONNREFUSED')] });
    const actor = createActor(machine).start();
    actor.send({ type: 'START' });
    actor.send({ type: 'LOGIN.DONE', user: { id: 'u1' } });
    await waitFor(actor, (s) => s.matches({ choose: 'ready' }));
    actor.send({ type: 'CHOOSE', choice, unlock: true });
    await waitFor(actor, (s) => s.matches({ choose: 'ready' }) && s.context.error !== undefined);
    expect(actor.getSnapshot().context.error?.code).toBe('WRONG_SECRET');
    actor.send({ type: 'CHOOSE', choice, unlock: true });
    await waitFor(actor, (s) => s.matches({ prepare: 'failed' }));
    expect(actor.getSnapshot().context.error?.message).toBe('ECONNREFUSED');
    actor.send({ type: 'RETRY' });
    await waitFor(actor, (s) => s.matches('waitTarget'));
    expect(calls.prepare).toHaveLength(3);
  });

  it('an expired login code gets a new one on NEW_CODE', async () => {
    const { machine, calls } = harness();
    const actor = createActor(machine).start();
    actor.send({ type: 'START' });
    actor.send({ type: 'LOGIN.FAILED', error: { code: 'EXPIRED', message: 'code expired' } });
    expect(actor.getSnapshot().value).toEqual({ login: 'failed' });
    actor.send({ type: 'NEW_CODE' });
    expect(actor.getSnapshot().value).toEqual({ login: 'waiting' });
    expect(calls.login).toBe(2);
  });

  it('retries only the failed steps', async () => {
    const { machine, calls } = harness({ stepFails: ['apt.install'] });
    const actor = createActor(machine).start();
    for (const e of [{ type: 'START' }, { type: 'LOGIN.DONE', user: { id: 'u1' } }] as const) actor.send(e);
    await waitFor(actor, (s) => s.matches({ choose: 'ready' }));
    actor.send({ type: 'CHOOSE', choice, unlock: false });
    await waitFor(actor, (s) => s.matches('waitTarget'));
    actor.send({ type: 'TARGET', target: { root: '/t', user: 'ana' } });
    await waitFor(actor, (s) => s.matches('report'));
    expect(actor.getSnapshot().context.report?.status).toBe('partial');
    actor.send({ type: 'RETRY_FAILED' });
    await waitFor(actor, (s) => s.matches('report') && s.context.report?.status === 'done');
    expect(calls.apply[1]!.retryOnly).toEqual(['apt.install']);
    expect(actor.getSnapshot().context.results.find((r) => r.stepId === 'apt.install')?.status).toBe('done');
  });

  it('persists as JSON without secrets and resumes where it stopped', async () => {
    const { machine } = harness();
    const actor = createActor(machine).start();
    actor.send({ type: 'START' });
    actor.send({ type: 'LOGIN.DONE', user: { id: 'u1' } });
    await waitFor(actor, (s) => s.matches({ choose: 'ready' }));
    actor.send({ type: 'CHOOSE', choice, unlock: true });
    await waitFor(actor, (s) => s.matches('waitTarget'));
    const saved = JSON.stringify(actor.getPersistedSnapshot());
    actor.stop();
    expect(saved).not.toMatch(/passphrase/i);

    const second = harness();
    const resumed = createActor(second.machine, { snapshot: JSON.parse(saved) }).start();
    expect(resumed.getSnapshot().value).toBe('waitTarget');
    expect(second.calls.prepare).toHaveLength(0); // prepare finished before the stop: not run again
    resumed.send({ type: 'TARGET', target: { root: '/t', user: 'ana' } });
    await waitFor(resumed, (s) => s.matches('report'));
    expect(second.calls.apply).toHaveLength(1);
  });

  it('an apply in flight at the stop is started again with its persisted input', async () => {
    const applyInputs: ApplyInput[] = [];
    const stuck = restoreMachine.provide({
      actors: {
        login: fromCallback(() => {}),
        listSnapshots: fromPromise(async () => snapshots),
        prepare: fromPromise<Prepared, PrepareInput>(async ({ input }) => ({ plan: planRestore(manifest, input.choice), vault: 'absent', chain: [] })),
        apply: fromCallback<EventObject, ApplyInput>(({ input, sendBack }) => {
          applyInputs.push(input);
          sendBack({ type: 'STEP.DONE', result: { stepId: 'system.hostname', status: 'done' } });
        }),
      },
    });
    const actor = createActor(stuck).start();
    actor.send({ type: 'START' });
    actor.send({ type: 'LOGIN.DONE', user: { id: 'u1' } });
    await waitFor(actor, (s) => s.matches({ choose: 'ready' }));
    actor.send({ type: 'CHOOSE', choice, unlock: false });
    await waitFor(actor, (s) => s.matches('waitTarget'));
    actor.send({ type: 'TARGET', target: { root: '/t', user: 'ana' } });
    const saved = JSON.parse(JSON.stringify(actor.getPersistedSnapshot()));
    actor.stop();
    expect(saved.value).toEqual({ apply: 'running' });
    const again = createActor(stuck, { snapshot: saved }).start();
    expect(again.getSnapshot().context.results).toEqual([{ stepId: 'system.hostname', status: 'done' }]);
    expect(applyInputs).toHaveLength(2);
    expect(applyInputs[1]).toEqual(applyInputs[0]);
  });

  it("a shared snapshot's owner comes from the listing, stays in the persisted choice and reaches prepare and a resumed apply", async () => {
    const shared: SnapshotSummary = { ...snapshots[0]!, id: 'b'.repeat(64), owner: 'owner-1', shared: true };
    const inputs: { prepare: PrepareInput[]; apply: ApplyInput[] } = { prepare: [], apply: [] };
    const machine = restoreMachine.provide({
      actors: {
        login: fromCallback(() => {}),
        listSnapshots: fromPromise(async () => [...snapshots, shared]),
        prepare: fromPromise<Prepared, PrepareInput>(async ({ input }) => {
          inputs.prepare.push(input);
          return { plan: planRestore(manifest, input.choice), vault: 'locked', chain: [] };
        }),
        apply: fromCallback<EventObject, ApplyInput>(({ input }) => void inputs.apply.push(input)),
      },
    });
    const actor = createActor(machine).start();
    actor.send({ type: 'START' });
    actor.send({ type: 'LOGIN.DONE', user: { id: 'u1' } });
    await waitFor(actor, (s) => s.matches({ choose: 'ready' }));
    // The wizard's event cannot name an owner: my own snapshot stays mine.
    actor.send({ type: 'CHOOSE', choice: { ...choice, owner: 'someone-else' }, unlock: false });
    await waitFor(actor, (s) => s.matches('waitTarget'));
    expect(actor.getSnapshot().context.choice).toEqual(choice);
    actor.send({ type: 'BACK' });
    await waitFor(actor, (s) => s.matches({ choose: 'ready' }));
    actor.send({ type: 'CHOOSE', choice: { ...choice, snapshotId: shared.id }, unlock: false });
    await waitFor(actor, (s) => s.matches('waitTarget'));
    expect(inputs.prepare.at(-1)!.choice.owner).toBe('owner-1');
    actor.send({ type: 'TARGET', target: { root: '/t', user: 'ana' } });
    const saved = JSON.parse(JSON.stringify(actor.getPersistedSnapshot()));
    actor.stop();
    const resumed = createActor(machine, { snapshot: saved }).start();
    expect(resumed.getSnapshot().value).toEqual({ apply: 'running' });
    expect(inputs.apply.map((i) => i.choice.owner)).toEqual(['owner-1', 'owner-1']);
    resumed.stop();
  });
});

describe('planRestore', () => {
  it('orders steps as the architecture says and defers what cannot run in a chroot', () => {
    const plan = planRestore(manifest, choice);
    expect(plan.steps.map((s) => s.kind)).toEqual([
      'system.hostname', 'system.timezone', 'system.locale', 'system.keyboard', 'system.gpu',
      'apt.sources', 'apt.install', 'flatpak.system', 'kpkg.install', 'files.restore', 'repo.restore', 'secrets.restore', 'firstboot.install',
    ]);
    expect(plan.deferred.map((d) => d.id)).toEqual(['gsettings', 'snap:code', 'snap:spotify']);
    expect(plan.totals.bytes).toBe(40960 + 52311);
    expect(plan.byCategory.files).toEqual({ bytes: 40960, items: 1 });
  });

  it('restores only the chosen categories: the hostname is a system setting', () => {
    const plan = planRestore(manifest, { ...choice, categories: ['files'] });
    expect(plan.steps.map((s) => s.id)).toEqual(['files.restore:~/Documentos']);
    expect(plan.deferred).toEqual([]);
    const bare = structuredClone(manifest);
    delete bare.system;
    expect(planRestore(bare, { ...choice, categories: ['system'] }).steps.map((s) => s.id)).toEqual(['system.hostname']);
  });

  it('defers ssh repos without a bundle to first boot, as the user', () => {
    const m = structuredClone(manifest);
    m.repos!.entry = [{ slug: 'x', url: 'git@flow.koder.dev:ana/x.git', path: '~/x', branch: 'main' }];
    const plan = planRestore(m, { ...choice, categories: ['repos'] });
    expect(plan.deferred).toEqual([{ id: 'repo.ssh:~/x', kind: 'repo.ssh', label: 'git clone git@flow.koder.dev:ana/x.git', asUser: true, args: { url: 'git@flow.koder.dev:ana/x.git', path: '~/x', branch: 'main' } }]);
    expect(plan.steps.map((s) => s.kind)).toEqual(['firstboot.install']);
  });
});
