/**
 * Typed errors of the server's stores and services. A route maps each one to
 * its HTTP status with `{ error: { code, message } }`; `code` is stable.
 */
export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }
}

/** Absent, or belongs to another tenant (never 403: existence is not revealed). */
export class NotFoundError extends ApiError {
  override name = 'NotFoundError';
  constructor(what: string, message = `${what} not found`) {
    super(404, 'not_found', message, { what });
  }
}

export class BadRequestError extends ApiError {
  override name = 'BadRequestError';
  constructor(code: string, message: string, details?: Record<string, unknown>) {
    super(400, code, message, details);
  }
}

/** Well-formed, but refused (signature, parent, missing blobs, hash mismatch). */
export class UnprocessableError extends ApiError {
  override name = 'UnprocessableError';
  constructor(code: string, message: string, details?: Record<string, unknown>) {
    super(422, code, message, details);
  }
}

export class ConflictError extends ApiError {
  override name = 'ConflictError';
  constructor(code: string, message: string, details?: Record<string, unknown>) {
    super(409, code, message, details);
  }
}

export class QuotaExceededError extends ApiError {
  override name = 'QuotaExceededError';
  constructor(used: number, limit: number, adding: number) {
    super(413, 'quota_exceeded', `quota exceeded: ${used} + ${adding} bytes > ${limit}`, { used, limit, adding });
  }
}

export class UnauthorizedError extends ApiError {
  override name = 'UnauthorizedError';
  constructor(message = 'authentication required', readonly bearerError?: string) {
    super(401, 'unauthorized', message);
  }
}

export class RangeNotSatisfiableError extends ApiError {
  override name = 'RangeNotSatisfiableError';
  constructor(readonly size: number) {
    super(416, 'range_not_satisfiable', `range not satisfiable (size ${size})`);
  }
}
