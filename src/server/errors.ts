/**
 * Typed errors of the server's stores and services (and the restore
 * daemon's small HTTP API): CodedErrors (util/coded-error.ts) whose code has
 * an HTTP status in the one catalogue. A route answers each with that status
 * and `{ error: { code, message, …details } }`; `code` is stable (the drive
 * client and the wizard read it).
 *
 * Each class takes only the codes the catalogue answers with its status
 * (`HttpCode<N>`): a BadRequestError with a 422 code does not compile.
 */
import { CodedError, ERROR_CODES, codeInfo, type ErrorCode } from '../util/coded-error.ts';
import type { VerificationReason } from '../manifest/index.ts';

/** The codes the catalogue answers with HTTP status `N` (any status: `HttpCode<number>`). */
export type HttpCode<N extends number> = { [K in ErrorCode]: (typeof ERROR_CODES)[K] extends { http: N } ? K : never }[ErrorCode];

export class ApiError extends CodedError {
  override name = 'ApiError';
  /** The HTTP status of the answer: the catalogue's for this code. */
  readonly status: number;
  constructor(code: HttpCode<number>, message: string, details: Record<string, unknown> = {}) {
    super(code, message, details);
    this.status = codeInfo(code).http!;
  }
}

/** Absent, or belongs to another tenant (never 403: existence is not revealed). */
export class NotFoundError extends ApiError {
  override name = 'NotFoundError';
  constructor(what: string, message = `${what} not found`) {
    super('not_found', message, { what });
  }
}

export class BadRequestError extends ApiError {
  override name = 'BadRequestError';
  constructor(code: HttpCode<400>, message: string, details?: Record<string, unknown>) {
    super(code, message, details);
  }
}

/** Well-formed, but refused (signature, parent, missing blobs, hash mismatch). */
export class UnprocessableError extends ApiError {
  override name = 'UnprocessableError';
  constructor(code: HttpCode<422>, message: string, details?: Record<string, unknown>) {
    super(code, message, details);
  }
}

export class ConflictError extends ApiError {
  override name = 'ConflictError';
  constructor(code: HttpCode<409>, message: string, details?: Record<string, unknown>) {
    super(code, message, details);
  }
}

export class QuotaExceededError extends ApiError {
  override name = 'QuotaExceededError';
  constructor(used: number, limit: number, adding: number) {
    super('quota_exceeded', `quota exceeded: ${used} + ${adding} bytes > ${limit}`, { used, limit, adding });
  }
}

export class UnauthorizedError extends ApiError {
  override name = 'UnauthorizedError';
  constructor(message = 'authentication required', readonly bearerError?: string) {
    super('unauthorized', message);
  }
}

export class RangeNotSatisfiableError extends ApiError {
  override name = 'RangeNotSatisfiableError';
  constructor(readonly size: number) {
    super('range_not_satisfiable', `range not satisfiable (size ${size})`);
  }
}

/** The wire code of a manifest upload whose signature the server refused (`signature_` + the reason). */
export const SIGNATURE_CODES: Record<VerificationReason, HttpCode<422>> = {
  unsigned: 'signature_unsigned',
  'bad-signature': 'signature_bad_signature',
  'unknown-key': 'signature_unknown_key',
  'id-mismatch': 'signature_id_mismatch',
  'parent-mismatch': 'signature_parent_mismatch',
  'missing-parent': 'signature_missing_parent',
  cycle: 'signature_cycle',
  'too-deep': 'signature_too_deep',
  'not-a-delta-root': 'signature_not_a_delta_root',
};
