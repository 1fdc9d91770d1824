/**
 * A chunk's stored form (what a pack holds for it):
 *
 *   sealed  = nonce (12 random bytes) ‖ AES-256-GCM(chunk key, nonce, payload, AAD) ‖ tag (16)
 *   payload = codec (1 byte: 0 raw, 1 zstd frame) ‖ body
 *   AAD     = "KSC2" ‖ type (1 byte: 0 data, 1 tree) ‖ chunk id (32 bytes)
 *
 * zstd is kept only when it shrinks the chunk. The key is per chunk
 * (keys.ts: derived from its id), so identical plaintexts share a key and
 * dedup by id, while a random nonce per sealing keeps AES-GCM safe even when
 * two machines compress the same chunk differently. The AAD binds the bytes
 * to their id and kind: a chunk moved under another id, or a data chunk
 * offered as a tree, does not open. AES-256-GCM was chosen by measurement
 * (bench/cipher.ts: on par with ChaCha20-Poly1305 here, both native).
 */
import { createCipheriv, createDecipheriv, randomBytes, type CipherGCM } from 'node:crypto';
import { CodedError } from '../util/coded-error.ts';

export const NONCE_BYTES = 12;
export const TAG_BYTES = 16;
/** Bytes a sealed chunk adds to its payload. */
export const SEAL_OVERHEAD = NONCE_BYTES + TAG_BYTES;
export const CHUNK_DATA = 0;
export const CHUNK_TREE = 1;
export type ChunkType = typeof CHUNK_DATA | typeof CHUNK_TREE;
const CODEC_RAW = 0;
const CODEC_ZSTD = 1;
const AAD_MAGIC = Buffer.from('KSC2', 'latin1');

/** What compresses and decompresses for us (zstd-napi's CCtx/DCtx, one per thread). */
export interface Zstd {
  /** Compresses `src` into `dst`; returns the bytes written. `dst` is at least compressBound(src). */
  compress(dst: Uint8Array, src: Uint8Array): number;
  decompress(dst: Uint8Array, src: Uint8Array): number;
  bound(size: number): number;
}

export function chunkAad(type: ChunkType, id: Uint8Array): Buffer {
  const aad = Buffer.allocUnsafe(AAD_MAGIC.length + 1 + id.length);
  AAD_MAGIC.copy(aad, 0);
  aad[AAD_MAGIC.length] = type;
  aad.set(id, AAD_MAGIC.length + 1);
  return aad;
}

/**
 * Sealing runs AES-GCM over a chunk in slices of this size: node:crypto
 * allocates each update's output, and with the product's fixed mmap
 * threshold (util/process-tuning.ts) an output over 128 KiB is a fresh
 * mapping every time, page-faulted and zeroed: 0.68 GiB/s for 1 MiB updates
 * against 1.6 GiB/s in 64 KiB slices, copied to their place (this CPU;
 * bench/README.md). Not when opening: the slices come from malloc's arenas
 * and stay there until a GC, and a 2 GiB restore's peak RSS went from
 * 188–194 to 197–204 MiB, over its 200 MiB goal; one mapping per chunk is
 * given back whole.
 */
const CIPHER_SLICE = 64 * 1024;

/** `c` over `src`, its output written at `dst[at…]` (`src` may be that very place: each slice is read before it is overwritten). */
function cipherInto(c: CipherGCM, src: Uint8Array, dst: Buffer, at: number): void {
  for (let o = 0; o < src.length; o += CIPHER_SLICE) c.update(src.subarray(o, Math.min(src.length, o + CIPHER_SLICE))).copy(dst, at + o);
}

/** Seals an already-built payload (codec byte + body). */
export function sealPayload(key: Uint8Array, aad: Uint8Array, payload: Uint8Array, nonce: Uint8Array = randomBytes(NONCE_BYTES)): Buffer {
  const c = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
  c.setAAD(aad);
  const out = Buffer.allocUnsafe(NONCE_BYTES + payload.length + TAG_BYTES);
  out.set(nonce, 0);
  const ct = c.update(payload);
  ct.copy(out, NONCE_BYTES);
  const fin = c.final();
  if (fin.length) throw new Error('AES-GCM final produced bytes');
  c.getAuthTag().copy(out, NONCE_BYTES + ct.length);
  return out;
}

/** Opens sealed bytes; undefined when the tag does not verify. */
export function openPayload(key: Uint8Array, aad: Uint8Array, sealed: Uint8Array): Buffer | undefined {
  if (sealed.length < SEAL_OVERHEAD) return undefined;
  const d = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, NONCE_BYTES), { authTagLength: TAG_BYTES });
  d.setAAD(aad);
  d.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
  try {
    const a = d.update(sealed.subarray(NONCE_BYTES, sealed.length - TAG_BYTES));
    const b = d.final();
    return b.length ? Buffer.concat([a, b]) : a;
  } catch {
    return undefined;
  }
}

