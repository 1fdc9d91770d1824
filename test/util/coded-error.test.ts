/**
 * The one error convention: the catalogue's shape, which codes stop a
 * restore, the typed classes on it, and the two boundaries that spell codes
 * for others (the drive client reading the server's answers, the UiState the
 * wizard reads).
 */
import { describe, expect, it } from 'vitest';
import { CaptureError, ConfigError } from '../../src/capture/errors.ts';
import { ChrootError } from '../../src/chroot-appliers/chroot-runner.ts';
import { TarFormatError, TarHashMismatchError, UnsafeTarError, ZstdError } from '../../src/chroot-appliers/tar-errors.ts';
import { UsageError } from '../../src/cli/command.ts';
import { DriveError, errorFromBody } from '../../src/drive/errors.ts';
import { KeyError } from '../../src/keys/errors.ts';
import { ManifestParseError, VerificationError } from '../../src/manifest/index.ts';
import { catalogueCode, toMachineError } from '../../src/restore-machine/machine-error.ts';
import { DetailsError } from '../../src/ui/details.ts';
import { ApiCallError } from '../../src/app/api-error.ts';
import { ApiError, BadRequestError, ConflictError, NotFoundError, QuotaExceededError, RangeNotSatisfiableError, SIGNATURE_CODES, UnauthorizedError, UnprocessableError } from '../../src/server/errors.ts';
import { CodedError, ERROR_CODES, codeInfo, hasCode, isErrorCode, isVerificationError, type ErrorCode } from '../../src/util/coded-error.ts';

describe('the catalogue', () => {
  it('spells every code lower_snake, with an exit status of the README (1, 2, 3)', () => {
    for (const [code, info] of Object.entries(ERROR_CODES)) {
      expect(code).toMatch(/^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$/);
      expect([1, 2, 3]).toContain(info.exit);
    }
  });

  it('marks exactly the failures of authenticity as verification failures (the only ones that stop a restore)', () => {
    const verification = Object.entries(ERROR_CODES).filter(([, i]) => 'verification' in i && i.verification).map(([c]) => c).sort();
    // blob_altered: a local copy (fetched ahead, an export's file) not hashing to its address; export_*: an altered drive.
    expect(verification).toEqual(['blob_altered', 'chunk_auth_failed', 'export_format', 'export_keys_unsigned', 'hash_mismatch', 'manifest_verify', 'pack_format', 'tree_format']);
  });

  it('gives the typed classes their codes, their fields and the catalogue\'s decisions', () => {
    const cases: Array<[CodedError, ErrorCode, number, boolean]> = [
      [new ManifestParseError('m.kvg', 'snapshot.hostname', 'expected a string', { line: 3, column: 12 }), 'manifest_parse', 2, false],
      [new VerificationError('bad-signature', 'signature does not verify', 'abc'), 'manifest_verify', 1, true],
      [new KeyError('wrong_secret', 'wrong passphrase'), 'wrong_secret', 1, false],
      [new DriveError(0, 'hash_mismatch', 'received bytes hash to …'), 'hash_mismatch', 1, true],
      [new TarHashMismatchError('blob', 'a', 'b'), 'hash_mismatch', 1, true],
      [new UnsafeTarError('../x', 'dotdot'), 'unsafe_tar', 1, false],
      [new TarFormatError('checksum', 'bad header', 512), 'tar_format', 1, false],
      [new ZstdError('not zstd'), 'zstd_format', 1, false],
      [new ChrootError(['apt-get', 'update'], 'command', 100, 'E: failed'), 'chroot_failed', 1, false],
      [new ConfigError('config.toml', 'files.zstd', 'unknown key'), 'config_invalid', 2, false],
      [new CaptureError('capture_locked', 'another capture is running'), 'capture_locked', 1, false],
      [new UsageError('--out DIR is required'), 'usage', 2, false],
    ];
    for (const [e, code, exit, verification] of cases) {
      expect(e, e.name).toBeInstanceOf(CodedError);
      expect(hasCode(e, code), `${e.name} ${e.code}`).toBe(true);
      expect(e.info.exit, e.name).toBe(exit);
      expect(isVerificationError(e), e.name).toBe(verification);
    }
    const parse = cases[0]![0] as ManifestParseError;
    expect([parse.file, parse.field, parse.position]).toEqual(['m.kvg', 'snapshot.hostname', { line: 3, column: 12 }]);
    expect(parse.message).toBe('m.kvg:3:12 snapshot.hostname: expected a string');
    const chroot = cases[8]![0] as ChrootError;
    expect([chroot.command, chroot.exitCode, chroot.stderrTail]).toEqual([['apt-get', 'update'], 100, 'E: failed']);
    // A look-alike with the same `code` property is not one of ours.
    expect(isVerificationError(Object.assign(new Error('x'), { code: 'hash_mismatch' }))).toBe(false);
  });
});

