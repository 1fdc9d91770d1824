/**
 * The restore machine (XState v5). It reads like the diagram in
 * ARCHITECTURE.md: welcome → login → choose → prepare → waitTarget → apply →
 * report. Every effect is an actor supplied from outside with `provide()`:
 *
 * - `login`          (callback) device flow; sends LOGIN.CODE, LOGIN.DONE, LOGIN.FAILED
 * - `listSnapshots`  (promise)  the person's and shared snapshots
 * - `prepare`        (promise)  resolve + verify the chain (of `choice.owner` when shared), open the vault, plan
 * - `apply`          (callback) run the plan into the target; sends STEP.*, APPLY.DONE, APPLY.FAILED
 *
 * Context is JSON and holds no secret: the daemon keeps a passphrase in
 * memory only, and the event says just `unlock: true`. Invoked actors are
 * restarted with their persisted input after a restore, so `apply` must load
 * its own checkpoint (done steps) from the state dir.
 */
import { assign, fromCallback, fromPromise, setup, type EventObject } from 'xstate';
import type { RestoreChoice } from './plan.ts';
import type { Prepared, RestoreContext, RestoreEvent, SnapshotSummary, StepProgress, TargetInfo } from './types.ts';
import { toMachineError } from './machine-error.ts';
import { hasCode, isVerificationError } from '../util/coded-error.ts';

export interface PrepareInput {
  choice: RestoreChoice;
  unlock: boolean;
}
export interface ApplyInput {
  choice: RestoreChoice;
  target: TargetInfo;
  prepared: Prepared;
  retryOnly?: string[];
}

const unprovided = (name: string) => () => {
  throw new Error(`restore machine: actor '${name}' was not provided`);
};

export { toMachineError };

/**
 * The choice with the snapshot's owner when it was shared with me, taken from
 * the listing (not from the event): prepare and apply read blobs, keys and
 * manifests from the owner's storage, and the choice is persisted with the
 * machine, so a restarted daemon still knows whose they are.
 */
function withOwner(choice: RestoreChoice, snapshots: SnapshotSummary[] | undefined): RestoreChoice {
  const { owner: _fromEvent, ...rest } = choice;
  const listed = snapshots?.find((s) => s.id === choice.snapshotId);
  return listed?.shared ? { ...rest, owner: listed.owner } : rest;
}

/** The step's progress from a STEP.PROGRESS event (JSON only: it is persisted). */
function stepProgress(e: { bytes: number; items: number } & Partial<StepProgress>): StepProgress {
  const p: StepProgress = { bytes: e.bytes, items: e.items };
  if (e.phase !== undefined) p.phase = e.phase;
  if (e.detail !== undefined) p.detail = e.detail;
  if (e.work !== undefined) p.work = e.work.map((w) => ({ rate: w.rate, total: w.total, done: w.done }));
  return p;
}

