/**
 * What the daemon says about each snapshot's contents (GET
 * /api/snapshots/<id>/details: its verified, folded chain), loaded once per
 * snapshot, at most three at a time, into one signal that the snapshot cards
 * (SnapshotPicker.tsx) and the pages' own screens share. The daemon verifies
 * the chain to answer, so a snapshot that fails verification is known here
 * before anyone opens it. Both daemons (installer wizard, Backup app) answer
 * this route the same way.
 */
import { signal } from '@preact/signals';
import { DETAILS_PATH, type SnapshotDetails } from '../daemon/ui-state.ts';
import { catalogueCode } from '../restore-machine/machine-error.ts';
import { CodedError } from '../util/coded-error.ts';

export type DetailsState = SnapshotDetails | 'loading' | { failed: 'refused' | 'error'; message: string };
export const details = signal<Record<string, DetailsState>>({});
export const isRefused = (d: DetailsState | undefined): d is { failed: 'refused'; message: string } => typeof d === 'object' && 'failed' in d && d.failed === 'refused';
export const loadedDetails = (d: DetailsState | undefined): SnapshotDetails | null => (typeof d === 'object' && !('failed' in d) ? d : null);

/**
 * A details request the daemon answered with an error, as a CodedError of
 * the catalogue (util/coded-error.ts): `manifest_verify` when the chain
 * failed verification, the catalogue's code when the daemon's is one (in the
 * catalogue's spelling or the UiState's, restore-machine/machine-error.ts),
 * else `http_error`. `wireCode` is the code as the daemon wrote it
 * (MANIFEST_VERIFY: the wire is unchanged), `status` the HTTP status.
 */
export class DetailsError extends CodedError {
  override name = 'DetailsError';
  constructor(
    readonly status: number,
    readonly wireCode: string | undefined,
    message: string,
  ) {
    super(catalogueCode(wireCode === undefined ? undefined : { code: wireCode, message }) ?? 'http_error', message, { status, ...(wireCode !== undefined ? { wireCode } : {}) });
  }
}

export async function fetchDetails(id: string, signal?: AbortSignal): Promise<SnapshotDetails> {
  const res = await fetch(`${DETAILS_PATH}${encodeURIComponent(id)}/details`, { credentials: 'same-origin', signal });
  if (!res.ok) {
    const body = (await res.json().catch(() => ({}))) as { error?: { code?: unknown; message?: unknown } };
    const code = typeof body.error?.code === 'string' ? body.error.code : undefined;
    throw new DetailsError(res.status, code, typeof body.error?.message === 'string' ? body.error.message : `details: HTTP ${res.status}`);
  }
  return (await res.json()) as SnapshotDetails;
}

const queue: string[] = [];
let running = 0;
const MAX_PARALLEL = 3;

/** Asks for a snapshot's details once (into `details`); `again` asks again after an error. */
export function loadDetails(id: string, again = false): void {
  const cur = details.peek()[id];
  if (cur !== undefined && !(again && typeof cur === 'object' && 'failed' in cur && cur.failed === 'error')) return;
  details.value = { ...details.peek(), [id]: 'loading' };
  queue.push(id);
  pump();
}

/** Forgets what is known (the list changed: a snapshot deleted, the account signed out). */
export function forgetDetails(ids?: readonly string[]): void {
  if (!ids) details.value = {};
  else {
    const next = { ...details.peek() };
    for (const id of ids) delete next[id];
    details.value = next;
  }
}

function pump(): void {
  while (running < MAX_PARALLEL && queue.length) {
    const id = queue.shift()!;
    running++;
    fetchDetails(id)
      .then(
        (d) => (details.value = { ...details.peek(), [id]: d }),
        (e: unknown) => {
          const refused = e instanceof DetailsError && e.code === 'manifest_verify';
          details.value = { ...details.peek(), [id]: { failed: refused ? 'refused' : 'error', message: (e as Error).message } };
        },
      )
      .finally(() => {
        running--;
        pump();
      });
  }
}
