/**
 * The one error convention (as fastify's lib/errors.js and panva's jose):
 * every error the product raises on purpose is a `CodedError` — or a class
 * extending it — with a stable `code` from the one catalogue below, written
 * in one spelling (lower_snake, as the server's wire codes). What a code
 * means for a caller is decided here, once: the CLI's exit status, the HTTP
 * status a server route answers with, and whether it is a verification
 * failure (the only kind that stops a restore).
 *
 * Callers check `e instanceof SomeError` or `hasCode(e, 'code')`, never a
 * message or a hand-typed string. Adding a code: one line in ERROR_CODES.
 */

/** Exit statuses of the CLI (README): 1 refused / verification failed, 2 usage or parse error, 3 partly done. */
export type ExitStatus = 1 | 2 | 3;

export interface CodeInfo {
  /** CLI exit status when this error ends a command. */
  exit: ExitStatus;
  /** HTTP status when a server route answers with it. */
  http?: number;
  /** A verification failure: the data is not authentic. Stops a restore. */
  verification?: true;
}

export const ERROR_CODES = {
  // ── data v2 (src/store) ───────────────────────────────────────────────
  /** A chunk's AEAD tag did not verify (altered bytes, wrong key, swapped chunk). */
  chunk_auth_failed: { exit: 1, verification: true },
  /** A pack's trailer or table of contents is malformed or does not authenticate. */
  pack_format: { exit: 1, verification: true },
  /** A tree object is malformed or does not authenticate. */
  tree_format: { exit: 1, verification: true },
  /** A chunk a tree references is not where its location says (pack gone, range short). */
  chunk_missing: { exit: 1 },
  /** Data v2 needs the account's keys (the vault opened) and they were not given. */
  data_keys_locked: { exit: 1 },
  /** A path asked for (restore --path, ls PATH) is not in the snapshot. */
  path_not_in_snapshot: { exit: 2 },
  /** A share's sealed keys do not open with my key, or are not for this snapshot. */
  share_keys_unreadable: { exit: 1 },
  /** The person (or the installer) cancelled a running restore. */
  restore_aborted: { exit: 1 },
  /** A restored file could not be written into the staging folder (disk full, permissions, …). */
  restore_write_failed: { exit: 3 },

  // ── local blobs: fetched ahead, or a drive's export ────────────────────
  /** A local blob (a copy fetched ahead, an export's file) does not hash to its address. */
  blob_altered: { exit: 1, verification: true },
  /** A blob the restore needs is not in the local folder that should hold it. */
  blob_missing: { exit: 1 },

  // ── exports: local repositories on a drive (src/export) ────────────────
  /** The folder holds no export (no koder-export.json). */
  export_not_found: { exit: 2 },
  /** An export's index or key list is malformed: altered, or not an export. */
  export_format: { exit: 1, verification: true },
  /** An export's key list is not signed by the identity its vault opens: altered. */
  export_keys_unsigned: { exit: 1, verification: true },
  /** A restore from an export needs the passphrase or recovery key (it is what makes the drive trustworthy). */
  export_needs_secret: { exit: 2 },
  /** The folder holds another account's export. */
  export_other_account: { exit: 2 },
  /** A .deb of the export, or the archive index it is checked against, is not what the signed archive says. */
  deb_unverified: { exit: 1 },

  // ── restore targets (src/chroot-appliers) ─────────────────────────────
  /** The restore target is not a usable root: missing, not a directory, or the running system's own /. */
  target_root: { exit: 2 },
  /** The user who receives ~ paths cannot be found in the target's /etc/passwd. */
  target_user: { exit: 2 },
} as const satisfies Record<string, CodeInfo>;

export type ErrorCode = keyof typeof ERROR_CODES;

export class CodedError extends Error {
  override name = 'CodedError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  get info(): CodeInfo {
    return ERROR_CODES[this.code] as CodeInfo;
  }
}

export function hasCode<C extends ErrorCode>(e: unknown, code: C): e is CodedError & { code: C } {
  return e instanceof CodedError && e.code === code;
}

/** A verification failure (the catalogue says so): the only errors that stop a restore. */
export function isVerificationError(e: unknown): e is CodedError {
  return e instanceof CodedError && (ERROR_CODES[e.code] as CodeInfo).verification === true;
}
