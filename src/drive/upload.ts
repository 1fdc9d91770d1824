/**
 * Blob upload: HEAD first (the server already has it → nothing sent), else
 * PUT the file as a stream with its Content-Length; the server verifies the
 * sha256 and stores nothing on mismatch. A failed PUT is repeated from the
 * start (PUT is idempotent), with backoff.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import type { DriveClient } from './client.ts';
import { pool } from './retry.ts';

export interface UploadResult {
  hex: string;
  size: number;
  /** false when the server already had it (nothing was sent). */
  sent: boolean;
}

export async function uploadBlob(c: DriveClient, hex: string, file: string, signal?: AbortSignal): Promise<UploadResult> {
  const { size } = await stat(file);
  if ((await c.headBlob(hex)) !== undefined) return { hex, size, sent: false };
  await c.request(c.blobPath(hex), {
    method: 'PUT',
    headers: { 'content-type': 'application/octet-stream', 'content-length': String(size) },
    bodyFactory: () => Readable.toWeb(createReadStream(file)) as unknown as BodyInit,
    signal,
  });
  return { hex, size, sent: true };
}

export function uploadBlobs(c: DriveClient, items: { hex: string; file: string }[], o: { parallel?: number; signal?: AbortSignal } = {}): Promise<UploadResult[]> {
  return pool(items, o.parallel ?? 4, (it) => uploadBlob(c, it.hex, it.file, o.signal));
}
