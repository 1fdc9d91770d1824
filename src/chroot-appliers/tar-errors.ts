/**
 * The typed errors of the files data path (extractor, zstd): a caller
 * (files.ts) tells "the archive is refused" (UnsafeTarError, ZstdError, and
 * tar-reader.ts's TarFormatError) from "the bytes are not the ones signed"
 * (TarHashMismatchError) by class, and a test by `reason`.
 */

export type UnsafeTarReason =
  | 'absolute-path'
  | 'dotdot'
  | 'empty-name'
  | 'device-node'
  | 'fifo'
  | 'unsupported-type'
  | 'setuid-setgid'
  | 'through-symlink'
  | 'symlink-escapes'
  | 'hardlink-escapes'
  | 'hardlink-target-invalid'
  | 'replaces-directory'
  | 'parent-not-directory';

/** The archive holds an entry we refuse to extract; nothing was kept. */
export class UnsafeTarError extends Error {
  readonly code = 'UNSAFE_TAR';
  constructor(
    /** The entry name as stored in the archive. */
    readonly entry: string,
    readonly reason: UnsafeTarReason,
    detail?: string,
  ) {
    super(`unsafe tar entry ${JSON.stringify(entry)}: ${reason}${detail ? ` (${detail})` : ''}`);
    this.name = 'UnsafeTarError';
  }
}

/** The decompressed tar (or the compressed blob) did not hash as expected. */
export class TarHashMismatchError extends Error {
  readonly code = 'TAR_HASH_MISMATCH';
  constructor(
    readonly which: 'tar' | 'blob',
    readonly expected: string,
    readonly actual: string,
  ) {
    super(`sha256 of the ${which} is ${actual}, expected ${expected}`);
    this.name = 'TarHashMismatchError';
  }
}

/** The compressed stream is not valid zstd (or ends inside a frame). */
export class ZstdError extends Error {
  readonly code = 'ZSTD';
  constructor(message: string) {
    super(message);
    this.name = 'ZstdError';
  }
}