export const restoreMachine = setup({
  types: {
    context: {} as RestoreContext,
    events: {} as RestoreEvent,
  },
  actors: {
    login: fromCallback<EventObject, { retry: number }>(unprovided('login')),
    listSnapshots: fromPromise<SnapshotSummary[], Record<string, never>>(unprovided('listSnapshots')),
    prepare: fromPromise<Prepared, PrepareInput>(unprovided('prepare')),
    apply: fromCallback<EventObject, ApplyInput>(unprovided('apply')),
  },
  guards: {
    // The actor's error as thrown: the catalogue says what it is.
    isVerificationError: ({ event }) => isVerificationError((event as unknown as { error: unknown }).error),
    isWrongSecret: ({ event }) => hasCode((event as unknown as { error: unknown }).error, 'wrong_secret'),
    hasFailedSteps: ({ context }) => context.results.some((r) => r.status === 'failed'),
  },
  actions: {
    setErrorFromActor: assign({ error: ({ event }) => toMachineError((event as unknown as { error: unknown }).error) }),
    clearError: assign({ error: undefined }),
  },
}).createMachine({
  id: 'restore',
  initial: 'welcome',
  context: { unlock: false, progress: {}, results: [] },
  states: {
    welcome: {
      on: { START: 'login', SKIP: 'skipped' },
    },
    login: {
      initial: 'waiting',
      states: {
        waiting: {
          invoke: { src: 'login', input: ({ context }) => ({ retry: context.login ? 1 : 0 }) },
          on: {
            'LOGIN.CODE': { actions: assign({ login: ({ event }) => event.code, error: undefined }) },
            'LOGIN.DONE': { target: '#restore.choose', actions: assign({ user: ({ event }) => event.user, login: undefined, error: undefined }) },
            'LOGIN.FAILED': { target: 'failed', actions: assign({ error: ({ event }) => event.error }) },
          },
        },
        failed: {
          on: { NEW_CODE: { target: 'waiting', actions: 'clearError' } },
        },
      },
    },
    choose: {
      initial: 'loading',
      states: {
        loading: {
          invoke: {
            src: 'listSnapshots',
            input: () => ({}),
            onDone: { target: 'ready', actions: assign({ snapshots: ({ event }) => event.output }) },
            onError: { target: 'failed', actions: 'setErrorFromActor' },
          },
        },
        failed: { on: { RETRY: { target: 'loading', actions: 'clearError' } } },
        ready: {
          on: {
            // Nothing worth restoring (or no snapshot at all): leave without restoring.
            SKIP: { target: '#restore.skipped' },
            CHOOSE: {
              target: '#restore.prepare',
              actions: assign({ choice: ({ context, event }) => withOwner(event.choice, context.snapshots), unlock: ({ event }) => event.unlock, error: undefined, prepared: undefined }),
            },
          },
        },
      },
    },
    prepare: {
      initial: 'running',
      states: {
        running: {
          invoke: {
            src: 'prepare',
            input: ({ context }) => ({ choice: context.choice!, unlock: context.unlock }),
            onDone: { target: '#restore.waitTarget', actions: assign({ prepared: ({ event }) => event.output }) },
            onError: [
              { guard: 'isVerificationError', target: '#restore.refused', actions: 'setErrorFromActor' },
              { guard: 'isWrongSecret', target: '#restore.choose.ready', actions: 'setErrorFromActor' },
              { target: 'failed', actions: 'setErrorFromActor' },
            ],
          },
        },
        failed: {
          on: { RETRY: { target: 'running', actions: 'clearError' }, BACK: { target: '#restore.choose', actions: 'clearError' } },
        },
      },
    },
    /** A verification failure is final for that snapshot: only another choice goes on. */
    refused: {
      on: { BACK: { target: 'choose', actions: assign({ error: undefined, choice: undefined }) } },
    },
    waitTarget: {
      on: {
        TARGET: { target: 'apply', actions: assign({ target: ({ event }) => event.target }) },
        BACK: 'choose',
      },
    },
    apply: {
      initial: 'running',
      states: {
        running: {
          invoke: {
            src: 'apply',
            input: ({ context }) => ({ choice: context.choice!, target: context.target!, prepared: context.prepared!, retryOnly: context.retryOnly }),
          },
          on: {
            'STEP.START': { actions: assign({ current: ({ event }) => event.stepId }) },
            'STEP.PROGRESS': {
              actions: assign({ progress: ({ context, event }) => ({ ...context.progress, [event.stepId]: stepProgress(event) }) }),
            },
            'STEP.DONE': {
              actions: assign({
                results: ({ context, event }) => [...context.results.filter((r) => r.stepId !== event.result.stepId), event.result],
                current: undefined,
              }),
            },
            'APPLY.DONE': { target: '#restore.report', actions: assign({ report: ({ event }) => event.report, retryOnly: undefined, current: undefined }) },
            'APPLY.FAILED': { target: 'failed', actions: assign({ error: ({ event }) => event.error }) },
          },
        },
        failed: { on: { RETRY: { target: 'running', actions: 'clearError' } } },
      },
    },
    report: {
      on: {
        RETRY_FAILED: {
          guard: 'hasFailedSteps',
          target: 'apply',
          actions: assign({ retryOnly: ({ context }) => context.results.filter((r) => r.status === 'failed').map((r) => r.stepId) }),
        },
      },
    },
    skipped: { type: 'final' },
  },
});
