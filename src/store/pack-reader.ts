/**
 * Reading a stored pack's table of contents (the owner only: tocKey): the
 * trailer's last 8 bytes, then the sealed TOC just before them — two ranged
 * reads. Undefined for a blob that is not one of this account's packs (a v1
 * blob, a tree root, another account's pack).
 */
import { CodedError } from '../util/coded-error.ts';
import { openToc, readTrailer, TRAILER_BYTES, type PackEntry } from './pack-format.ts';
import type { BlobBytes } from './tree-reader.ts';

export async function readPackToc(bytes: BlobBytes, hex: string, size: number, tocKey: Uint8Array): Promise<PackEntry[] | undefined> {
  if (size < TRAILER_BYTES + 30) return undefined;
  const tocLen = readTrailer(await bytes.read(hex, size - TRAILER_BYTES, size - 1));
  if (tocLen === undefined || tocLen + TRAILER_BYTES > size) return undefined;
  const tocStart = size - TRAILER_BYTES - tocLen;
  const sealed = await bytes.read(hex, tocStart, size - TRAILER_BYTES - 1);
  try {
    return openToc(tocKey, sealed, `pack ${hex.slice(0, 12)}`, tocStart);
  } catch (e) {
    if (e instanceof CodedError) return undefined;
    throw e;
  }
}
