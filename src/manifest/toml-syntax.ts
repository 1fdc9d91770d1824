/**
 * checkTomlSyntax(text, limits): the TOML 1.0 grammar (toml.io/en/v1.0.0,
 * its ABNF) and the manifest's size limits, checked in one linear pass
 * before smol-toml builds anything.
 *
 * Why a pre-pass: smol-toml implements TOML 1.1 and is lenient where 1.0 is
 * not (a newline or a trailing comma in an inline table, `\x` and `\e`
 * escapes, times without seconds, Feb 30 turned into Mar 2, a second BOM),
 * and it builds the whole document before any limit could apply. This pass
 * allocates nothing and stops at the first problem, so smol-toml only ever
 * sees text that is TOML 1.0 and within the limits; smol-toml then does what
 * is not grammar (duplicate keys, redefined tables) and builds the data.
 *
 * Depth is counted on the text, which never counts more than the data path
 * (parse.ts checks the exact rule on the data): each part of a table header
 * or of a dotted key is one step, an array-of-tables header one more, each
 * enclosing array one more (an inline table adds nothing: its keys do).
 * Entries: every part of a key or table header (`a.b = 1` and `[a.b]` are
 * two: smol-toml walks or makes a table per part) and every array element.
 * Tables: every table header (they cost smol-toml the most, and real
 * manifests have a few hundred).
 *
 * Throws `TomlSyntaxError` with the UTF-16 offset of the offending character.
 */
import { CodedError } from '../util/coded-error.ts';

/** Code `manifest_parse`; toml.ts turns the offset into a line and column. */
export class TomlSyntaxError extends CodedError {
  override name = 'TomlSyntaxError';
  constructor(
    /** UTF-16 offset into the text. */
    readonly offset: number,
    readonly reason: string,
    /** A limit (depth, entries) rather than the grammar. */
    readonly limit = false,
  ) {
    super('manifest_parse', reason, { offset });
  }
}

export interface TomlLimits {
  maxDepth: number;
  /** Key/value pairs, table headers and array elements. */
  maxEntries: number;
  /** Table headers. */
  maxTables: number;
}

const TAB = 0x09, LF = 0x0a, CR = 0x0d, SPACE = 0x20, DQUOTE = 0x22, HASH = 0x23, SQUOTE = 0x27;
const PLUS = 0x2b, COMMA = 0x2c, MINUS = 0x2d, DOT = 0x2e, COLON = 0x3a, EQ = 0x3d;
const LBRACKET = 0x5b, BACKSLASH = 0x5c, RBRACKET = 0x5d, UNDERSCORE = 0x5f, LBRACE = 0x7b, RBRACE = 0x7d, DEL = 0x7f;