/**
 * The payload of a chunk: zstd at `level` when that shrinks it, else raw.
 * `scratch` (optional) is reused across calls when large enough.
 */
export function chunkPayload(plain: Uint8Array, zstd: Zstd | undefined, scratch?: { buf: Buffer }): Buffer {
  if (zstd && plain.length > 64) {
    const need = 1 + zstd.bound(plain.length);
    const s = scratch && scratch.buf.length >= need ? scratch.buf : Buffer.allocUnsafe(need);
    if (scratch && s !== scratch.buf) scratch.buf = s;
    const n = zstd.compress(s.subarray(1), plain);
    if (n + 1 < plain.length + 1) {
      s[0] = CODEC_ZSTD;
      return s.subarray(0, n + 1);
    }
  }
  const p = Buffer.allocUnsafe(plain.length + 1);
  p[0] = CODEC_RAW;
  p.set(plain, 1);
  return p;
}

/** The most bytes `sealChunkInto` writes for a plaintext of `n` bytes. */
export function sealBound(n: number, zstd?: Zstd): number {
  return SEAL_OVERHEAD + 1 + Math.max(n, zstd && n > 64 ? zstd.bound(n) : 0);
}

/**
 * Seals one chunk straight into `dst` at `at` (the same bytes as sealChunk:
 * nonce ‖ AES-256-GCM(codec ‖ body) ‖ tag; zstd only when it shrinks the
 * chunk), for a writer that keeps its output buffers. `dst` needs
 * `sealBound(plain.length, zstd)` bytes from `at`. Returns the bytes written.
 */
export function sealChunkInto(dst: Buffer, at: number, key: Uint8Array, id: Uint8Array, type: ChunkType, plain: Uint8Array, zstd?: Zstd): number {
  const nonce = randomBytes(NONCE_BYTES);
  nonce.copy(dst, at);
  const payloadAt = at + NONCE_BYTES;
  let body: Uint8Array = plain;
  dst[payloadAt] = CODEC_RAW;
  if (zstd && plain.length > 64) {
    // Compressed in place, where the payload goes; encrypted over itself below.
    const n = zstd.compress(dst.subarray(payloadAt + 1, payloadAt + 1 + zstd.bound(plain.length)), plain);
    if (n < plain.length) {
      dst[payloadAt] = CODEC_ZSTD;
      body = dst.subarray(payloadAt + 1, payloadAt + 1 + n);
    }
  }
  const c = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
  c.setAAD(chunkAad(type, id));
  // GCM is a stream cipher: each update gives as many bytes as it was given.
  c.update(dst.subarray(payloadAt, payloadAt + 1)).copy(dst, payloadAt);
  cipherInto(c, body, dst, payloadAt + 1);
  if (c.final().length) throw new Error('AES-GCM final produced bytes');
  const end = payloadAt + 1 + body.length;
  c.getAuthTag().copy(dst, end);
  return end + TAG_BYTES - at;
}

/** Seals one chunk (compressing when it helps; raw without `zstd`). `nonce`: for test vectors only. */
export function sealChunk(key: Uint8Array, id: Uint8Array, type: ChunkType, plain: Uint8Array, zstd?: Zstd, scratch?: { buf: Buffer }, nonce?: Uint8Array): Buffer {
  return sealPayload(key, chunkAad(type, id), chunkPayload(plain, zstd, scratch), nonce);
}

/**
 * Opens one chunk: authenticates it against its id and kind, decompresses
 * it (into `into` when given and large enough), checks its length. Throws CodedError 'chunk_auth_failed' otherwise —
 * nothing of it may be used.
 */
export function openChunk(key: Uint8Array, id: Uint8Array, type: ChunkType, sealed: Uint8Array, rawLength: number, zstd: Zstd, where = 'chunk', into?: Buffer): Buffer {
  const payload = openPayload(key, chunkAad(type, id), sealed);
  const fail = (why: string) =>
    new CodedError('chunk_auth_failed', `${where} ${Buffer.from(id).toString('hex').slice(0, 16)}…: ${why}`, { id: Buffer.from(id).toString('hex') });
  if (!payload || payload.length === 0) throw fail('does not authenticate (altered, swapped, or another key)');
  const codec = payload[0];
  const body = payload.subarray(1);
  if (codec === CODEC_RAW) {
    if (body.length !== rawLength) throw fail(`holds ${body.length} bytes, its reference says ${rawLength}`);
    return body;
  }
  if (codec !== CODEC_ZSTD) throw fail(`unknown codec ${codec}`);
  // `into` (a caller's reused buffer, when large enough) holds a decompressed chunk: valid until its next use.
  const out = into && into.length >= rawLength ? into.subarray(0, rawLength) : Buffer.allocUnsafe(rawLength);
  let n: number;
  try {
    n = zstd.decompress(out, body);
  } catch (e) {
    throw fail(`zstd: ${(e as Error).message}`);
  }
  if (n !== rawLength) throw fail(`decompresses to ${n} bytes, its reference says ${rawLength}`);
  return out;
}
