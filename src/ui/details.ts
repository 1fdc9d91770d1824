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

export type DetailsState = SnapshotDetails | 'loading' | { failed: 'refused' | 'error'; message: string };
export const details = signal<Record<string, DetailsState>>({});
export const isRefused = (d: DetailsState | undefined): d is { failed: 'refused'; message: string } => typeof d === 'object' && 'failed' in d && d.failed === 'refused';
export const loadedDetails = (d: DetailsState | undefined): SnapshotDetails | null => (typeof d === 'object' && !('failed' in d) ? d : null);

/** A details request the daemon answered with an error: `code` MANIFEST_VERIFY means the chain failed verification. */
export class DetailsError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

export async function fetchDetails(id: string, signal?: AbortSignal): Promise<SnapshotDetails> {
  const res = await fetch(`${DETAILS_PATH}${encodeURIComponent(id)}/details`, { credentials: 'same-origin', signal });
  if (!res.ok) {
    const body = (await res.json().catch(() => ({}))) as { error?: { code?: string; message?: string } };
    throw new DetailsError(res.status, body.error?.code ?? `HTTP_${res.status}`, body.error?.message ?? `details: HTTP ${res.status}`);
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
          const refused = e instanceof DetailsError && e.code === 'MANIFEST_VERIFY';
          details.value = { ...details.peek(), [id]: { failed: refused ? 'refused' : 'error', message: (e as Error).message } };
        },
      )
      .finally(() => {
        running--;
        pump();
      });
  }
}
