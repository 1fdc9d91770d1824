/**
 * Source positions for TOML documents.
 *
 * smol-toml returns plain data without positions, so validation errors could
 * not say where a bad field is. `locate()` re-scans the (already accepted)
 * TOML text once, linearly, and records where every key and every value
 * starts, indexed by the same path you would use to reach it in the parsed
 * data (`['apps', 'snap', 2, 'channel']`).
 *
 * Positions are 1-based `line:column` and match smol-toml's `TomlError`
 * exactly by default:
 *  - lines are separated by `\n` (so `\r\n` counts once; `\r` is never a
 *    line break on its own);
 *  - a column counts UTF-16 code units from the start of the line, which is
 *    one per character for everything in the Basic Multilingual Plane
 *    (`é`, `ß`, `中`, a tab, ...). Characters outside it (emoji) count 2,
 *    exactly as in `TomlError`. Pass `{ columns: 'codepoint' }` to count them
 *    as 1 instead (then positions no longer agree with `TomlError`);
 *  - a leading BOM is part of line 1 (it occupies column 1), again because
 *    that is what `TomlError` reports for the same text.
 *
 * What "the position of" means, per kind of path:
 *  - a key/value pair `k = v`: `key` is the `k`, `value` is the first
 *    character of `v` (`"`, `'`, `[`, `{`, or the first char of a scalar);
 *  - an array element: `value` is the element's first character; no `key`;
 *  - a table defined by a header `[a.b]`: `value` is the header's `[`,
 *    `key` is the `b` inside the header;
 *  - an array of tables `[[a.b]]`: the array (`['a','b']`) has `value` = the
 *    `[` and `key` = the `b` of its first header; element `i` has `value` =
 *    the `[` of the (i+1)-th header for that array, and no `key`;
 *  - a table created by a dotted key (`a.b = 1` creates table `a`): `key`
 *    and `value` are both the `a` of the first dotted key that mentions it;
 *  - an implicit super-table (`a` in `[a.b]` when `[a]` never appears): no
 *    `key`; `value` is the `a` of the first header that mentions it, so that
 *    `nearest()` has something better than 1:1 to point at. If `[a]` appears
 *    later, it becomes a header-defined table as above;
 *  - the root table (`[]`): `value` is 1:1, no `key`.
 */

export type PathSegment = string | number;

/** 1-based; `column` counts UTF-16 code units by default, like smol-toml's `TomlError`. */
export interface Pos {
  line: number;
  column: number;
}

export interface LocateOptions {
  /**
   * How columns are counted. `'utf16'` (default) matches smol-toml's
   * `TomlError.column`; `'codepoint'` counts astral characters as one column.
   * The two only differ on lines with characters above U+FFFF.
   */
  columns?: 'utf16' | 'codepoint';
}

export interface TomlPositions {
  /**
   * Position of the VALUE at this path (for arrays, the '['; for array
   * elements, the element start; for tables defined by a header, the
   * header's '['; for inline tables, the '{').
   */
  value(path: readonly PathSegment[]): Pos | undefined;
  /** Position of the KEY that defines this path (undefined for array elements and implicit tables). */
  key(path: readonly PathSegment[]): Pos | undefined;
  /**
   * Value position of the longest prefix of `path` that has a known position.
   * Never undefined: falls back to the root, 1:1.
   */
  nearest(path: readonly PathSegment[]): Pos;
}

// ---------------------------------------------------------------------------
// Path formatting

const BARE_PATH_SEGMENT = /^[A-Za-z0-9_]+$/;

/**
 * Human-readable field path, e.g. `apps.snap[2].channel`.
 *
 * Rule: array indices are written `[n]`; a key made only of `A-Za-z0-9_` is
 * written bare, joined to what precedes it with `.`; any other key (empty,
 * containing `-`, `.`, spaces, quotes, non-ASCII, ...) is written as
 * `["..."]` with JSON string escaping, attached without a dot. So
 * `['system', 'gsettings', 'org.gnome.desktop.interface', 'gtk-theme']`
 * becomes `system.gsettings["org.gnome.desktop.interface"]["gtk-theme"]`.
 * The result is unambiguous (it reads back as a JS property access chain).
 * The empty path formats as `""`.
 */