const isDigit = (c: number) => c >= 0x30 && c <= 0x39;
const isHex = (c: number) => isDigit(c) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
const isOct = (c: number) => c >= 0x30 && c <= 0x37;
const isBin = (c: number) => c === 0x30 || c === 0x31;
const isBareKeyChar = (c: number) =>
  (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || isDigit(c) || c === UNDERSCORE || c === MINUS;
/** Control characters TOML 1.0 allows nowhere but as escapes (tab and newlines are handled by the caller). */
const isControl = (c: number) => c < 0x20 || c === DEL;

function daysIn(month: number, year: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

export function checkTomlSyntax(text: string, limits: TomlLimits): void {
  new Checker(text, limits).document();
}

class Checker {
  private i = 0;
  private entries = 0;
  private tables = 0;
  private readonly n: number;

  constructor(
    private readonly s: string,
    private readonly limits: TomlLimits,
  ) {
    this.n = s.length;
  }

  private fail(reason: string, at = this.i, limit = false): never {
    throw new TomlSyntaxError(Math.min(at, this.n), reason, limit);
  }

  private c(at = this.i): number {
    return at < this.n ? this.s.charCodeAt(at) : -1;
  }

  private entry(at: number): void {
    if (++this.entries > this.limits.maxEntries) {
      this.fail(`more than ${this.limits.maxEntries} entries (key parts and array elements): a manifest is not that big`, at, true);
    }
  }

  private depth(d: number, at: number): void {
    if (d > this.limits.maxDepth) this.fail(`nested deeper than ${this.limits.maxDepth} levels`, at, true);
  }

  document(): void {
    if (this.c() === 0xfeff) this.i = 1; // one BOM, at the very start
    let base = 0;
    for (;;) {
      this.ws();
      if (this.i >= this.n) return;
      const c = this.c();
      if (c === LBRACKET) base = this.header();
      else if (c !== HASH && c !== LF && c !== CR) this.keyval(base, false);
      this.ws();
      if (this.c() === HASH) this.comment();
      if (this.i >= this.n) return;
      this.newline('expected the end of the line');
    }
  }

  /** Spaces and tabs. */
  private ws(): void {
    let c: number;
    while ((c = this.c()) === SPACE || c === TAB) this.i++;
  }

  /** LF or CRLF, else `reason`. */
  private newline(reason: string): void {
    const c = this.c();
    if (c === LF) this.i++;
    else if (c === CR && this.c(this.i + 1) === LF) this.i += 2;
    else if (c === CR) this.fail('a carriage return must be followed by a line feed');
    else this.fail(reason);
  }

  /** Whitespace, comments and newlines (between array elements). */
  private wsCommentNewline(): void {
    for (;;) {
      this.ws();
      const c = this.c();
      if (c === HASH) this.comment();
      else if (c === LF || c === CR) this.newline('');
      else return;
    }
  }

  /** A non-ASCII character at i: a surrogate must be half of a pair (a Unicode scalar value). */
  private nonAscii(c: number): void {
    if (c >= 0xd800 && c <= 0xdfff) {
      const next = this.c(this.i + 1);
      if (c > 0xdbff || !(next >= 0xdc00 && next <= 0xdfff)) this.fail('a lone surrogate is not a Unicode character');
      this.i += 2;
    } else this.i++;
  }

  private comment(): void {
    this.i++;
    for (;;) {
      const c = this.c();
      if (c === -1 || c === LF || c === CR) return;
      if (c < 0x80) {
        if (isControl(c) && c !== TAB) this.fail('control character in a comment');
        this.i++;
      } else this.nonAscii(c);
    }
  }

  /** `[a.b]` or `[[a.b]]`; returns the depth of what follows it. */
  private header(): number {
    const start = this.i;
    this.i++;
    const aot = this.c() === LBRACKET;
    if (aot) this.i++;
    if (++this.tables > this.limits.maxTables) this.fail(`more than ${this.limits.maxTables} tables: a manifest is not that big`, start, true);
    const parts = this.key(0);
    this.ws();
    if (this.c() !== RBRACKET) this.fail("expected ']' to close the table header");
    this.i++;
    if (aot) {
      if (this.c() !== RBRACKET) this.fail("expected ']]' to close the array-of-tables header");
      this.i++;
      this.depth(parts + 1, start);
      return parts + 1;
    }
    return parts;
  }

  /** A dotted key; returns its number of parts. Leading/trailing whitespace is the caller's. */
  private key(base: number): number {
    let parts = 0;
    for (;;) {
      this.ws();
      const at = this.i;
      this.depth(base + ++parts, at);
      this.entry(at);
      const c = this.c();
      if (c === DQUOTE) this.basicString();
      else if (c === SQUOTE) this.literalString();
      else {
        while (isBareKeyChar(this.c())) this.i++;
        if (this.i === at) this.fail(c === LF || c === CR ? 'expected a key, got the end of the line' : 'expected a key');
      }
      this.ws();
      if (this.c() !== DOT) return parts;
      this.i++;
    }
  }

  private keyval(base: number, inline: boolean): void {
    const parts = this.key(base);
    this.ws();
    if (this.c() !== EQ) this.fail("expected '=' after the key");
    this.i++;
    this.ws();
    this.value(base + parts, inline);
  }

  /** A value whose path is `depth` steps long. */
  private value(depth: number, inline: boolean): void {
    const c = this.c();
    switch (c) {
      case DQUOTE:
        if (this.c(this.i + 1) === DQUOTE && this.c(this.i + 2) === DQUOTE) return this.multilineBasicString();
        return this.basicString();
      case SQUOTE:
        if (this.c(this.i + 1) === SQUOTE && this.c(this.i + 2) === SQUOTE) return this.multilineLiteralString();
        return this.literalString();
      case LBRACKET:
        return this.array(depth);
      case LBRACE:
        return this.inlineTable(depth);
      case 0x74: // t
        return this.word('true');
      case 0x66: // f
        return this.word('false');
      case 0x69: // i
      case 0x6e: // n
        return this.word(c === 0x69 ? 'inf' : 'nan');
      case -1:
      case LF:
      case CR:
        return this.fail('expected a value, got the end of the line');
    }
    if (c === PLUS || c === MINUS || isDigit(c)) return this.numberOrDate();
    this.fail(inline && c === RBRACE ? "expected a value before '}'" : 'expected a value');
  }

  private word(w: string): void {
    if (!this.s.startsWith(w, this.i)) this.fail('expected a value');
    this.i += w.length;
  }

  private array(depth: number): void {
    const open = this.i;
    this.i++;
    for (;;) {
      this.wsCommentNewline();
      if (this.c() === RBRACKET) {
        this.i++;
        return;
      }
      if (this.c() === -1) this.fail("unterminated array: expected ']'", open);
      this.depth(depth + 1, this.i);
      this.entry(this.i);
      this.value(depth + 1, false);
      this.wsCommentNewline();
      const c = this.c();
      if (c === COMMA) this.i++;
      else if (c === RBRACKET) {
        this.i++;
        return;
      } else this.fail(c === -1 ? "unterminated array: expected ']'" : "expected ',' or ']' after an array element", c === -1 ? open : this.i);
    }
  }

  private inlineTable(depth: number): void {
    const open = this.i;
    this.i++;
    this.ws();
    if (this.c() === RBRACE) {
      this.i++;
      return;
    }
    for (;;) {
      this.inlineGap();
      this.keyval(depth, true);
      this.ws();
      const c = this.c();
      if (c === COMMA) {
        this.i++;
        this.ws();
        if (this.c() === RBRACE) this.fail('a trailing comma is not allowed in an inline table (TOML 1.0)');
      } else if (c === RBRACE) {
        this.i++;
        return;
      } else if (c === -1) this.fail("unterminated inline table: expected '}'", open);
      else {
        this.inlineGap();
        this.fail("expected ',' or '}' in an inline table");
      }
    }
  }

  /** Inside an inline table, between its parts: TOML 1.0 allows no newline and no comment there. */
  private inlineGap(): void {
    const c = this.c();
    if (c === LF || c === CR) this.fail('a newline is not allowed inside an inline table (TOML 1.0)');
    if (c === HASH) this.fail('a comment is not allowed inside an inline table');
  }

  // ── strings ────────────────────────────────────────────────────────────────

  /** `"..."`, one line. */
  private basicString(): void {
    const open = this.i;
    this.i++;
    for (;;) {
      const c = this.c();
      if (c === DQUOTE) {
        this.i++;
        return;
      }
      if (c === BACKSLASH) this.escape();
      else if (c === -1 || c === LF || c === CR) this.fail('unterminated string: expected \'"\' before the end of the line', open);
      else if (c < 0x80) {
        if (isControl(c) && c !== TAB) this.fail('control character in a string: write it as an escape');
        this.i++;
      } else this.nonAscii(c);
    }
  }

  /** `"""..."""`. */
  private multilineBasicString(): void {
    const open = this.i;
    this.i += 3;
    for (;;) {
      const c = this.c();
      if (c === DQUOTE) {
        if (this.closeQuotes(DQUOTE)) return;
      } else if (c === BACKSLASH) {
        const e = this.c(this.i + 1);
        if (e === SPACE || e === TAB || e === LF || e === CR) {
          // A line-ending backslash: whitespace, a newline, then any whitespace and newlines.
          this.i++;
          this.ws();
          this.newline('only whitespace may follow a line-ending backslash');
          for (;;) {
            this.ws();
            const d = this.c();
            if (d === LF || d === CR) this.newline('');
            else break;
          }
        } else this.escape();
      } else if (c === LF || c === CR) this.newline('');
      else if (c === -1) this.fail('unterminated multi-line string: expected \'"""\'', open);
      else if (c < 0x80) {
        if (isControl(c) && c !== TAB) this.fail('control character in a string: write it as an escape');
        this.i++;
      } else this.nonAscii(c);
    }
  }

  /** `'...'`, one line. */
  private literalString(): void {
    const open = this.i;
    this.i++;
    for (;;) {
      const c = this.c();
      if (c === SQUOTE) {
        this.i++;
        return;
      }
      if (c === -1 || c === LF || c === CR) this.fail("unterminated string: expected \"'\" before the end of the line", open);
      if (c < 0x80) {
        if (isControl(c) && c !== TAB) this.fail('control character in a literal string');
        this.i++;
      } else this.nonAscii(c);
    }
  }

  /** `'''...'''`. */
  private multilineLiteralString(): void {
    const open = this.i;
    this.i += 3;
    for (;;) {
      const c = this.c();
      if (c === SQUOTE) {
        if (this.closeQuotes(SQUOTE)) return;
      } else if (c === LF || c === CR) this.newline('');
      else if (c === -1) this.fail("unterminated multi-line string: expected \"'''\"", open);
      else if (c < 0x80) {
        if (isControl(c) && c !== TAB) this.fail('control character in a literal string');
        this.i++;
      } else this.nonAscii(c);
    }
  }

  /**
   * A run of quotes inside a multi-line string: fewer than 3 are content;
   * 3 to 5 close it (up to two of them are content); more is an error.
   */
  private closeQuotes(q: number): boolean {
    const start = this.i;
    while (this.c() === q) this.i++;
    const run = this.i - start;
    if (run < 3) return false;
    if (run > 5) this.fail('too many quotes at the end of a multi-line string', start + 5);
    return true;
  }

  /** A backslash escape in a basic string (TOML 1.0: no `\x`, no `\e`). */
  private escape(): void {
    const at = this.i;
    const e = this.c(at + 1);
    switch (e) {
      case 0x62: case 0x74: case 0x6e: case 0x66: case 0x72: case DQUOTE: case BACKSLASH: // b t n f r " \
        this.i += 2;
        return;
      case 0x75: // u
      case 0x55: { // U
        const len = e === 0x75 ? 4 : 8;
        let cp = 0;
        for (let k = 0; k < len; k++) {
          const h = this.c(at + 2 + k);
          if (!isHex(h)) this.fail(`\\${String.fromCharCode(e)} needs ${len} hex digits`, at);
          cp = cp * 16 + (h <= 0x39 ? h - 0x30 : (h | 0x20) - 0x57); // 0-9, a-f / A-F
        }
        if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) this.fail(`\\${String.fromCharCode(e)} escape is not a Unicode scalar value`, at);
        this.i = at + 2 + len;
        return;
      }
      case 0x78: // x
      case 0x65: // e
        this.fail(`the \\${String.fromCharCode(e)} escape is TOML 1.1, not 1.0`, at);
    }
    this.fail('invalid escape sequence', at);
  }

  // ── numbers and date-times ───────────────────────────────────────────────

  private numberOrDate(): void {
    const i = this.i;
    if (isDigit(this.c(i)) && isDigit(this.c(i + 1))) {
      if (this.c(i + 2) === COLON) return this.time(); // a local time
      if (isDigit(this.c(i + 2)) && isDigit(this.c(i + 3)) && this.c(i + 4) === MINUS) return this.dateTime();
    }
    this.number();
  }

  /** Digits of `digit` with single underscores between them; at least one digit. */
  private digits(digit: (c: number) => boolean, what: string): void {
    if (!digit(this.c())) this.fail(`expected ${what}`);
    this.i++;
    for (;;) {
      const c = this.c();
      if (digit(c)) this.i++;
      else if (c === UNDERSCORE) {
        if (!digit(this.c(this.i + 1))) this.fail('an underscore must be between two digits', this.i);
        this.i += 2;
      } else return;
    }
  }

  private number(): void {
    const start = this.i;
    let c = this.c();
    const signed = c === PLUS || c === MINUS;
    if (signed) {
      this.i++;
      c = this.c();
      if (c === 0x69) return this.word('inf');
      if (c === 0x6e) return this.word('nan');
    }
    if (!signed && c === 0x30) {
      const p = this.c(this.i + 1);
      const digit = p === 0x78 ? isHex : p === 0x6f ? isOct : p === 0x62 ? isBin : undefined; // 0x 0o 0b
      if (digit) {
        this.i += 2;
        return this.digits(digit, p === 0x78 ? 'hex digits' : p === 0x6f ? 'octal digits' : 'binary digits');
      }
    }
    // Integer part (also a float's): no leading zero.
    if (c === 0x30) {
      this.i++;
      const d = this.c();
      if (isDigit(d) || d === UNDERSCORE) this.fail('leading zeros are not allowed', start);
    } else this.digits(isDigit, 'a digit');
    if (this.c() === DOT) {
      this.i++;
      this.digits(isDigit, "a digit after '.'");
    }
    c = this.c();
    if (c === 0x65 || c === 0x45) { // e E
      this.i++;
      c = this.c();
      if (c === PLUS || c === MINUS) this.i++;
      this.digits(isDigit, 'a digit in the exponent');
    }
  }

  /** `n` digits at i as a number, or a failure naming `what`. */
  private fixed(n: number, what: string): number {
    let v = 0;
    for (let k = 0; k < n; k++) {
      const c = this.c();
      if (!isDigit(c)) this.fail(`expected ${n} digits for the ${what}`);
      v = v * 10 + (c - 0x30);
      this.i++;
    }
    return v;
  }

  private expect(ch: number, what: string): void {
    if (this.c() !== ch) this.fail(`expected '${String.fromCharCode(ch)}' ${what}`);
    this.i++;
  }

  /** Date, local date-time or offset date-time (RFC 3339, seconds required). */
  private dateTime(): void {
    const start = this.i;
    const year = this.fixed(4, 'year');
    this.expect(MINUS, 'after the year');
    const month = this.fixed(2, 'month');
    this.expect(MINUS, 'after the month');
    const day = this.fixed(2, 'day');
    if (month < 1 || month > 12) this.fail(`month ${month} does not exist`, start);
    if (day < 1 || day > daysIn(month, year)) this.fail(`day ${day} does not exist in ${year}-${String(month).padStart(2, '0')}`, start);
    const c = this.c();
    const timeFollows =
      c === 0x54 || c === 0x74 // T t
        ? true
        : c === SPACE && isDigit(this.c(this.i + 1)) && isDigit(this.c(this.i + 2)) && this.c(this.i + 3) === COLON;
    if (!timeFollows) return;
    this.i++;
    this.time();
    const z = this.c();
    if (z === 0x5a || z === 0x7a) this.i++; // Z z
    else if (z === PLUS || z === MINUS) {
      const at = this.i;
      this.i++;
      const h = this.fixed(2, 'offset hours');
      this.expect(COLON, 'between the offset hours and minutes');
      const m = this.fixed(2, 'offset minutes');
      if (h > 23 || m > 59) this.fail('offset out of range', at);
    }
  }

  /** `hh:mm:ss[.fraction]`. */
  private time(): void {
    const start = this.i;
    const h = this.fixed(2, 'hour');
    this.expect(COLON, 'after the hour');
    const m = this.fixed(2, 'minute');
    if (this.c() !== COLON) this.fail('seconds are required (TOML 1.0): write hh:mm:ss');
    this.i++;
    const s = this.fixed(2, 'second');
    if (h > 23 || m > 59 || s > 60) this.fail('time out of range', start);
    if (this.c() === DOT) {
      this.i++;
      if (!isDigit(this.c())) this.fail("expected digits after '.' in a time");
      while (isDigit(this.c())) this.i++;
    }
  }
}
