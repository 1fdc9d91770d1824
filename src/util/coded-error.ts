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

  // ── restore targets (src/chroot-appliers) ─────────────────────────────
  /** The restore target is not a usable root: missing, not a directory, or the running system's own /. */
  target_root: { exit: 2 },
  /** The user who receives ~ paths cannot be found in the target's /etc/passwd. */
  target_user: { exit: 2 },

  // ── the Backup app (src/daemon/app) ───────────────────────────────────
  /** The app needs a signed-in Koder ID for this. */
  app_not_signed_in: { exit: 1, http: 401 },
  /** This computer's keys are not set up yet (the app's setup: fetch or create the vault's identity). */
  app_keys_not_ready: { exit: 1, http: 409 },
  /** The person cancelled the app's running backup or restore. */
  app_job_cancelled: { exit: 1 },
  /** A backup (or a restore) is already running: one at a time. */
  app_job_running: { exit: 1, http: 409 },
  /** The app restores only folders of the home (`~/…`) into the home. */
  app_restore_outside_home: { exit: 2, http: 400 },
  /** In place, a folder on the way is a symbolic link: the app does not follow it (restore into a new folder instead). */
  app_restore_through_link: { exit: 1, http: 422 },
  /** Only the owner shares a snapshot (this one was shared with me). */
  app_share_not_owner: { exit: 2, http: 400 },
  /** The person to share with has no public key yet: the share could not hand them the folders' keys. */
  app_recipient_without_key: { exit: 1, http: 422 },
  /** A request to the app's API is malformed (the message names the field). */
  app_bad_request: { exit: 2, http: 400 },
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
