import { catalogueCode } from '../restore-machine/machine-error.ts';
import { CodedError, type ErrorCode } from '../util/coded-error.ts';

/**
 * An answer of the daemon that is an error, as a CodedError of the catalogue
 * (util/coded-error.ts; switch on `code`): the daemon's code when the
 * catalogue has it (in its spelling or the UiState's: MANIFEST_VERIFY is
 * `manifest_verify`, restore-machine/machine-error.ts), else `http_error`;
 * no answer at all is `network`. `wireCode` is the code as the daemon wrote
 * it, `status` the HTTP status (0: no answer); the message is data. Its
 * own module (no browser globals), so Node's tests import it.
 */
export class ApiCallError extends CodedError {
  override name = 'ApiCallError';
  constructor(
    readonly status: number,
    readonly wireCode: string | undefined,
    message: string,
    otherwise: ErrorCode = 'http_error',
  ) {
    super(catalogueCode(wireCode === undefined ? undefined : { code: wireCode, message }) ?? otherwise, message, { status, ...(wireCode !== undefined ? { wireCode } : {}) });
  }
}
