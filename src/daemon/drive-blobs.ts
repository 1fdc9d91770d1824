/**
 * The restore's BlobSource over the drive client: streams for the appliers
 * that read blobs here (keyrings, bundles), remote blobs for the files
 * applier's worker, which downloads them itself (src/drive/blob-remote.ts),
 * and whole verified downloads for the fetch-ahead (chroot-appliers/ahead.ts).
 */
import type { BlobSource } from '../chroot-appliers/applier.ts';
import { openBlobRemote } from '../drive/blob-remote.ts';
import { openBlobStream } from '../drive/blob-stream.ts';
import { downloadBlob } from '../drive/download.ts';
import type { DriveClient } from '../drive/client.ts';
import { blobHex } from '../manifest/index.ts';

/** `owner`: the chain's owner when it was shared with me; `signal` stops every transfer. */
export function driveBlobSource(c: DriveClient, owner?: string, signal?: AbortSignal): BlobSource {
  const sig = (s?: AbortSignal) => s ?? signal;
  return {
    open: async (ref, o = {}) => {
      const s = sig(o.signal);
      return openBlobStream(c, blobHex(ref), {
        ...(owner ? { owner } : {}),
        ...(s ? { signal: s } : {}),
        ...(o.onBytes ? { onBytes: o.onBytes } : {}),
        verify: !o.callerVerifies,
      });
    },
    read: (ref, start, end, o = {}) => {
      const s = sig(o.signal);
      return c.readBlob(blobHex(ref), { ...(owner ? { owner } : {}), ...(start !== undefined ? { start } : {}), ...(end !== undefined ? { end } : {}), ...(s ? { signal: s } : {}) });
    },
    ...(owner ? {} : { list: () => c.listAllBlobs() }),
    remote: (ref, o = {}) => {
      const s = sig(o.signal);
      return openBlobRemote(c, blobHex(ref), { ...(owner ? { owner } : {}), ...(s ? { signal: s } : {}) });
    },
    fetch: {
      size: (ref) => c.headBlob(blobHex(ref), owner),
      download: async (ref, dest, o = {}) => {
        const s = sig(o.signal);
        let last = 0;
        const r = await downloadBlob(c, blobHex(ref), dest, {
          ...(owner ? { owner } : {}),
          ...(s ? { signal: s } : {}),
          ...(o.durable === false ? { durable: false } : {}),
          ...(o.onBytes ? { onProgress: (have: number) => (o.onBytes!(have - last), (last = have)) } : {}),
        });
        return { size: r.size };
      },
    },
  };
}
