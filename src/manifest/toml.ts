/**
 * readToml(text, file): the TOML layer — text → TOML data, or a
 * ManifestParseError at file:line:column. TOML 1.0 exactly, within the
 * manifest limits (limits.ts):
 *
 * 1. size: at most MAX_MANIFEST_BYTES of UTF-8, refused before any work;
 * 2. checkTomlSyntax (toml-syntax.ts): the TOML 1.0 grammar, nesting depth
 *    and entry count, in one linear pass that allocates nothing;
 * 3. smol-toml builds the data (and refuses what is not grammar: duplicate
 *    keys, redefined tables).
 * What a manifest then allows of that data is parse.ts's business.
 */
import { parse as parseToml, TomlError } from 'smol-toml';
import { ManifestParseError } from './errors.ts';
import { tooLarge } from './decode.ts';
import { MAX_MANIFEST_BYTES, MAX_MANIFEST_DEPTH, MAX_MANIFEST_ENTRIES, MAX_MANIFEST_TABLES } from './limits.ts';
import { checkTomlSyntax, TomlSyntaxError } from './toml-syntax.ts';
import { positionAt } from './toml-positions.ts';

const LIMITS = { maxDepth: MAX_MANIFEST_DEPTH, maxEntries: MAX_MANIFEST_ENTRIES, maxTables: MAX_MANIFEST_TABLES };

/** smol-toml's data: null-prototype tables, TomlDate for date-times, bigint beyond 2^53. */
export function readToml(text: string, file: string): Record<string, unknown> {
  // A UTF-16 code unit is at most 3 bytes of UTF-8: count them only when it could matter.
  if (text.length * 3 > MAX_MANIFEST_BYTES) {
    const bytes = Buffer.byteLength(text, 'utf8');
    if (bytes > MAX_MANIFEST_BYTES) throw tooLarge(file, bytes);
  }
  try {
    checkTomlSyntax(text, LIMITS);
  } catch (e) {
    if (!(e instanceof TomlSyntaxError)) throw e;
    throw new ManifestParseError(file, undefined, e.limit ? e.reason : `invalid TOML: ${e.reason}`, positionAt(text, e.offset));
  }
  try {
    return parseToml(text, { integersAsBigInt: 'asNeeded', unsafeKeyBehaviour: 'throw', maxDepth: MAX_MANIFEST_DEPTH });
  } catch (e) {
    if (e instanceof TomlError) {
      const reason = e.message.split('\n')[0]!.replace(/^Invalid TOML document: /, '');
      throw new ManifestParseError(file, undefined, `invalid TOML: ${reason}`, { line: e.line, column: e.column });
    }
    throw new ManifestParseError(file, undefined, `invalid TOML: ${(e as Error).message}`, undefined);
  }
}
