/**
 * Where the extractor's tar bytes come from (TarSource): a stream of tar
 * bytes (`plainTarSource`), a .tar.zst decompressed on the calling thread
 * (`inThreadSource`, `zstdDecompress`), or one decompressed in a worker
 * thread (zstd-worker-source.ts) — each counting the bytes and computing
 * the sha256 digests asked for as they pass.
 *
 * zstd: the `zstd-napi` native binding's streaming context
 * (ZSTD_decompressStream) is driven directly, not through the package's
 * `DecompressStream` Transform: that Transform pushes *all* output of one
 * input chunk regardless of backpressure, so a highly compressible chunk is
 * buffered whole (measured: +1.5 GiB RSS on a ~30 KiB "zstd bomb").
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import binding from 'zstd-napi/binding.js';
import type { RemoteBlob } from './remote-blob.ts';
import { ZstdError } from './tar-errors.ts';

/** Where the tar bytes come from, with their running counts and final hashes. */
export interface TarSource {
  chunks: AsyncIterable<Buffer>;
  /** A chunk is only valid until the next one is requested. */
  transientChunks?: boolean;
  tarBytes(): number;
  compressedBytes(): number;
  /** Valid once `chunks` is exhausted; undefined if not computed. */
  tarSha256(): string | undefined;
  /** Valid once `chunks` is exhausted; undefined if not computed. */
  blobSha256(): string | undefined;
  /** Stops everything upstream (source stream, worker). */
  close(): Promise<void>;
}

/** Which sha256 digests a TarSource computes as the bytes pass. */
export interface SourceHashes {
  /** Of the compressed input (the blob's address). */
  hashBlob: boolean;
  /** Of the decompressed tar. */
  hashTar: boolean;
}

/** Compressed bytes the worker fetches itself (remote-blob.ts). */
export interface RemoteInput {
  remote: RemoteBlob;
}

/** What a .tar.zst comes from: a stream of its bytes, or a remote blob. */
export type TarZstInput = Readable | AsyncIterable<Uint8Array> | RemoteInput;

export const isRemote = (s: TarZstInput): s is RemoteInput => typeof (s as RemoteInput).remote?.attempt === 'function';

export function toBuffer(c: Uint8Array): Buffer {
  return Buffer.isBuffer(c) ? c : Buffer.from(c.buffer, c.byteOffset, c.byteLength);
}

export function destroyIfStream(source: Readable | AsyncIterable<Uint8Array>): void {
  const r = source as Readable;
  if (typeof r.destroy === 'function' && !r.destroyed) r.destroy();
}

/**
 * Streaming zstd decompression with real backpressure (see the file header).
 * Handles concatenated frames; throws ZstdError on a truncated last frame.
 */
export async function* zstdDecompress(source: AsyncIterable<Uint8Array>): AsyncGenerator<Buffer, void, undefined> {
  const dctx = new binding.DCtx();
  const outSize = binding.dStreamOutSize();
  let inFrame = false;
  for await (const chunk of source) {
    let src = toBuffer(chunk);
    if (src.length === 0) continue;
    for (;;) {
      const dst = Buffer.allocUnsafe(outSize);
      let ret: number, produced: number, consumed: number;
      try {
        [ret, produced, consumed] = dctx.decompressStream(dst, src);
      } catch (e) {
        throw new ZstdError(`zstd: ${(e as Error).message}`);
      }
      src = src.subarray(consumed);
      if (produced > 0) yield dst.subarray(0, produced);
      if (src.length === 0 && (produced < dst.length || ret === 0)) {
        inFrame = ret !== 0;
        break;
      }
    }
  }
  if (inFrame) throw new ZstdError('zstd: input ends in the middle of a frame');
}

/** Passes chunks through while hashing and counting them. */
async function* hashing(
  source: AsyncIterable<Uint8Array>,
  state: { hash: ReturnType<typeof createHash> | undefined; bytes: number },
): AsyncGenerator<Buffer, void, undefined> {
  for await (const c of source) {
    const b = toBuffer(c);
    state.hash?.update(b);
    state.bytes += b.length;
    yield b;
  }
}

/** Decompression and tar hashing on the calling thread. */
export function inThreadSource(source: Readable | AsyncIterable<Uint8Array>, hashes: SourceHashes): TarSource {
  const blob = { hash: hashes.hashBlob ? createHash('sha256') : undefined, bytes: 0 };
  const tar = { hash: hashes.hashTar ? createHash('sha256') : undefined, bytes: 0 };
  const chunks = hashing(zstdDecompress(hashing(source, blob)), tar);
  let tarSha: string | undefined;
  let blobSha: string | undefined;
  return {
    chunks,
    tarBytes: () => tar.bytes,
    compressedBytes: () => blob.bytes,
    tarSha256: () => (tar.hash ? (tarSha ??= tar.hash.digest('hex')) : undefined),
    blobSha256: () => (blob.hash ? (blobSha ??= blob.hash.digest('hex')) : undefined),
    close: async () => {
      destroyIfStream(source);
      await chunks.return().catch(() => undefined);
    },
  };
}

/** An uncompressed tar stream, its sha256 computed. */
export function plainTarSource(source: Readable | AsyncIterable<Uint8Array>): TarSource {
  const tar = { hash: createHash('sha256'), bytes: 0 };
  const chunks = hashing(source, tar);
  let tarSha: string | undefined;
  return {
    chunks,
    tarBytes: () => tar.bytes,
    compressedBytes: () => 0,
    tarSha256: () => (tarSha ??= tar.hash.digest('hex')),
    blobSha256: () => undefined,
    close: async () => {
      destroyIfStream(source);
      await chunks.return().catch(() => undefined);
    },
  };
}
