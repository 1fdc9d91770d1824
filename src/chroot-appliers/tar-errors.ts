/**
 * The typed errors of the files data path (tar reader, extractor, zstd), each
 * a CodedError (util/coded-error.ts): a caller (files.ts) tells "the archive
 * is refused" (UnsafeTarError `unsafe_tar`, TarFormatError `tar_format`,
 * ZstdError `zstd_format`) from "the bytes are not the ones signed"
 * (TarHashMismatchError `hash_mismatch`, a verification failure) by class,
 * and a test by `reason`.
 */
import { CodedError } from '../util/coded-error.ts';

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
  | 'parent-not-directory'
  /** A name component over 255 bytes, or a path or link target the kernel cannot take (4096 bytes). */
  | 'name-too-long'
  /** A file (a sparse one's real size, say) larger than the file system takes (EFBIG). */
  | 'file-too-large';

/** The archive holds an entry we refuse to extract; nothing was kept. */
export class UnsafeTarError extends CodedError {
  override name = 'UnsafeTarError';
  declare readonly code: 'unsafe_tar';
  constructor(
    /** The entry name as stored in the archive (decoded as UTF-8 for display). */
    readonly entry: string,
    readonly reason: UnsafeTarReason,
    detail?: string,
  ) {
    super('unsafe_tar', `unsafe tar entry ${JSON.stringify(entry)}: ${reason}${detail ? ` (${detail})` : ''}`, { entry, reason });
  }
}

export type TarFormatReason =
  /** The stream ends inside a header, a metadata record or an entry's data. */
  | 'truncated'
  /** A header block whose checksum does not match: not a tar header. */
  | 'checksum'
  /** A numeric header field (size, mode, mtime, ...) that is not a number, or out of range. */
  | 'bad-number'
  /** A pax extended header record that is not `LEN key=value\n`, or a value we use that is not valid. */
  | 'bad-pax'
  /** A metadata record (pax value we use, GNU long name, sparse map) over the size bound. */
  | 'too-large'
  /** A sparse file's map that is malformed, unordered, overlapping, past the file's size, or does not match the data stored. */
  | 'bad-sparse-map';

/** The tar stream is not a well-formed archive. */
export class TarFormatError extends CodedError {
  override name = 'TarFormatError';
  declare readonly code: 'tar_format';
  constructor(
    readonly reason: TarFormatReason,
    message: string,
    /** Offset of the offending header in the tar stream. */
    readonly offset?: number,
  ) {
    super('tar_format', offset === undefined ? message : `${message} (at byte ${offset})`, { reason, ...(offset !== undefined ? { offset } : {}) });
  }
}

/** The decompressed tar (or the compressed blob) did not hash as expected: a verification failure. */
export class TarHashMismatchError extends CodedError {
  override name = 'TarHashMismatchError';
  declare readonly code: 'hash_mismatch';
  constructor(
    readonly which: 'tar' | 'blob',
    readonly expected: string,
    readonly actual: string,
  ) {
    super('hash_mismatch', `sha256 of the ${which} is ${actual}, expected ${expected}`, { which, expected, actual });
  }
}

/** The compressed stream is not valid zstd (or ends inside a frame). */
export class ZstdError extends CodedError {
  override name = 'ZstdError';
  declare readonly code: 'zstd_format';
  constructor(message: string) {
    super('zstd_format', message);
  }
}