describe('the server\'s errors are CodedErrors answered with the catalogue\'s status', () => {
  it('gives each class of the ApiError family its code, the status of its class, and the details on the wire', () => {
    const cases: Array<[ApiError, ErrorCode, number]> = [
      [new NotFoundError('snapshot'), 'not_found', 404],
      [new BadRequestError('invalid_rewrite', 'nothing to remove'), 'invalid_rewrite', 400],
      [new UnprocessableError('missing_blobs', 'x', { missing: [] }), 'missing_blobs', 422],
      [new ConflictError('pack_shared', 'x'), 'pack_shared', 409],
      [new QuotaExceededError(6000, 10_000, 6000), 'quota_exceeded', 413],
      [new UnauthorizedError(), 'unauthorized', 401],
      [new RangeNotSatisfiableError(10), 'range_not_satisfiable', 416],
      [new ApiError('method_not_allowed', 'x'), 'method_not_allowed', 405],
      [new ApiError('bad_host', 'x'), 'bad_host', 421],
    ];
    for (const [e, code, status] of cases) {
      expect(e, e.name).toBeInstanceOf(CodedError);
      expect([e.code, e.status, e.info.http], e.name).toEqual([code, status, status]);
    }
    expect(cases[0]![0].details).toEqual({ what: 'snapshot' });
    expect(cases[4]![0].details).toEqual({ used: 6000, limit: 10_000, adding: 6000 });
    // every refusal of a manifest's signature has its code, a 422
    for (const code of Object.values(SIGNATURE_CODES)) expect(codeInfo(code).http).toBe(422);
  });
});

describe('the drive client reads the server\'s codes into the catalogue', () => {
  it('keeps a known code, and an unknown one as http_error with the server\'s spelling', () => {
    const known = errorFromBody(404, 'Not Found', JSON.stringify({ error: { code: 'not_found', message: 'snapshot not found', what: 'snapshot' } }));
    expect(known).toMatchObject({ status: 404, code: 'not_found', serverCode: 'not_found', message: 'snapshot not found', details: { what: 'snapshot' } });
    const unknown = errorFromBody(418, "I'm a teapot", JSON.stringify({ error: { code: 'teapot', message: 'short and stout' } }));
    expect(unknown).toMatchObject({ status: 418, code: 'http_error', serverCode: 'teapot' });
    expect(errorFromBody(502, 'Bad Gateway', '<html>')).toMatchObject({ status: 502, code: 'http_error', message: '502 Bad Gateway' });
    expect(isErrorCode('teapot')).toBe(false);
  });
});

describe('the UiState keeps its spelling (the wizard, the installer job and the CLI read it)', () => {
  it('spells three codes as before the catalogue, the others as the catalogue, and reads them back', () => {
    const cases: Array<[unknown, string, ErrorCode | undefined]> = [
      [new VerificationError('bad-signature', 'x'), 'MANIFEST_VERIFY', 'manifest_verify'],
      [new ManifestParseError('f', undefined, 'x', undefined), 'MANIFEST_PARSE', 'manifest_parse'],
      [new KeyError('wrong_secret', 'x'), 'WRONG_SECRET', 'wrong_secret'],
      [new DriveError(404, 'not_found', 'x'), 'not_found', 'not_found'],
      [new CodedError('chunk_auth_failed', 'x'), 'chunk_auth_failed', 'chunk_auth_failed'],
      [Object.assign(new Error('x'), { code: 'ENOENT' }), 'ENOENT', undefined],
      [new Error('x'), 'ERROR', undefined],
    ];
    for (const [e, ui, code] of cases) {
      const m = toMachineError(e);
      expect(m).toEqual({ code: ui, message: (e as Error).message });
      expect(catalogueCode(m)).toBe(code);
    }
  });
});

describe('the pages read the daemon\'s details answers into the catalogue (src/ui/details.ts)', () => {
  it('a refused chain is manifest_verify from the wire\'s MANIFEST_VERIFY (kept as wireCode); a known code stays; another is http_error', () => {
    // The body the daemon answers a chain that does not verify with (daemon/http.ts): the UiState's spelling.
    const wire = toMachineError(new VerificationError('bad-signature', 'the signature does not verify'));
    const refused = new DetailsError(422, wire.code, wire.message);
    expect(refused).toBeInstanceOf(CodedError);
    expect(refused).toMatchObject({ name: 'DetailsError', code: 'manifest_verify', wireCode: 'MANIFEST_VERIFY', status: 422, message: 'the signature does not verify' });
    expect(isVerificationError(refused)).toBe(true);
    expect(new DetailsError(404, 'not_found', 'snapshot not found')).toMatchObject({ code: 'not_found', wireCode: 'not_found' });
    expect(new DetailsError(500, 'ERROR', 'boom')).toMatchObject({ code: 'http_error', wireCode: 'ERROR', status: 500 });
    expect(new DetailsError(502, undefined, 'details: HTTP 502')).toMatchObject({ code: 'http_error', wireCode: undefined });
  });
});

describe('the Backup app\'s client reads the daemon\'s answers into the catalogue (src/app/api.ts)', () => {
  it('keeps a catalogue code, reads the UiState\'s spelling, http_error for another, network when no answer came', () => {
    expect(new ApiCallError(422, 'wrong_secret', 'no')).toMatchObject({ name: 'ApiCallError', code: 'wrong_secret', wireCode: 'wrong_secret', status: 422 });
    expect(new ApiCallError(409, 'app_vault_changed', 'again')).toMatchObject({ code: 'app_vault_changed' });
    expect(new ApiCallError(422, 'MANIFEST_VERIFY', 'refused')).toMatchObject({ code: 'manifest_verify', wireCode: 'MANIFEST_VERIFY' });
    expect(new ApiCallError(403, 'forbidden_origin', 'x')).toMatchObject({ code: 'http_error', wireCode: 'forbidden_origin', status: 403 });
    expect(new ApiCallError(0, undefined, 'fetch failed', 'network')).toMatchObject({ code: 'network', status: 0 });
    expect(new ApiCallError(500, undefined, 'x')).toBeInstanceOf(CodedError);
  });
});
