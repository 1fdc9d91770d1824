/**
 * Reading blobs from a BlobSource so that an error of the *source* (its
 * bytes do not hash to the address, or it could not deliver them) can be told
 * apart from an error of what consumes them (a refused archive, a full disk):
 * the former stops the restore, the latter fails one item.
 */
import type { Readable } from 'node:stream';
import type { BlobRef } from '../manifest/types.ts';
import type { BlobSource } from './applier.ts';
import type { RemoteBlob } from './remote-blob.ts';

/**
 * Reads a blob to its end, for the BlobSource to check its address. Resolves
 * if the stored bytes are authentic; otherwise rejects with the source's error.
 */
export async function verifyBlob(blobs: BlobSource, ref: BlobRef, signal?: AbortSignal): Promise<void> {
  const s = await blobs.open(ref, signal ? { signal } : {});
  s.on('error', () => undefined); // the loop below rethrows it
  try {
    for await (const _ of s) {
      /* the source hashes what flows through */
    }
  } finally {
    s.destroy();
  }
}

/**
 * Iterates a Readable, remembering an error that came from it (not from the
 * consumer). The listener is attached at once: a source may fail before we
 * start reading (a small blob hashed to its end while the staging dir is
 * made), and an 'error' without a listener would crash the process.
 */
export function watched(src: Readable): { chunks: AsyncGenerator<Uint8Array, void, undefined>; failure: { error?: unknown } } {
  const failure: { error?: unknown } = {};
  // Once we stop reading (our consumer failed or finished), the iterator's
  // own teardown (an AbortError from destroying the stream) is not the source's fault.
  let stopped = false;
  src.on('error', (e: unknown) => {
    if (!stopped) failure.error ??= e ?? new Error('blob stream failed');
  });
  async function* chunks(): AsyncGenerator<Uint8Array, void, undefined> {
    try {
      for await (const c of src) yield c as Uint8Array;
    } catch (e) {
      if (!stopped) failure.error ??= e ?? new Error('blob stream failed');
      throw e;
    } finally {
      stopped = true;
      src.destroy();
    }
  }
  return { chunks: chunks(), failure };
}

/**
 * The same for a remote blob: an error of its policy (it gave up, or the
 * blob is not there) is remembered as the source's.
 */
export function watchedRemote(remote: RemoteBlob): { remote: RemoteBlob; failure: { error?: unknown } } {
  const failure: { error?: unknown } = {};
  return {
    remote: {
      idleMs: remote.idleMs,
      attempt: (from, after) =>
        remote.attempt(from, after).catch((e: unknown) => {
          failure.error ??= e;
          throw e;
        }),
    },
    failure,
  };
}
