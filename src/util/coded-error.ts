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
  // ── manifests (src/manifest) ──────────────────────────────────────────
  /** Not valid TOML, or not a valid manifest (ManifestParseError names file, line, column, field). */
  manifest_parse: { exit: 2, http: 400 },
  /** A manifest or its chain failed verification (VerificationError's reason: bad-signature, unknown-key, id-mismatch, …). */
  manifest_verify: { exit: 1, http: 422, verification: true },

  // ── keys (src/keys) ───────────────────────────────────────────────────
  /** No slot of the vault opens with the given passphrase / recovery key. */
  wrong_secret: { exit: 1 },
  /** A sealed value is damaged, or was sealed to another key. */
  seal_open_failed: { exit: 1 },
  /** The vault JSON is malformed (KeyError's field names where). */
  vault_format: { exit: 1 },
  /** A slot opened, but the key box did not: the vault was altered. */
  vault_damaged: { exit: 1 },
  /** No vault slot with that id. */
  slot_not_found: { exit: 1 },
  /** Removing the last slot would lock the keys away for good. */
  last_slot: { exit: 1 },
  /** Identity files missing, unreadable, malformed or inconsistent (KeyError's field names the file). */
  identity_files: { exit: 1 },
  /** An identity is already there and `force` was not given. */
  identity_exists: { exit: 1 },
  /** The recovery key text has a bad character or length. */
  recovery_key_format: { exit: 1 },
  /** The recovery key text parses but its checksum does not match (a typo). */
  recovery_key_checksum: { exit: 1 },
  /** A caller passed an unusable argument (empty passphrase, key of wrong length, …). */
  bad_argument: { exit: 1, http: 400 },

  // ── login (src/auth) ──────────────────────────────────────────────────
  /** Plain http to a host that is not this machine, or not a URL at all. */
  insecure_url: { exit: 1 },
  /** The server's OpenID configuration could not be read. */
  oidc_discovery: { exit: 1 },
  /** No server or no tokens for it: log in first. */
  not_logged_in: { exit: 1 },
  /** The refresh token was refused, or there is none (log in again). */
  refresh_failed: { exit: 1 },
  /** The device authorization request failed. */
  device_start: { exit: 1 },

  // ── the drive client's own (src/drive; DriveError's status is 0 unless an answer came) ──
  /** No answer: connection refused or reset, DNS, an idle timeout. */
  network: { exit: 1 },
  /** The caller aborted the transfer. */
  aborted: { exit: 1 },
  /** Bytes do not hash to their address: a blob received (drive client, the files extractor, a test's blob dir) or, from the server, one uploaded. */
  hash_mismatch: { exit: 1, http: 422, verification: true },
  /** An id or name that cannot be a URL path segment ('', '.', '..'). */
  invalid_path_segment: { exit: 1 },
  /** Asked for a range, the answer was not that range. */
  range_unsupported: { exit: 1 },
  /** A ranged read came back shorter than asked. */
  short_read: { exit: 1 },
  /** A blob a manifest names is neither in the given folders nor on the server. */
  blob_not_found: { exit: 1 },
  /** Not a snapshot id or prefix (hex, at least 4 digits). */
  invalid_snapshot_id: { exit: 1 },
  /** More than one snapshot starts with the given prefix. */
  ambiguous_id: { exit: 1 },
  /** An error answer whose code is not in this catalogue, or with no JSON error body (DriveError keeps `status` and `serverCode`). */
  http_error: { exit: 1 },

  // ── answers of the Koder ID + Drive server (src/server's wire codes, as the drive client receives them) ──
  not_found: { exit: 1, http: 404 },
  unauthorized: { exit: 1, http: 401 },
  method_not_allowed: { exit: 1, http: 405 },
  user_exists: { exit: 1, http: 409 },
  has_children: { exit: 1, http: 409 },
  /** A pack rewrite (prune) that would remove a pack a shared snapshot references. */
  pack_shared: { exit: 1, http: 409 },
  /** A request body that came too slowly (src/server/http/timeouts.ts); worth trying again. */
  request_timeout: { exit: 1, http: 408 },
  precondition_failed: { exit: 1, http: 412 },
  body_too_large: { exit: 1, http: 413 },
  vault_too_large: { exit: 1, http: 413 },
  quota_exceeded: { exit: 1, http: 413 },
  range_not_satisfiable: { exit: 1, http: 416 },
  invalid_blob_address: { exit: 1, http: 400 },
  invalid_json: { exit: 1, http: 400 },
  invalid_keys: { exit: 1, http: 400 },
  invalid_length: { exit: 1, http: 400 },
  invalid_limit: { exit: 1, http: 400 },
  invalid_path: { exit: 1, http: 400 },
  invalid_rewrite: { exit: 1, http: 400 },
  invalid_share: { exit: 1, http: 400 },
  /** A text parameter with U+0000 (PostgreSQL's TEXT cannot hold it; refused the same way on SQLite). */
  invalid_text: { exit: 1, http: 400 },
  invalid_user_name: { exit: 1, http: 400 },
  length_mismatch: { exit: 1, http: 400 },
  manifest_missing: { exit: 1, http: 400 },
  manifest_too_large: { exit: 1, http: 400 },
  multipart_invalid: { exit: 1, http: 400 },
  share_with_self: { exit: 1, http: 400 },
  weak_password: { exit: 1, http: 400 },
  missing_blobs: { exit: 1, http: 422 },
  parent_not_found: { exit: 1, http: 422 },
  /** An upload whose signature the server refused: `signature_` + VerificationError's reason. */
  signature_unsigned: { exit: 1, http: 422 },
  signature_bad_signature: { exit: 1, http: 422 },
  signature_unknown_key: { exit: 1, http: 422 },
  signature_id_mismatch: { exit: 1, http: 422 },
  signature_parent_mismatch: { exit: 1, http: 422 },
  signature_missing_parent: { exit: 1, http: 422 },
  signature_cycle: { exit: 1, http: 422 },
  signature_too_deep: { exit: 1, http: 422 },
  signature_not_a_delta_root: { exit: 1, http: 422 },
  /** The server failed (500). */
  internal: { exit: 1, http: 500 },

  // ── answers of the restore daemon's local API (src/daemon/http.ts; the wizard reads them) ──
  /** A Host header that is not the daemon's own (DNS rebinding). */
  bad_host: { exit: 1, http: 421 },
  /** A state-changing request from another origin. */
  bad_origin: { exit: 1, http: 403 },
  invalid_event: { exit: 1, http: 400 },
  invalid_defaults: { exit: 1, http: 400 },
  invalid_apply: { exit: 1, http: 400 },

  // ── capture (src/capture) ─────────────────────────────────────────────
  /** config.toml is not valid TOML or has a wrong key/value (ConfigError names file and key). */
  config_invalid: { exit: 2 },
  /** No identity to sign with (run `koder-snapshot init`). */
  no_identity: { exit: 1 },
  /** Another capture holds the cache lock. */
  capture_locked: { exit: 1 },
  /** A blob could not be built (I/O error on the cache dir, zstd failure). */
  capture_blob_failed: { exit: 1 },
  /** A tool we rely on failed in an unexpected way (git bundle, …). */
  tool_failed: { exit: 1 },
  /** The snapshot or a blob could not be uploaded (refused, or interrupted). */
  upload_failed: { exit: 1 },
  /** `init`: this machine's identity and the account's vault disagree. */
  init_conflict: { exit: 1 },

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
  /** A data v2 snapshot whose packs a prune repacked: a share could not reach its data (share it again after a new capture). */
  share_pruned: { exit: 1 },
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
  /** A command in the target's chroot failed, timed out or could not start (ChrootError: command, phase, stderr tail). */
  chroot_failed: { exit: 1 },
  /** A path (or a symlink on its way) would leave the target root (PathEscapeError). */
  path_escape: { exit: 1 },
  /** An archive holds an entry we refuse to extract (UnsafeTarError: entry, reason). */
  unsafe_tar: { exit: 1 },
  /** The tar stream is not a well-formed archive (TarFormatError: reason, offset). */
  tar_format: { exit: 1 },
  /** The compressed stream is not valid zstd, or ends inside a frame. */
  zstd_format: { exit: 1 },
  /** A git bundle's header or packfile is not one we can read. */
  bundle_format: { exit: 1 },
  /** One repository could not be restored (the restore goes on). */
  repo_failed: { exit: 1 },
  /** One secret could not be restored: a bad mode, not base64, or it does not open with my key (the restore goes on). */
  secret_unusable: { exit: 1 },

  // ── the CLI (src/cli) ─────────────────────────────────────────────────
  /** Wrong arguments: printed with the command's usage. */
  usage: { exit: 2 },

  // ── the server's storage (src/server/db, src/server/objects, serve migrate / check) ──
  /** A --db or --blobs URL that names no backend we have, or carries credentials on the command line. */
  backend_url: { exit: 2 },
  /** A blob row names an object the object store does not have. */
  object_missing: { exit: 1, http: 500 },
  /** `serve migrate`: what was copied differs from the source (counts, rows or blob hashes). */
  migrate_mismatch: { exit: 1 },

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
  /** The key vault changed meanwhile (its If-Match failed: another computer changed it): try again. */
  app_vault_changed: { exit: 1, http: 409 },
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
    return codeInfo(this.code);
  }
}

/** What the catalogue says of a code. */
export function codeInfo(code: ErrorCode): CodeInfo {
  return ERROR_CODES[code];
}

/** A string that is a code of the catalogue (an answer's wire code, say). */
export function isErrorCode(s: unknown): s is ErrorCode {
  return typeof s === 'string' && Object.hasOwn(ERROR_CODES, s);
}

export function hasCode<C extends ErrorCode>(e: unknown, code: C): e is CodedError & { code: C } {
  return e instanceof CodedError && e.code === code;
}

/** A verification failure (the catalogue says so): the only errors that stop a restore. */
export function isVerificationError(e: unknown): e is CodedError {
  return e instanceof CodedError && codeInfo(e.code).verification === true;
}
