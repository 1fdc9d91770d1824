/**
 * A pack: sealed chunks back to back, then its sealed table of contents,
 * then an 8-byte trailer. Uploaded as an ordinary content-addressed blob
 * (address = sha256 of all its bytes), so the server learns its size and
 * nothing else.
 *
 *   pack    = sealed chunk … ‖ sealed TOC ‖ trailer
 *   trailer = "KSP2" ‖ u32le(length of the sealed TOC)
 *   TOC     = "KTOC" ‖ u32le(count) ‖ count × entry
 *   entry   = type (u8) ‖ chunk id (32) ‖ offset (u32le) ‖ sealed length (u32le) ‖ raw length (u32le)   — 45 bytes
 *   sealed TOC = nonce ‖ AES-256-GCM(tocKey, nonce, TOC, AAD "KSP2-TOC") ‖ tag
 *
 * Only the account's owner (tocKey) reads a TOC: it rebuilds the local
 * chunk index on a new machine, lets a second machine dedup against the
 * first, and serves prune and the owner's fallback after a repack. Restores
 * find chunks through the trees' locations instead, so a person a snapshot
 * is shared with never needs it.
 */
import { CodedError } from '../util/coded-error.ts';
import { openPayload, sealPayload, type ChunkType, SEAL_OVERHEAD } from './chunk-crypto.ts';

export const PACK_MAGIC = Buffer.from('KSP2', 'latin1');
export const TOC_MAGIC = Buffer.from('KTOC', 'latin1');
export const TRAILER_BYTES = 8;
export const TOC_ENTRY_BYTES = 45;
const TOC_AAD = Buffer.from('KSP2-TOC', 'latin1');
/** Packs stay below 4 GiB (u32 offsets); the writer closes them far earlier. */
export const MAX_PACK_BYTES = 0xffff_ffff;

export interface PackEntry {
  type: ChunkType;
  id: Buffer;
  offset: number;
  length: number;
  rawLength: number;
}

export function encodeToc(entries: readonly PackEntry[]): Buffer {
  const out = Buffer.allocUnsafe(8 + entries.length * TOC_ENTRY_BYTES);
  TOC_MAGIC.copy(out, 0);
  out.writeUInt32LE(entries.length, 4);
  let p = 8;
  for (const e of entries) {
    out[p] = e.type;
    e.id.copy(out, p + 1);
    out.writeUInt32LE(e.offset, p + 33);
    out.writeUInt32LE(e.length, p + 37);
    out.writeUInt32LE(e.rawLength, p + 41);
    p += TOC_ENTRY_BYTES;
  }
  return out;
}

const packError = (where: string, why: string) => new CodedError('pack_format', `${where}: ${why}`);

export function decodeToc(toc: Buffer, where: string, dataBytes: number): PackEntry[] {
  if (toc.length < 8 || !toc.subarray(0, 4).equals(TOC_MAGIC)) throw packError(where, 'table of contents has no KTOC header');
  const count = toc.readUInt32LE(4);
  if (toc.length !== 8 + count * TOC_ENTRY_BYTES) throw packError(where, `table of contents is ${toc.length} bytes for ${count} entries`);
  const out: PackEntry[] = [];
  let p = 8;
  for (let i = 0; i < count; i++, p += TOC_ENTRY_BYTES) {
    const type = toc[p]!;
    if (type !== 0 && type !== 1) throw packError(where, `entry ${i} has unknown type ${type}`);
    const e: PackEntry = { type: type as ChunkType, id: Buffer.from(toc.subarray(p + 1, p + 33)), offset: toc.readUInt32LE(p + 33), length: toc.readUInt32LE(p + 37), rawLength: toc.readUInt32LE(p + 41) };
    if (e.length < SEAL_OVERHEAD + 1 || e.offset + e.length > dataBytes) throw packError(where, `entry ${i} lies outside the pack's chunks`);
    out.push(e);
  }
  return out;
}

/** `nonce`: for test vectors only (a random one otherwise). */
export function sealToc(tocKey: Uint8Array, entries: readonly PackEntry[], nonce?: Uint8Array): Buffer {
  return sealPayload(tocKey, TOC_AAD, encodeToc(entries), nonce);
}

export function trailer(sealedTocLength: number): Buffer {
  const t = Buffer.allocUnsafe(TRAILER_BYTES);
  PACK_MAGIC.copy(t, 0);
  t.writeUInt32LE(sealedTocLength, 4);
  return t;
}

/** The sealed TOC's length from a pack's last 8 bytes; undefined when they are not a pack trailer (a v1 blob). */
export function readTrailer(last8: Buffer): number | undefined {
  if (last8.length !== TRAILER_BYTES || !last8.subarray(0, 4).equals(PACK_MAGIC)) return undefined;
  return last8.readUInt32LE(4);
}

/** Opens a pack's sealed TOC (the bytes just before its trailer); `dataBytes` = where the TOC starts. */
export function openToc(tocKey: Uint8Array, sealedToc: Buffer, where: string, dataBytes: number): PackEntry[] {
  const toc = openPayload(tocKey, TOC_AAD, sealedToc);
  if (!toc) throw packError(where, 'table of contents does not authenticate (altered, or another account\'s pack)');
  return decodeToc(toc, where, dataBytes);
}