export function formatPath(path: readonly PathSegment[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (BARE_PATH_SEGMENT.test(seg)) out += out === '' ? seg : `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

// ---------------------------------------------------------------------------
// The position tree

/** Not yet known what it is (just created by a lookup). */
const K_NONE = 0;
/** Super-table only mentioned in a header path (`a` in `[a.b]`). */
const K_IMPLICIT = 1;
/** Table created by a dotted key (`a` in `a.b = 1`). */
const K_DOTTED = 2;
/** Defined by `k = v`, by a `[header]`, or an array element. */
const K_DEFINED = 3;
/** Array of tables created by `[[header]]`. */
const K_AOT = 4;

interface Entry {
  /** UTF-16 offset of the key, or -1. */
  key: number;
  /** UTF-16 offset of the value, or -1. */
  value: number;
  kind: number;
  /** Number of `[[...]]` elements seen so far (K_AOT only). */
  count: number;
  children: Map<PathSegment, Entry> | null;
}

function newEntry(): Entry {
  return { key: -1, value: -1, kind: K_NONE, count: 0, children: null };
}

function child(parent: Entry, seg: PathSegment): Entry {
  let map = parent.children;
  if (map === null) map = parent.children = new Map();
  let e = map.get(seg);
  if (e === undefined) {
    e = newEntry();
    map.set(seg, e);
  }
  return e;
}

interface KeySeg {
  name: string;
  pos: number;
}

// ---------------------------------------------------------------------------
// Scanner

const C_TAB = 0x09;
const C_LF = 0x0a;
const C_CR = 0x0d;
const C_SPACE = 0x20;
const C_DQUOTE = 0x22;
const C_HASH = 0x23;
const C_SQUOTE = 0x27;
const C_COMMA = 0x2c;
const C_DOT = 0x2e;
const C_EQ = 0x3d;
const C_LBRACKET = 0x5b;
const C_BACKSLASH = 0x5c;
const C_RBRACKET = 0x5d;
const C_LBRACE = 0x7b;
const C_RBRACE = 0x7d;

function isBareKeyChar(c: number): boolean {
  return (
    (c >= 0x30 && c <= 0x39) || // 0-9
    (c >= 0x41 && c <= 0x5a) || // A-Z
    (c >= 0x61 && c <= 0x7a) || // a-z
    c === 0x5f || // _
    c === 0x2d // -
  );
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** Characters that end a scalar (number, bool, date) token. */
function endsScalar(c: number): boolean {
  return (
    c === C_SPACE ||
    c === C_TAB ||
    c === C_LF ||
    c === C_CR ||
    c === C_COMMA ||
    c === C_RBRACKET ||
    c === C_RBRACE ||
    c === C_HASH
  );
}

function hexValue(s: string): number {
  return /^[0-9A-Fa-f]+$/.test(s) ? parseInt(s, 16) : NaN;
}

/** Decodes the body of a single-line basic string (without the quotes). */
function decodeBasic(raw: string): string {
  if (raw.indexOf('\\') < 0) return raw;
  let out = '';
  for (let i = 0; i < raw.length; i++) {
    const ch = raw[i]!;
    if (ch !== '\\') {
      out += ch;
      continue;
    }
    const e = raw[++i];
    switch (e) {
      case 'b': out += '\b'; break;
      case 't': out += '\t'; break;
      case 'n': out += '\n'; break;
      case 'f': out += '\f'; break;
      case 'r': out += '\r'; break;
      case '"': out += '"'; break;
      case '\\': out += '\\'; break;
      case 'u':
      case 'U': {
        const len = e === 'u' ? 4 : 8;
        const cp = hexValue(raw.slice(i + 1, i + 1 + len));
        out += Number.isFinite(cp) && cp <= 0x10ffff ? String.fromCodePoint(cp) : '\ufffd';
        i += len;
        break;
      }
      default:
        // Not valid TOML; keep the text rather than fail.
        out += '\\' + (e ?? '');
    }
  }
  return out;
}

class Scanner {
  private i = 0;
  private readonly n: number;

  constructor(
    private readonly s: string,
    private readonly root: Entry,
  ) {
    this.n = s.length;
  }

  run(): void {
    const s = this.s;
    const n = this.n;
    if (s.charCodeAt(0) === 0xfeff) this.i = 1;
    let table = this.root;
    for (;;) {
      this.skipVoid();
      if (this.i >= n) return;
      if (s.charCodeAt(this.i) === C_LBRACKET) table = this.header();
      else this.keyval(table);
      // Rest of the line: whitespace and an optional comment.
      this.skipWs();
      if (s.charCodeAt(this.i) === C_HASH) this.skipComment();
      // Anything else is not valid TOML: resynchronise at the next line.
      if (this.i < n && s.charCodeAt(this.i) !== C_LF && s.charCodeAt(this.i) !== C_CR) {
        const nl = s.indexOf('\n', this.i);
        this.i = nl < 0 ? n : nl + 1;
      }
    }
  }

  private skipWs(): void {
    const s = this.s;
    let c: number;
    while (this.i < this.n && ((c = s.charCodeAt(this.i)) === C_SPACE || c === C_TAB)) this.i++;
  }

  private skipComment(): void {
    const nl = this.s.indexOf('\n', this.i);
    this.i = nl < 0 ? this.n : nl;
  }

  /** Whitespace, newlines and comments. */
  private skipVoid(): void {
    const s = this.s;
    while (this.i < this.n) {
      const c = s.charCodeAt(this.i);
      if (c === C_SPACE || c === C_TAB || c === C_LF || c === C_CR) this.i++;
      else if (c === C_HASH) this.skipComment();
      else return;
    }
  }

  /** `[a.b]` or `[[a.b]]`; returns the table that following key/values go into. */
  private header(): Entry {
    const s = this.s;
    const start = this.i;
    this.i++;
    const aot = s.charCodeAt(this.i) === C_LBRACKET;
    if (aot) this.i++;
    const segs = this.parseKey();
    this.skipWs();
    if (s.charCodeAt(this.i) === C_RBRACKET) this.i++;
    if (aot && s.charCodeAt(this.i) === C_RBRACKET) this.i++;
    if (segs.length === 0) return this.root; // not valid TOML

    let node = this.root;
    for (let j = 0; j < segs.length - 1; j++) {
      const seg = segs[j]!;
      const c = child(node, seg.name);
      if (c.kind === K_NONE) {
        c.kind = K_IMPLICIT;
        c.value = seg.pos;
      }
      // A header path that crosses an array of tables means its last element.
      node = c.kind === K_AOT && c.count > 0 ? child(c, c.count - 1) : c;
    }
    const last = segs[segs.length - 1]!;
    const t = child(node, last.name);
    if (aot) {
      if (t.kind !== K_AOT) {
        t.kind = K_AOT;
        t.key = last.pos;
        t.value = start;
      }
      const el = child(t, t.count++);
      el.kind = K_DEFINED;
      el.value = start;
      return el;
    }
    if (t.kind === K_NONE || t.kind === K_IMPLICIT) {
      t.kind = K_DEFINED;
      t.key = last.pos;
      t.value = start;
    }
    return t;
  }

  /** `a."b".c = value` inside `table`. Returns false if there was no key. */
  private keyval(table: Entry): boolean {
    const s = this.s;
    const segs = this.parseKey();
    if (segs.length === 0) return false;
    this.skipWs();
    if (s.charCodeAt(this.i) !== C_EQ) return false;
    this.i++;
    this.skipWs();
    let node = table;
    for (let j = 0; j < segs.length - 1; j++) {
      const seg = segs[j]!;
      node = child(node, seg.name);
      if (node.kind === K_NONE) {
        node.kind = K_DOTTED;
        node.key = seg.pos;
        node.value = seg.pos;
      }
    }
    const last = segs[segs.length - 1]!;
    const target = child(node, last.name);
    target.key = last.pos;
    this.value(target);
    return true;
  }

  /** A (possibly dotted) key; stops before `=` / `]` / anything unexpected. */
  private parseKey(): KeySeg[] {
    const s = this.s;
    const segs: KeySeg[] = [];
    for (;;) {
      this.skipWs();
      const pos = this.i;
      const c = s.charCodeAt(pos);
      let name: string;
      if (c === C_DQUOTE) {
        this.basicString();
        name = decodeBasic(s.slice(pos + 1, this.i - 1));
      } else if (c === C_SQUOTE) {
        this.literalString();
        name = s.slice(pos + 1, this.i - 1);
      } else {
        let j = pos;
        while (j < this.n && isBareKeyChar(s.charCodeAt(j))) j++;
        if (j === pos) return segs;
        name = s.slice(pos, j);
        this.i = j;
      }
      segs.push({ name, pos });
      this.skipWs();
      if (s.charCodeAt(this.i) !== C_DOT) return segs;
      this.i++;
    }
  }

  private value(target: Entry): void {
    const s = this.s;
    const start = this.i;
    target.value = start;
    target.kind = K_DEFINED;
    const c = s.charCodeAt(start);
    if (c === C_LBRACKET) {
      this.i++;
      let index = 0;
      for (;;) {
        this.skipVoid();
        if (this.i >= this.n) return;
        const d = s.charCodeAt(this.i);
        if (d === C_RBRACKET) {
          this.i++;
          return;
        }
        if (d === C_COMMA) return; // not valid TOML
        this.value(child(target, index++));
        this.skipVoid();
        const e = s.charCodeAt(this.i);
        if (e === C_COMMA) this.i++;
        else {
          if (e === C_RBRACKET) this.i++;
          return;
        }
      }
    }
    if (c === C_LBRACE) {
      this.i++;
      for (;;) {
        this.skipVoid();
        if (this.i >= this.n) return;
        if (s.charCodeAt(this.i) === C_RBRACE) {
          this.i++;
          return;
        }
        if (!this.keyval(target)) return; // not valid TOML
        this.skipVoid();
        const e = s.charCodeAt(this.i);
        if (e === C_COMMA) this.i++;
        else {
          if (e === C_RBRACE) this.i++;
          return;
        }
      }
    }
    if (c === C_DQUOTE) return this.basicString();
    if (c === C_SQUOTE) return this.literalString();
    this.scalar();
  }

  /** Number, boolean, date/time: everything up to a delimiter. */
  private scalar(): void {
    const s = this.s;
    const start = this.i;
    let j = start;
    while (j < this.n && !endsScalar(s.charCodeAt(j))) j++;
    // `1979-05-27 07:32:00`: a space may separate date and time.
    if (
      j - start === 10 &&
      s.charCodeAt(j) === C_SPACE &&
      isDigit(s.charCodeAt(j + 1)) &&
      /^\d{4}-\d{2}-\d{2}$/.test(s.slice(start, j))
    ) {
      j++;
      while (j < this.n && !endsScalar(s.charCodeAt(j))) j++;
    }
    this.i = j;
  }

  /** `"..."` or `"""..."""`, leaves `i` after the closing quote(s). */
  private basicString(): void {
    const s = this.s;
    const n = this.n;
    let i = this.i;
    if (s.charCodeAt(i + 1) === C_DQUOTE && s.charCodeAt(i + 2) === C_DQUOTE) {
      i += 3;
      while (i < n) {
        const c = s.charCodeAt(i);
        if (c === C_BACKSLASH) i += 2;
        else if (c === C_DQUOTE && s.charCodeAt(i + 1) === C_DQUOTE && s.charCodeAt(i + 2) === C_DQUOTE) {
          // Up to two quotes right before the closing `"""` belong to the string.
          if (s.charCodeAt(i + 3) === C_DQUOTE) i++;
          if (s.charCodeAt(i + 3) === C_DQUOTE) i++;
          i += 3;
          break;
        } else i++;
      }
    } else {
      i++;
      while (i < n) {
        const c = s.charCodeAt(i);
        if (c === C_BACKSLASH) i += 2;
        else if (c === C_DQUOTE) {
          i++;
          break;
        } else if (c === C_LF) break; // not valid TOML
        else i++;
      }
    }
    this.i = Math.min(i, n);
  }

  /** `'...'` or `'''...'''`, leaves `i` after the closing quote(s). */
  private literalString(): void {
    const s = this.s;
    const n = this.n;
    let i = this.i;
    if (s.charCodeAt(i + 1) === C_SQUOTE && s.charCodeAt(i + 2) === C_SQUOTE) {
      const close = s.indexOf("'''", i + 3);
      if (close < 0) i = n;
      else {
        i = close;
        if (s.charCodeAt(i + 3) === C_SQUOTE) i++;
        if (s.charCodeAt(i + 3) === C_SQUOTE) i++;
        i += 3;
      }
    } else {
      i++;
      while (i < n) {
        const c = s.charCodeAt(i);
        if (c === C_SQUOTE) {
          i++;
          break;
        }
        if (c === C_LF) break; // not valid TOML
        i++;
      }
    }
    this.i = i;
  }
}

// ---------------------------------------------------------------------------
// Offsets to line:column

class LineMap {
  private readonly starts: number[] = [0];
  /** pre[k] = number of astral characters (surrogate pairs) in text[0, k); built on demand. */
  private astralPrefix: Uint32Array | null = null;

  constructor(
    private readonly text: string,
    private readonly codepoints: boolean,
  ) {
    let nl = text.indexOf('\n');
    while (nl >= 0) {
      this.starts.push(nl + 1);
      nl = text.indexOf('\n', nl + 1);
    }
  }

  pos(offset: number): Pos {
    const starts = this.starts;
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    const lineStart = starts[lo]!;
    let column = offset - lineStart + 1;
    if (this.codepoints) {
      const pre = this.prefix();
      column -= pre[offset]! - pre[lineStart]!;
    }
    return { line: lo + 1, column };
  }

  private prefix(): Uint32Array {
    if (this.astralPrefix) return this.astralPrefix;
    const t = this.text;
    const pre = new Uint32Array(t.length + 1);
    let count = 0;
    for (let k = 0; k < t.length; k++) {
      pre[k] = count;
      const c = t.charCodeAt(k);
      if (c >= 0xdc00 && c <= 0xdfff && k > 0) {
        const p = t.charCodeAt(k - 1);
        if (p >= 0xd800 && p <= 0xdbff) pre[k] = ++count;
      }
    }
    pre[t.length] = count;
    return (this.astralPrefix = pre);
  }
}

// ---------------------------------------------------------------------------
// Public entry points

/** Line and column (as `locate` counts them) of a UTF-16 offset into `text`. */
export function positionAt(text: string, offset: number, options: LocateOptions = {}): Pos {
  return new LineMap(text, options.columns === 'codepoint').pos(offset);
}

/**
 * Scans TOML text that smol-toml already accepted and returns the position of
 * every key and every value. Runs in time linear in the text length. On text
 * that is not valid TOML it does not throw; positions are then best effort.
 */
export function locate(text: string, options: LocateOptions = {}): TomlPositions {
  const root = newEntry();
  root.kind = K_DEFINED;
  root.value = 0;
  new Scanner(text, root).run();
  const lines = new LineMap(text, options.columns === 'codepoint');

  const find = (path: readonly PathSegment[]): Entry | undefined => {
    let node: Entry | undefined = root;
    for (const seg of path) {
      node = node.children?.get(seg);
      if (node === undefined) return undefined;
    }
    return node;
  };

  return {
    value(path) {
      const e = find(path);
      return e !== undefined && e.value >= 0 ? lines.pos(e.value) : undefined;
    },
    key(path) {
      const e = find(path);
      return e !== undefined && e.key >= 0 ? lines.pos(e.key) : undefined;
    },
    nearest(path) {
      let node: Entry = root;
      let best = root.value;
      for (const seg of path) {
        const next = node.children?.get(seg);
        if (next === undefined) break;
        node = next;
        if (node.value >= 0) best = node.value;
      }
      return lines.pos(best);
    },
  };
}
