import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { mulberry32 } from '../helpers/prng.ts';
import { parse, stringify, TomlDate, TomlError } from 'smol-toml';
import {
  formatPath,
  locate,
  type PathSegment,
  type Pos,
  type TomlPositions,
} from '../../src/manifest/toml-positions.ts';

// ---------------------------------------------------------------------------
// Helpers, written independently of the implementation.

/** 1-based line/column of a UTF-16 offset: lines split on '\n', columns in UTF-16 units. */
function posAt(text: string, offset: number): Pos {
  let line = 1;
  for (let i = 0; i < offset; i++) if (text.charCodeAt(i) === 0x0a) line++;
  const lineStart = text.lastIndexOf('\n', offset - 1) + 1;
  return { line, column: offset - lineStart + 1 };
}

/** Inverse of posAt. */
function offsetOf(text: string, pos: Pos): number {
  let offset = 0;
  for (let l = 1; l < pos.line; l++) {
    const nl = text.indexOf('\n', offset);
    if (nl < 0) throw new Error(`line ${pos.line} does not exist`);
    offset = nl + 1;
  }
  return offset + pos.column - 1;
}

/**
 * Where smol-toml itself reports an error if the character at `offset` is
 * replaced by '@' (which is valid nowhere a key or value starts). This is the
 * oracle for "line:column means the same as in TomlError".
 */
function tomlErrorAt(text: string, offset: number): Pos {
  let broken = text.slice(0, offset) + '@' + text.slice(offset + 1);
  // smol-toml reports a malformed time (`@7:32:00`) one column early; break the ':' as well so it
  // falls through to "invalid value" at the '@'.
  if (broken[offset + 2] === ':') broken = broken.slice(0, offset + 2) + '@' + broken.slice(offset + 3);
  try {
    parse(broken);
  } catch (e) {
    if (e instanceof TomlError) return { line: e.line, column: e.column };
    throw e;
  }
  throw new Error(`replacing offset ${offset} with '@' did not break the document`);
}

/** Strips «name» markers from a template and records their offsets. */
function mark(template: string): { text: string; at: Record<string, number> } {
  const at: Record<string, number> = {};
  let text = '';
  let last = 0;
  for (const m of template.matchAll(/«([^»]+)»/g)) {
    text += template.slice(last, m.index);
    if (m[1]! in at) throw new Error(`duplicate marker ${m[1]}`);
    at[m[1]!] = text.length;
    last = m.index + m[0].length;
  }
  text += template.slice(last);
  return { text, at };
}

const MISSING = Symbol('missing');

function getPath(data: unknown, path: readonly PathSegment[]): unknown {
  let cur: unknown = data;
  for (const seg of path) {
    if (cur === null || typeof cur !== 'object') return MISSING;
    if (!Object.hasOwn(cur, seg)) return MISSING;
    cur = (cur as Record<string | number, unknown>)[seg];
  }
  return cur;
}

interface Doc {
  text: string;
  data: Record<string, unknown>;
  loc: TomlPositions;
  /** Expected position of a marker. */
  p(name: string): Pos;
  value(path: readonly PathSegment[]): Pos | undefined;
  key(path: readonly PathSegment[]): Pos | undefined;
}

interface DocOptions {
  crlf?: boolean;
  bom?: boolean;
}

function doc(template: string, opts: DocOptions = {}): Doc {
  let t = template;
  if (opts.crlf) t = t.replace(/\r?\n/g, '\r\n');
  if (opts.bom) t = '\uFEFF' + t;
  const { text, at } = mark(t);
  const data = parse(text) as Record<string, unknown>; // the locator only ever sees accepted TOML
  // Every marker is somewhere smol-toml would report an error at the same line:column.
  for (const [name, offset] of Object.entries(at)) {
    expect(tomlErrorAt(text, offset), `marker ${name}`).toEqual(posAt(text, offset));
  }
  const loc = locate(text);
  const checkPath = (path: readonly PathSegment[]) => {
    expect(getPath(data, path), `path ${formatPath(path)} exists in parsed data`).not.toBe(MISSING);
  };
  return {
    text,
    data,
    loc,
    p(name) {
      const offset = at[name];
      if (offset === undefined) throw new Error(`no marker ${name}`);
      return posAt(text, offset);
    },
    value(path) {
      checkPath(path);
      return loc.value(path);
    },
    key(path) {
      checkPath(path);
      return loc.key(path);
    },
  };
}

// ---------------------------------------------------------------------------

describe('formatPath', () => {
  it('joins bare keys with dots and indexes with brackets', () => {
    expect(formatPath(['apps', 'snap', 2, 'channel'])).toBe('apps.snap[2].channel');
    expect(formatPath(['a', 0, 1, 'b_c', 'D9'])).toBe('a[0][1].b_c.D9');
    expect(formatPath(['x', '0'])).toBe('x.0');
    expect(formatPath(['x', 0])).toBe('x[0]');
  });

  it('quotes every other key JSON-style', () => {
    expect(formatPath(['system', 'gsettings', 'org.gnome.desktop.interface', 'gtk-theme'])).toBe(
      'system.gsettings["org.gnome.desktop.interface"]["gtk-theme"]',
    );
    expect(formatPath(['dot.ted', 'x'])).toBe('["dot.ted"].x');
    expect(formatPath(['', 'a b', 'q"\\', 'é', 'nl\n'])).toBe('[""]["a b"]["q\\"\\\\"]["é"]["nl\\n"]');
  });

  it('formats the empty path as the empty string', () => {
    expect(formatPath([])).toBe('');
  });
});

describe('locate: keys, values and comments', () => {
  it('finds simple key/value pairs around comments', () => {
    const d = doc(
      [
        '# comment with key = "value" and [table]',
        '«k1»title = «v1»"Koder"   # trailing # comment',
        '«k2»n=«v2»42',
        '«k3»neg\t=\t«v3»-17 # tab separated',
        '   # indented comment',
        '«k4»bare-key_9 = «v4»true',
        '',
      ].join('\n'),
    );
    expect(d.key(['title'])).toEqual(d.p('k1'));
    expect(d.value(['title'])).toEqual(d.p('v1'));
    expect(d.key(['n'])).toEqual(d.p('k2'));
    expect(d.value(['n'])).toEqual(d.p('v2'));
    expect(d.key(['neg'])).toEqual(d.p('k3'));
    expect(d.value(['neg'])).toEqual(d.p('v3'));
    expect(d.key(['bare-key_9'])).toEqual(d.p('k4'));
    expect(d.value(['bare-key_9'])).toEqual(d.p('v4'));
    // concrete numbers, to pin the 1-based convention
    expect(d.value(['title'])).toEqual({ line: 2, column: 9 });
    expect(d.value(['neg'])).toEqual({ line: 4, column: 7 });
  });

  it('handles dotted keys with quoted parts and whitespace around dots', () => {
    const d = doc(
      [
        '«a»a . «b»"b.c" . «d»\'d\' = «v»1',
        'a.«x»x=«vx»2',
        'site.«g»"google.com" = «vg»true',
        '«q»"k\\u00E9\\"y\\\\" = «vq»3',
        "«l»'C:\\path' = «vl»4",
        '«e»"" = «ve»5',
        '«u»"\\U0001F600" = «vu»6',
        '«n»1.«n2»2 = «vn»7',
      ].join('\n'),
    );
    expect(d.key(['a', 'b.c', 'd'])).toEqual(d.p('d'));
    expect(d.value(['a', 'b.c', 'd'])).toEqual(d.p('v'));
    expect(d.key(['a', 'b.c'])).toEqual(d.p('b'));
    expect(d.value(['a', 'b.c'])).toEqual(d.p('b'));
    // a table created by dotted keys is located at its first mention
    expect(d.key(['a'])).toEqual(d.p('a'));
    expect(d.value(['a'])).toEqual(d.p('a'));
    expect(d.key(['a', 'x'])).toEqual(d.p('x'));
    expect(d.value(['a', 'x'])).toEqual(d.p('vx'));
    expect(d.key(['site', 'google.com'])).toEqual(d.p('g'));
    expect(d.value(['site', 'google.com'])).toEqual(d.p('vg'));
    expect(d.key(['ké"y\\'])).toEqual(d.p('q'));
    expect(d.value(['ké"y\\'])).toEqual(d.p('vq'));
    expect(d.key(['C:\\path'])).toEqual(d.p('l'));
    expect(d.value(['C:\\path'])).toEqual(d.p('vl'));
    expect(d.key([''])).toEqual(d.p('e'));
    expect(d.value([''])).toEqual(d.p('ve'));
    expect(d.key(['😀'])).toEqual(d.p('u'));
    expect(d.value(['😀'])).toEqual(d.p('vu'));
    expect(d.key(['1'])).toEqual(d.p('n'));
    expect(d.key(['1', '2'])).toEqual(d.p('n2'));
    expect(d.value(['1', '2'])).toEqual(d.p('vn'));
    // no confusion between the quoted "b.c" and a dotted b.c
    expect(d.loc.value(['a', 'b', 'c'])).toBeUndefined();
  });

  it('distinguishes a key "0" from an array index 0', () => {
    const d = doc('«t»t = { «k0»"0" = «v0»1 }\n«a»a = [«e0»5]\n');
    expect(d.value(['t', '0'])).toEqual(d.p('v0'));
    expect(d.key(['t', '0'])).toEqual(d.p('k0'));
    expect(d.loc.value(['t', 0])).toBeUndefined();
    expect(d.value(['a', 0])).toEqual(d.p('e0'));
    expect(d.loc.value(['a', '0'])).toBeUndefined();
  });

  it('answers the root and unknown paths', () => {
    const d = doc('«a»a = 1\n');
    expect(d.loc.value([])).toEqual({ line: 1, column: 1 });
    expect(d.loc.key([])).toBeUndefined();
    expect(d.loc.value(['nope'])).toBeUndefined();
    expect(d.loc.key(['nope'])).toBeUndefined();
    expect(d.loc.value(['a', 'b'])).toBeUndefined();
    expect(d.loc.value(['a', 0])).toBeUndefined();
  });
});

describe('locate: tables', () => {
  it('locates standard table headers and implicit super-tables', () => {
    const d = doc(
      [
        '«top»top = 1',
        '«h1»[«s1»servers.«k2»alpha]',
        '«ip»ip = «vip»"10.0.0.1"',
        '',
        '«h2»[ «s2»servers . «k4»"beta" ]   # spaces inside the header',
        'ip = «vip2»"10.0.0.2"',
        '«h5»[«o»other.«deep»deep.«k6»er]',
        'x = «x»1',
      ].join('\n'),
    );
    expect(d.value(['servers', 'alpha'])).toEqual(d.p('h1'));
    expect(d.key(['servers', 'alpha'])).toEqual(d.p('k2'));
    expect(d.key(['servers', 'alpha', 'ip'])).toEqual(d.p('ip'));
    expect(d.value(['servers', 'alpha', 'ip'])).toEqual(d.p('vip'));
    expect(d.value(['servers', 'beta'])).toEqual(d.p('h2'));
    expect(d.key(['servers', 'beta'])).toEqual(d.p('k4'));
    expect(d.value(['servers', 'beta', 'ip'])).toEqual(d.p('vip2'));
    // implicit: no key, value at the first mention
    expect(d.key(['servers'])).toBeUndefined();
    expect(d.value(['servers'])).toEqual(d.p('s1'));
    expect(d.key(['other', 'deep'])).toBeUndefined();
    expect(d.value(['other', 'deep'])).toEqual(d.p('deep'));
    expect(d.value(['other', 'deep', 'er', 'x'])).toEqual(d.p('x'));
    expect(d.key(['top'])).toEqual(d.p('top'));
    expect(d.value(['top'])).toEqual({ line: 1, column: 7 });
  });

  it('turns an implicit table into a defined one when its own header comes later', () => {
    const d = doc(
      ['«h1»[«s1»a.«b»b]', 'x = 1', '«h2»[«a»a]', '«y»y = «vy»2', '«h3»[a.«c»c]'].join('\n'),
    );
    expect(d.value(['a'])).toEqual(d.p('h2'));
    expect(d.key(['a'])).toEqual(d.p('a'));
    expect(d.value(['a', 'y'])).toEqual(d.p('vy'));
    expect(d.value(['a', 'b'])).toEqual(d.p('h1'));
    expect(d.value(['a', 'c'])).toEqual(d.p('h3'));
    expect(d.key(['a', 'c'])).toEqual(d.p('c'));
  });

  it('indexes arrays of tables per array path', () => {
    const d = doc(
      [
        '«r0»[[«rs»repos.«rk»entry]]',
        'name = «n0»"a"',
        '«r1»[[ repos . entry ]]',
        'name = «n1»"b"',
        '',
        '# the third one',
        '«r2»[[repos."entry"]]',
        '«nk2»name = «n2»"c"',
        '«o0»[[«ok»other]]',
      ].join('\n'),
    );
    expect(d.value(['repos', 'entry', 0])).toEqual(d.p('r0'));
    expect(d.value(['repos', 'entry', 1])).toEqual(d.p('r1'));
    expect(d.value(['repos', 'entry', 2])).toEqual(d.p('r2'));
    expect(d.key(['repos', 'entry', 2])).toBeUndefined();
    expect(d.value(['repos', 'entry', 0, 'name'])).toEqual(d.p('n0'));
    expect(d.value(['repos', 'entry', 1, 'name'])).toEqual(d.p('n1'));
    expect(d.value(['repos', 'entry', 2, 'name'])).toEqual(d.p('n2'));
    expect(d.key(['repos', 'entry', 2, 'name'])).toEqual(d.p('nk2'));
    expect(d.value(['repos', 'entry'])).toEqual(d.p('r0'));
    expect(d.key(['repos', 'entry'])).toEqual(d.p('rk'));
    expect(d.key(['repos'])).toBeUndefined();
    expect(d.value(['repos'])).toEqual(d.p('rs'));
    expect(d.value(['other', 0])).toEqual(d.p('o0'));
    expect(d.key(['other'])).toEqual(d.p('ok'));
    expect(d.loc.value(['repos', 'entry', 3])).toBeUndefined();
  });

  it('attaches nested headers after [[a]] to the last element of a', () => {
    const d = doc(
      [
        '[[a]]',
        'x = 1',
        '«a0b0»[[a.b]]',
        'y = «y00»1',
        '«a1»[[a]]',
        '«a1xk»x = «a1x»2',
        '«a1b0»[[a.b]]',
        'y = «y10»2',
        '«a1b1»[[a.«bk»b]]',
        'y = «y11»3',
        '«a1c»[a.«ck»c]',
        'z = «z»4',
        '«a1cd0»[[a.c.d]]',
        'q = «q»5',
        '«a2»[[a]]',
        '«a2b»[a.b]',
        'w = «w»6',
      ].join('\n'),
    );
    expect(d.value(['a', 0, 'b', 0])).toEqual(d.p('a0b0'));
    expect(d.value(['a', 0, 'b', 0, 'y'])).toEqual(d.p('y00'));
    expect(d.value(['a', 1])).toEqual(d.p('a1'));
    expect(d.value(['a', 1, 'x'])).toEqual(d.p('a1x'));
    expect(d.key(['a', 1, 'x'])).toEqual(d.p('a1xk'));
    expect(d.value(['a', 1, 'b', 0])).toEqual(d.p('a1b0'));
    expect(d.value(['a', 1, 'b', 0, 'y'])).toEqual(d.p('y10'));
    expect(d.value(['a', 1, 'b', 1])).toEqual(d.p('a1b1'));
    expect(d.value(['a', 1, 'b', 1, 'y'])).toEqual(d.p('y11'));
    // the array a[1].b is keyed at its first [[a.b]] inside a[1]
    expect(d.value(['a', 1, 'b'])).toEqual(d.p('a1b0'));
    expect(d.value(['a', 1, 'c'])).toEqual(d.p('a1c'));
    expect(d.key(['a', 1, 'c'])).toEqual(d.p('ck'));
    expect(d.value(['a', 1, 'c', 'z'])).toEqual(d.p('z'));
    expect(d.value(['a', 1, 'c', 'd', 0])).toEqual(d.p('a1cd0'));
    expect(d.value(['a', 1, 'c', 'd', 0, 'q'])).toEqual(d.p('q'));
    expect(d.value(['a', 2])).toEqual(d.p('a2'));
    expect(d.value(['a', 2, 'b'])).toEqual(d.p('a2b'));
    expect(d.value(['a', 2, 'b', 'w'])).toEqual(d.p('w'));
    expect(d.loc.value(['a', 2, 'b', 0])).toBeUndefined();
    expect(d.loc.value(['a', 0, 'b', 1])).toBeUndefined();
  });
});

describe('locate: strings', () => {
  it('keeps positions right after multi-line basic strings', () => {
    const d = doc(
      [
        '«k1»ml = «v1»"""',
        'line one \\',
        '    still "one" \\"\\"\\" not closed [fake] x = 1 # no comment',
        '  two quotes at the end:""""" # x = 2',
        '«k2»after = «v2»"""\\\\"""',
        '«k3»one = «v3»"""q""""',
        '«k4»cont = «v4»"""a \\   ',
        '',
        '   b"""',
        '«k5»quotes = «v5»""""""',
        '«k6»next = «v6»1',
      ].join('\n'),
    );
    expect(d.data.ml).toBe('line one still "one" """ not closed [fake] x = 1 # no comment\n  two quotes at the end:""');
    expect(d.data.after).toBe('\\');
    expect(d.data.one).toBe('q"');
    expect(d.data.cont).toBe('a b');
    expect(d.data.quotes).toBe('');
    for (const [k, n] of [
      ['ml', 1],
      ['after', 2],
      ['one', 3],
      ['cont', 4],
      ['quotes', 5],
      ['next', 6],
    ] as const) {
      expect(d.key([k])).toEqual(d.p(`k${n}`));
      expect(d.value([k])).toEqual(d.p(`v${n}`));
    }
  });

  it('keeps positions right after multi-line literal strings', () => {
    const d = doc(
      [
        "«k1»lit = «v1»'''",
        '[not.a.table]',
        'y = "no" # \'\'',
        "x''''' # z = 3",
        "«k2»bs = «v2»'''C:\\'''",
        "«k3»one = «v3»''''''''",
        '«k4»next = «v4»[«e0»\'C:\\\', «e1»"\\"", «e2»\'#\']',
      ].join('\n'),
    );
    expect(d.data.lit).toBe("[not.a.table]\ny = \"no\" # ''\nx''");
    expect(d.data.bs).toBe('C:\\');
    expect(d.data.one).toBe("''");
    expect(d.data.next).toEqual(['C:\\', '"', '#']);
    for (const n of [1, 2, 3, 4]) {
      const k = ['lit', 'bs', 'one', 'next'][n - 1]!;
      expect(d.key([k])).toEqual(d.p(`k${n}`));
      expect(d.value([k])).toEqual(d.p(`v${n}`));
    }
    expect(d.value(['next', 0])).toEqual(d.p('e0'));
    expect(d.value(['next', 1])).toEqual(d.p('e1'));
    expect(d.value(['next', 2])).toEqual(d.p('e2'));
  });

  it('finds the end of multi-line strings when more follows on the same line', () => {
    const d = doc(
      [
        'a = [«a0»"""q"""", «a1»"""r""""", «a2»\'\'\'s\'\'\'\', «a3»\'\'\'t\'\'\'\'\', «a4»"""x\\""" y""", «a5»3]',
        't = { «t1»k = «v1»"""u"""", «t2»l = «v2»\'\'\'w\'\'\'\'\', «t3»m = «v3»"""\\\\""", «t4»n = «v4»4 }',
      ].join('\n'),
    );
    expect(d.data.a).toEqual(['q"', 'r""', "s'", "t''", 'x""" y', 3]);
    for (let i = 0; i < 6; i++) expect(d.value(['a', i])).toEqual(d.p(`a${i}`));
    for (const [i, k] of [[1, 'k'], [2, 'l'], [3, 'm'], [4, 'n']] as const) {
      expect(d.key(['t', k])).toEqual(d.p(`t${i}`));
      expect(d.value(['t', k])).toEqual(d.p(`v${i}`));
    }
  });

  it('is not fooled by brackets, braces, quotes and hashes inside single-line strings', () => {
    const d = doc(
      [
        '«k1»s = «v1»"with \\"escaped\\" quotes, # hash, ] bracket, } brace"',
        '«k2»t = «v2»[«t0»"a\\\\", «t1»\'b"\', «t2»"]", «t3»\'[\'] # ]',
        '«k3»u = «v3»{ «uk»"}" = «uv»"{", «wk»w = «wv»\'}\' }',
      ].join('\n'),
    );
    expect(d.value(['s'])).toEqual(d.p('v1'));
    expect(d.value(['t'])).toEqual(d.p('v2'));
    for (let i = 0; i < 4; i++) expect(d.value(['t', i])).toEqual(d.p(`t${i}`));
    expect(d.value(['u'])).toEqual(d.p('v3'));
    expect(d.key(['u', '}'])).toEqual(d.p('uk'));
    expect(d.value(['u', '}'])).toEqual(d.p('uv'));
    expect(d.key(['u', 'w'])).toEqual(d.p('wk'));
    expect(d.value(['u', 'w'])).toEqual(d.p('wv'));
  });
});

describe('locate: inline tables and arrays', () => {
  it('descends into nested inline tables with dotted keys', () => {
    const d = doc(
      [
        '«k»pt = «v»{ «kx»x = «vx»1, «ky»y . «kz»z = «vz»{ «kw»w = «vw»[«e0»1, «e1»{ «kq»q = «vq»"}" }] }, «kt»"t t" = «vt»\'}\' }',
        '«k2»e = «v2»{}',
        '«k3»after = «v3»2',
      ].join('\n'),
    );
    expect(d.value(['pt'])).toEqual(d.p('v'));
    expect(d.key(['pt'])).toEqual(d.p('k'));
    expect(d.value(['pt', 'x'])).toEqual(d.p('vx'));
    expect(d.key(['pt', 'x'])).toEqual(d.p('kx'));
    expect(d.key(['pt', 'y'])).toEqual(d.p('ky'));
    expect(d.value(['pt', 'y'])).toEqual(d.p('ky'));
    expect(d.key(['pt', 'y', 'z'])).toEqual(d.p('kz'));
    expect(d.value(['pt', 'y', 'z'])).toEqual(d.p('vz'));
    expect(d.key(['pt', 'y', 'z', 'w'])).toEqual(d.p('kw'));
    expect(d.value(['pt', 'y', 'z', 'w'])).toEqual(d.p('vw'));
    expect(d.value(['pt', 'y', 'z', 'w', 0])).toEqual(d.p('e0'));
    expect(d.value(['pt', 'y', 'z', 'w', 1])).toEqual(d.p('e1'));
    expect(d.key(['pt', 'y', 'z', 'w', 1])).toBeUndefined();
    expect(d.key(['pt', 'y', 'z', 'w', 1, 'q'])).toEqual(d.p('kq'));
    expect(d.value(['pt', 'y', 'z', 'w', 1, 'q'])).toEqual(d.p('vq'));
    expect(d.key(['pt', 't t'])).toEqual(d.p('kt'));
    expect(d.value(['pt', 't t'])).toEqual(d.p('vt'));
    expect(d.value(['e'])).toEqual(d.p('v2'));
    expect(d.value(['after'])).toEqual(d.p('v3'));
  });

  it('handles nested, multi-line arrays with trailing commas and comments', () => {
    const d = doc(
      [
        '«k1»nest = «v1»[ «n0»[ «n00»1, «n01»2 ], «n1»[ ], «n2»[«n20»[«n200»"]"]], ]',
        '«k2»multi = «v2»[',
        '  «m0»1, # comment ], " [',
        '  # full line comment [ {',
        '',
        '  «m1»"two"  ,',
        '  «m2»{ «ak»a = «av»1 },',
        '  «m3»[',
        '    «m30»3 # trailing, no comma',
        '  ] ,',
        ']',
        '«k3»after = «v3»true',
      ].join('\n'),
    );
    expect(d.value(['nest'])).toEqual(d.p('v1'));
    expect(d.value(['nest', 0])).toEqual(d.p('n0'));
    expect(d.value(['nest', 0, 0])).toEqual(d.p('n00'));
    expect(d.value(['nest', 0, 1])).toEqual(d.p('n01'));
    expect(d.value(['nest', 1])).toEqual(d.p('n1'));
    expect(d.value(['nest', 2])).toEqual(d.p('n2'));
    expect(d.value(['nest', 2, 0])).toEqual(d.p('n20'));
    expect(d.value(['nest', 2, 0, 0])).toEqual(d.p('n200'));
    expect(d.loc.value(['nest', 3])).toBeUndefined();
    expect(d.value(['multi'])).toEqual(d.p('v2'));
    for (let i = 0; i < 4; i++) expect(d.value(['multi', i])).toEqual(d.p(`m${i}`));
    expect(d.key(['multi', 2, 'a'])).toEqual(d.p('ak'));
    expect(d.value(['multi', 2, 'a'])).toEqual(d.p('av'));
    expect(d.value(['multi', 3, 0])).toEqual(d.p('m30'));
    expect(d.loc.value(['multi', 4])).toBeUndefined();
    expect(d.value(['after'])).toEqual(d.p('v3'));
  });

  it('accepts what smol-toml accepts inside inline tables (newlines, comments, trailing comma)', () => {
    const d = doc(
      ['«k»t = «v»{', '  «ak»a = «av»1, # c }', '  «bk»b.«ck»c = «cv»[«c0»2], ', '}', '«k2»z = «v2»3'].join('\n'),
    );
    expect(d.value(['t', 'a'])).toEqual(d.p('av'));
    expect(d.key(['t', 'a'])).toEqual(d.p('ak'));
    expect(d.key(['t', 'b'])).toEqual(d.p('bk'));
    expect(d.key(['t', 'b', 'c'])).toEqual(d.p('ck'));
    expect(d.value(['t', 'b', 'c'])).toEqual(d.p('cv'));
    expect(d.value(['t', 'b', 'c', 0])).toEqual(d.p('c0'));
    expect(d.value(['z'])).toEqual(d.p('v2'));
  });
});

describe('locate: scalars', () => {
  it('treats numbers, booleans and dates as single tokens', () => {
    const d = doc(
      [
        'i1 = «i1»+99',
        'hex = «hex»0xDEAD_beef',
        'oct = «oct»0o755',
        'bin = «bin»0b1101',
        'f1 = «f1»-3.14e+10',
        'f2 = «f2»6.626E-34',
        'f3 = «f3»1_000.000_1',
        'inf = «inf»-inf',
        'nan = «nan»+nan',
        'b = «b»false',
        'odt = «odt»1979-05-27 07:32:00.999999-07:00',
        'ldt = «ldt»1979-05-27T07:32:00',
        'ld = «ld»1979-05-27',
        'lt = «lt»07:32:00',
        'arr = [«a0»1979-05-27 07:32:00Z,«a1»07:32:00.5 , «a2»1_000,«a3»true, «a4»1979-05-27]',
        'after = «after»0',
      ].join('\n'),
    );
    for (const k of ['i1', 'hex', 'oct', 'bin', 'f1', 'f2', 'f3', 'inf', 'nan', 'b', 'odt', 'ldt', 'ld', 'lt', 'after']) {
      expect(d.value([k]), k).toEqual(d.p(k));
    }
    for (let i = 0; i < 5; i++) expect(d.value(['arr', i])).toEqual(d.p(`a${i}`));
    expect(d.loc.value(['arr', 5])).toBeUndefined();
  });
});

describe('locate: line endings, BOM, tabs and non-ASCII', () => {
  const sample = [
    '«k1»a = «v1»"""',
    'x\\',
    '  y"""',
    '«h»[«t»t]',
    '«k2»b = «v2»[',
    '  «e0»1, # c',
    '  «e1»\'\'\'two',
    "lines'''",
    ']',
    '«k3»c = «v3»{ «dk»d = «dv»"""e""" }',
  ].join('\n');
  const paths: [PathSegment[], string][] = [
    [['a'], 'v1'],
    [['t'], 'h'],
    [['t', 'b'], 'v2'],
    [['t', 'b', 0], 'e0'],
    [['t', 'b', 1], 'e1'],
    [['t', 'c'], 'v3'],
    [['t', 'c', 'd'], 'dv'],
  ];

  it('gives the same line:column for CRLF as for LF', () => {
    const lf = doc(sample);
    const crlf = doc(sample, { crlf: true });
    expect(crlf.text).toContain('\r\n');
    expect(Object.keys(crlf.data)).toEqual(Object.keys(lf.data));
    for (const [path, m] of paths) {
      expect(lf.value(path)).toEqual(lf.p(m));
      expect(crlf.value(path)).toEqual(crlf.p(m));
      expect(crlf.value(path)).toEqual(lf.value(path));
    }
    expect(crlf.key(['t', 'c', 'd'])).toEqual(crlf.p('dk'));
  });

  it('counts a BOM as column 1 of line 1, like TomlError', () => {
    const plain = doc(sample);
    const bom = doc(sample, { bom: true });
    expect(bom.text.charCodeAt(0)).toBe(0xfeff);
    for (const [path, m] of paths) expect(bom.value(path)).toEqual(bom.p(m));
    expect(bom.key(['a'])).toEqual({ line: 1, column: 2 });
    expect(plain.key(['a'])).toEqual({ line: 1, column: 1 });
    expect(bom.value(['a'])).toEqual({ line: 1, column: 6 });
    // later lines are unaffected
    expect(bom.value(['t'])).toEqual(plain.value(['t']));
    const both = doc(sample, { bom: true, crlf: true });
    for (const [path, m] of paths) expect(both.value(path)).toEqual(both.p(m));
  });

  it('counts a tab as one column', () => {
    const d = doc('\t«k»key\t=\t«v»"v"\n[\t«h»t\t]\n\t\tx\t= [\t«e0»1,\t«e1»2\t]\n');
    expect(d.key(['key'])).toEqual({ line: 1, column: 2 });
    expect(d.value(['key'])).toEqual({ line: 1, column: 8 });
    expect(d.key(['t'])).toEqual(d.p('h'));
    expect(d.value(['t', 'x', 1])).toEqual(d.p('e1'));
    expect(d.value(['t', 'x', 1])).toEqual({ line: 3, column: 12 });
  });

  it('counts columns after non-ASCII characters exactly like TomlError', () => {
    const d = doc(
      [
        '«k»"é中" = «v»"😀"',
        'x = { «a»"😀😀" = «b»1, c = «c»"é", d = «d»2 }',
        'e = ["😀", «z»1]',
      ].join('\n'),
    );
    expect(d.key(['é中'])).toEqual(d.p('k'));
    expect(d.value(['é中'])).toEqual(d.p('v'));
    expect(d.value(['é中'])).toEqual({ line: 1, column: 8 });
    expect(d.key(['x', '😀😀'])).toEqual(d.p('a'));
    expect(d.value(['x', '😀😀'])).toEqual(d.p('b'));
    expect(d.value(['x', 'c'])).toEqual(d.p('c'));
    expect(d.value(['x', 'd'])).toEqual(d.p('d'));
    // `e = ["😀", 1]`: the emoji is 2 UTF-16 units, which is what TomlError counts
    expect(d.value(['e', 1])).toEqual({ line: 3, column: 12 });
    expect(tomlErrorAt(d.text, offsetOf(d.text, { line: 3, column: 12 }))).toEqual({ line: 3, column: 12 });
    // on request, code points instead
    const cp = locate(d.text, { columns: 'codepoint' });
    expect(cp.value(['e', 1])).toEqual({ line: 3, column: 11 });
    expect(cp.value(['é中'])).toEqual({ line: 1, column: 8 });
    expect(cp.value(['x', 'd'])).toEqual({ line: 2, column: d.p('d').column - 2 });
    expect(cp.nearest(['e', 1, 'zz'])).toEqual({ line: 3, column: 11 });
  });
});

describe('nearest', () => {
  const d = doc(
    [
      '«top»top = 1',
      '«s»[«sk»servers.alpha]',
      'ip = «ip»"x"',
      'list = «arr»[«l0»{ a = «a»1 }]',
      '«aot»[[apps.snap]]',
      '«snap1»[[apps.snap]]',
      'channel = «ch»3',
    ].join('\n'),
  );

  it('returns the value position of the deepest known prefix', () => {
    expect(d.loc.nearest(['servers', 'alpha', 'ip'])).toEqual(d.p('ip'));
    expect(d.loc.nearest(['servers', 'alpha', 'missing', 'deeper'])).toEqual(d.p('s'));
    expect(d.loc.nearest(['servers', 'gamma'])).toEqual(d.p('sk'));
    expect(d.loc.nearest(['servers', 'alpha', 'list', 5])).toEqual(d.p('arr'));
    expect(d.loc.nearest(['servers', 'alpha', 'list', 0, 'b'])).toEqual(d.p('l0'));
    expect(d.loc.nearest(['servers', 'alpha', 'list', 0, 'a', 'x'])).toEqual(d.p('a'));
    expect(d.loc.nearest(['apps', 'snap', 1, 'channel'])).toEqual(d.p('ch'));
    expect(d.loc.nearest(['apps', 'snap', 1, 'name'])).toEqual(d.p('snap1'));
    expect(d.loc.nearest(['apps', 'snap', 7])).toEqual(d.p('aot'));
    expect(d.loc.nearest(['apps', 'snap', '1'])).toEqual(d.p('aot'));
  });

  it('falls back to 1:1', () => {
    expect(d.loc.nearest(['nope', 'x'])).toEqual({ line: 1, column: 1 });
    expect(d.loc.nearest([])).toEqual({ line: 1, column: 1 });
    expect(locate('').nearest(['a'])).toEqual({ line: 1, column: 1 });
    expect(locate('# only a comment\n').nearest(['a'])).toEqual({ line: 1, column: 1 });
  });

  it('composes into the error format the validators print', () => {
    const path = ['apps', 'snap', 1, 'channel'];
    const pos = d.loc.nearest(path);
    expect(`m.kvg:${pos.line}:${pos.column} ${formatPath(path)}: expected string`).toBe(
      'm.kvg:7:11 apps.snap[1].channel: expected string',
    );
  });
});

describe('robustness', () => {
  it('never throws or hangs on text that is not valid TOML', () => {
    const tomlish = fc.string({
      unit: fc.constantFrom(...'ab1 \t\n\r=.,[]{}"\'#\\-_:+eé😀'.split(/(?:)/u)),
      maxLength: 60,
    });
    fc.assert(
      fc.property(tomlish, (text) => {
        const loc = locate(text);
        loc.nearest(['a', 0, 'b']);
        loc.value(['a']);
        loc.key(['a']);
      }),
      { numRuns: 2000 },
    );
  });

  it('never throws on truncated documents', () => {
    const text = stringify(bigManifest(3)) + 's = """\nx"""\nl = \'\'\'\ny\'\'\'\n';
    for (let n = 0; n <= text.length; n++) locate(text.slice(0, n)).nearest(['apps', 'snap', 0, 'name']);
  });

  it('copes with deep nesting', () => {
    const depth = 900;
    const text = 'a = ' + '['.repeat(depth) + '1' + ']'.repeat(depth) + '\nb = 2\n';
    parse(text);
    const loc = locate(text);
    const path: PathSegment[] = ['a', ...Array<number>(depth).fill(0)];
    expect(loc.value(path)).toEqual({ line: 1, column: 5 + depth });
    expect(loc.value(['b'])).toEqual({ line: 2, column: 5 });
  });
});

// ---------------------------------------------------------------------------
// Property tests: every leaf of the parsed data is located at text that
// re-parses to that leaf.

type Leaf = string | number | boolean | TomlDate;

function isTable(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date) && !(v instanceof DateLit);
}

function sameLeaf(a: unknown, b: unknown): boolean {
  if (a instanceof TomlDate && b instanceof TomlDate) return a.toISOString() === b.toISOString();
  if (typeof a === 'number' && typeof b === 'number') return Object.is(a, b);
  return a === b;
}

const VALUE_END = new Set([' ', '\t', '\r', '\n', ',', ']', '}', '#']);
const KEY_END = new Set([' ', '\t', '.', '=', ']']);

/** Finds an end such that `text[offset, end)` is a TOML value equal to `leaf`; returns end or -1. */
function leafTokenEnd(text: string, offset: number, leaf: Leaf): number {
  const first = text[offset];
  const quoted = first === '"' || first === "'";
  for (let j = offset + 1; j <= text.length; j++) {
    if (j < text.length && !VALUE_END.has(text[j]!)) continue;
    if (quoted && text[j - 1] !== first) continue;
    let v: unknown;
    try {
      v = parse(`x = ${text.slice(offset, j)}`).x;
    } catch {
      continue;
    }
    if (sameLeaf(v, leaf)) return j;
  }
  return -1;
}

/** Finds an end such that `text[offset, end)` is a single (non-dotted) key equal to `name`; returns end or -1. */
function keyTokenEnd(text: string, offset: number, name: string): number {
  for (let j = offset + 1; j <= text.length; j++) {
    if (j < text.length && !KEY_END.has(text[j]!)) continue;
    let t: Record<string, unknown>;
    try {
      t = parse(`${text.slice(offset, j)} = 1`);
    } catch {
      continue;
    }
    const keys = Object.keys(t);
    if (keys.length === 1 && keys[0] === name && t[name] === 1) return j;
  }
  return -1;
}

/** Checks every path of `data` against the locator; returns the number of leaves checked. */
function checkDocument(text: string, data: Record<string, unknown>): number {
  const loc = locate(text);
  const leafOffsets = new Set<number>();
  let leaves = 0;
  const where = (path: readonly PathSegment[]) => `${formatPath(path)} in:\n${text}`;

  const checkOracle = (offset: number, path: readonly PathSegment[]) => {
    expect(tomlErrorAt(text, offset), `TomlError agrees for ${where(path)}`).toEqual(posAt(text, offset));
  };

  const walk = (value: unknown, path: PathSegment[]): number => {
    const vPos = loc.value(path);
    expect(vPos, `value(${where(path)})`).toBeDefined();
    const vOff = offsetOf(text, vPos!);
    if (path.length > 0) checkOracle(vOff, path);

    const last = path[path.length - 1];
    if (typeof last === 'number') {
      expect(loc.key(path), `no key for element ${where(path)}`).toBeUndefined();
    } else if (typeof last === 'string') {
      const kPos = loc.key(path);
      if (kPos === undefined) {
        // only implicit tables have no key; their value is the first mention of the key
        expect(isTable(value), `key(${where(path)})`).toBe(true);
        expect(keyTokenEnd(text, vOff, last), `implicit table mention ${where(path)}`).toBeGreaterThan(vOff);
      } else {
        const kOff = offsetOf(text, kPos);
        if (kOff !== vOff) checkOracle(kOff, path);
        const kEnd = keyTokenEnd(text, kOff, last);
        expect(kEnd, `key token at key(${where(path)})`).toBeGreaterThan(kOff);
        if (vOff > kOff) {
          // `key = value`
          expect(text.slice(kEnd, vOff), `between key and value of ${where(path)}`).toMatch(/^[ \t]*=[ \t]*$/);
        } else if (vOff < kOff) {
          // a header: `[a.b]` or `[[a.b]]` before the key
          expect(text[vOff], `header of ${where(path)}`).toBe('[');
          expect(text.slice(vOff, kOff)).not.toContain('\n');
        }
      }
    }

    if (Array.isArray(value)) {
      expect(text[vOff], `array ${where(path)}`).toBe('[');
      let prev = vOff;
      for (let i = 0; i < value.length; i++) {
        const off = walk(value[i], [...path, i]);
        // element 0 of an array of tables shares the array's '[['
        if (i === 0) expect(off, `element order ${where([...path, i])}`).toBeGreaterThanOrEqual(prev);
        else expect(off, `element order ${where([...path, i])}`).toBeGreaterThan(prev);
        prev = off;
      }
      expect(loc.value([...path, value.length])).toBeUndefined();
    } else if (isTable(value)) {
      if (path.length > 0) expect('[{"\'' + 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-').toContain(text[vOff]);
      for (const k of Object.keys(value)) walk(value[k], [...path, k]);
    } else {
      leaves++;
      expect(leafOffsets.has(vOff), `two leaves at one position: ${where(path)}`).toBe(false);
      leafOffsets.add(vOff);
      const end = leafTokenEnd(text, vOff, value as Leaf);
      expect(end, `value token at value(${where(path)}) re-parses to ${String(value)}`).toBeGreaterThan(vOff);
    }
    return vOff;
  };
  walk(data, []);
  return leaves;
}

// --- data generation -------------------------------------------------------

/** A date/time leaf for the hand-written emitter, kept as the literal to write. */
class DateLit {
  constructor(readonly text: string) {}
}

const DATE_LITERALS = [
  '1979-05-27T07:32:00Z',
  '1979-05-27 07:32:00.999-07:00',
  '1979-05-27t07:32:00z',
  '1979-05-27',
  '07:32:00',
  '00:32:00.5',
  '1979-05-27T00:32:00',
  '2000-02-29 23:59:59.123456+05:30',
];

const SPECIAL_CHARS = [
  'a', 'Z', '0', '9', '_', '-', '.', ' ', '"', "'", '\\', '#', '[', ']', '{', '}', '=', ',', '\t', '\n', '\r',
  '\u0000', '\u001f', '\u007f', '\u001b', 'é', 'ß', '中', '😀', '𝄞', '\u00a0', '\u2028', '\ufeff',
];
const charArb = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...SPECIAL_CHARS) },
  { weight: 4, arbitrary: fc.string({ unit: 'binary-ascii', minLength: 1, maxLength: 1 }) },
  {
    weight: 1,
    // no lone surrogates: they are not representable in TOML
    arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }).filter((c) => !/^[\uD800-\uDFFF]$/.test(c)),
  },
);
/** Quote runs are what string scanners get wrong: make them common, also at the end. */
const QUOTE_RUNS = ['"', '""', '"""', "'", "''", "'''", '\\', '\\"', '#', ']', '}'];
const stringArb = fc.oneof(
  { weight: 3, arbitrary: fc.string({ unit: charArb, maxLength: 14 }) },
  {
    weight: 2,
    arbitrary: fc
      .array(fc.oneof(fc.constantFrom(...QUOTE_RUNS), fc.string({ unit: charArb, maxLength: 3 })), { maxLength: 5 })
      .map((parts) => parts.join('')),
  },
);
const keyArb = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      'a', 'b', 'c', 'name', 'x_y', 'gtk-theme', '0', '1', '42', 'true', 'inf', 'nan', 'with space', 'dot.ted',
      'a.b.c', 'quo"te', "apo'strophe", 'back\\slash', 'é', '中文', '😀', '', '[x]', '#h', '=', 'tab\there',
      'nl\nline', '\u0000ctl', '\u007f', '__proto__', 'constructor', '-', '_',
    ),
  },
  { weight: 2, arbitrary: fc.string({ unit: charArb, maxLength: 6 }) },
);
const numberArb = fc.oneof(
  fc.integer(),
  fc.maxSafeInteger(),
  fc.integer({ min: -1000, max: 1000 }),
  fc.double(),
  fc.constantFrom(0.5, -0, 1e21, 1e-7, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY),
);
const scalarArb = fc.oneof(
  { weight: 3, arbitrary: stringArb },
  { weight: 2, arbitrary: numberArb },
  { weight: 1, arbitrary: fc.boolean() },
  { weight: 1, arbitrary: fc.constantFrom(...DATE_LITERALS).map((t) => new DateLit(t)) },
);

const { table: tableArb } = fc.letrec<{ value: unknown; array: unknown[]; aot: unknown[]; table: Record<string, unknown> }>(
  (tie) => ({
    value: fc.oneof(
      { depthSize: 'small', maxDepth: 4, depthIdentifier: 'tree' },
      { weight: 5, arbitrary: scalarArb },
      { weight: 1, arbitrary: tie('array') },
      { weight: 1, arbitrary: tie('aot') },
      { weight: 2, arbitrary: tie('table') },
    ),
    array: fc.array(tie('value'), { maxLength: 4, depthIdentifier: 'tree' }),
    aot: fc.array(tie('table'), { minLength: 1, maxLength: 3, depthIdentifier: 'tree' }),
    table: fc.dictionary(keyArb, tie('value'), { maxKeys: 5, depthIdentifier: 'tree' }),
  }),
);

/** Replaces DateLit leaves by the TomlDate smol-toml would produce, for `stringify`. */
function toTomlData(v: unknown): unknown {
  if (v instanceof DateLit) return (parse(`x = ${v.text}`) as Record<string, unknown>).x;
  if (Array.isArray(v)) return v.map(toTomlData);
  if (isTable(v)) {
    const out: Record<string, unknown> = Object.create(null);
    for (const k of Object.keys(v)) Object.defineProperty(out, k, { value: toTomlData(v[k]), enumerable: true, writable: true, configurable: true });
    return out;
  }
  return v;
}

/** Deep equality between parsed TOML and generated data (dates compared by value). */
function sameData(parsed: unknown, data: unknown): boolean {
  if (data instanceof DateLit) {
    return parsed instanceof TomlDate && sameLeaf(parsed, (parse(`x = ${data.text}`) as Record<string, unknown>).x);
  }
  if (Array.isArray(data)) {
    return Array.isArray(parsed) && parsed.length === data.length && data.every((d, i) => sameData(parsed[i], d));
  }
  if (isTable(data)) {
    if (!isTable(parsed)) return false;
    const a = Object.keys(parsed).sort();
    const b = Object.keys(data).sort();
    return a.length === b.length && a.every((k, i) => k === b[i] && sameData(parsed[k], data[k]));
  }
  return sameLeaf(parsed, data);
}

// --- a hand-written TOML emitter with random (but valid) style ---------------

function isControl(cp: number): boolean {
  return (cp < 0x20 && cp !== 0x09) || cp === 0x7f;
}

class Emitter {
  readonly nl: string;
  private readonly lines: string[] = [];

  constructor(private readonly rnd: () => number) {
    this.nl = rnd() < 0.3 ? '\r\n' : '\n';
  }

  private pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.rnd() * xs.length)]!;
  }

  private sp(): string {
    return this.pick(['', ' ', ' ', ' ', '  ', '\t', ' \t ']);
  }

  private comment(): string {
    if (this.rnd() > 0.25) return '';
    return `${this.pick(['', ' ', '\t'])}#${this.pick([' x = 1', ' [fake.table]', ' "quoted', " '''", ' é 😀 中', ' ]', ' }', ',', ''])}`;
  }

  private filler(): void {
    const r = this.rnd();
    if (r < 0.1) this.lines.push(this.sp());
    else if (r < 0.2) this.lines.push(`${this.sp()}${this.comment() || '# note'}`);
  }

  private hex(cp: number): string {
    return cp > 0xffff
      ? `\\U${cp.toString(16).padStart(8, '0')}`
      : `\\u${cp.toString(16).padStart(4, '0')}`.replace(/[a-f]/g, (c) => (this.rnd() < 0.5 ? c.toUpperCase() : c));
  }

  /** Escapes one code point for a basic ("...") or multi-line basic string body. */
  private escapeChar(ch: string, multiline: boolean): string {
    const cp = ch.codePointAt(0)!;
    switch (ch) {
      case '"':
        return '\\"';
      case '\\':
        return '\\\\';
      case '\n':
        return multiline && this.rnd() < 0.7 ? '\n' : '\\n';
      case '\t':
        return this.rnd() < 0.5 ? '\t' : '\\t';
      case '\b':
        return '\\b';
      case '\f':
        return '\\f';
      case '\r':
        return '\\r';
    }
    // TOML 1.0: no `\e`, no `\x` escapes (toml-positions decodes only 1.0's).
    if (isControl(cp)) return this.hex(cp);
    if (cp > 0x7f && this.rnd() < 0.3) return this.hex(cp);
    if (/[a-z]/i.test(ch) && this.rnd() < 0.05) return this.hex(cp);
    return ch;
  }

  private basic(s: string): string {
    let out = '"';
    for (const ch of s) out += this.escapeChar(ch, false);
    return out + '"';
  }

  private static canLiteral(s: string): boolean {
    for (const ch of s) if (ch === "'" || isControl(ch.codePointAt(0)!)) return false;
    return true;
  }

  private static canMultilineLiteral(s: string): boolean {
    if (s.includes("'''")) return false;
    for (const ch of s) if (ch !== '\n' && isControl(ch.codePointAt(0)!)) return false;
    return true;
  }

  private multilineBasic(s: string): string {
    let out = '"""';
    if (s.startsWith('\n') || this.rnd() < 0.5) out += this.nl; // trimmed by the parser
    let rawQuotes = 0;
    let first = true;
    for (const ch of s) {
      let chunk: string;
      if (ch === '"' && rawQuotes < 2 && this.rnd() < 0.75) {
        chunk = '"';
        rawQuotes++;
      } else {
        chunk = this.escapeChar(ch, true);
        rawQuotes = 0;
      }
      // Line-ending backslash: trims all whitespace up to the next non-whitespace. Not before a
      // raw quote: smol-toml 1.9.1 drops the extra quotes of `"""x\⏎""""` (a parser bug that has
      // nothing to do with positions).
      if (!first && !/^[ \t\n"]/.test(chunk) && this.rnd() < 0.1) {
        out += `\\${this.sp()}${this.nl}${this.rnd() < 0.3 ? this.sp() + this.nl : ''}${this.sp()}`;
      }
      out += chunk;
      first = false;
    }
    return out + '"""';
  }

  private str(s: string): string {
    const options: string[] = ['basic', 'ml-basic'];
    if (Emitter.canLiteral(s)) options.push('literal');
    if (Emitter.canMultilineLiteral(s)) options.push('ml-literal');
    // quotes inside multi-line strings are the hard part: prefer those forms then
    if (s.includes('"')) options.push('ml-basic', 'ml-basic');
    if (s.includes("'") && Emitter.canMultilineLiteral(s)) options.push('ml-literal', 'ml-literal');
    switch (this.pick(options)) {
      case 'literal':
        return `'${s}'`;
      case 'ml-literal':
        return `'''${s.startsWith('\n') || this.rnd() < 0.5 ? this.nl : ''}${s}'''`;
      case 'ml-basic':
        return this.multilineBasic(s);
      default:
        return this.basic(s);
    }
  }

  private underscores(digits: string): string {
    let out = digits[0]!;
    for (let i = 1; i < digits.length; i++) out += (this.rnd() < 0.2 ? '_' : '') + digits[i];
    return out;
  }

  private num(v: number): string {
    if (Number.isNaN(v)) return this.pick(['nan', '+nan', '-nan']);
    if (v === Infinity) return this.pick(['inf', '+inf']);
    if (v === -Infinity) return '-inf';
    if (Object.is(v, -0)) return this.pick(['-0.0', '-0e0']);
    if (Number.isSafeInteger(v)) {
      const r = this.rnd();
      if (v >= 0 && r < 0.1) return '0x' + this.underscores(v.toString(16));
      if (v >= 0 && r < 0.15) return '0o' + this.underscores(v.toString(8));
      if (v >= 0 && r < 0.2) return '0b' + this.underscores(v.toString(2));
      const sign = v < 0 ? '-' : this.rnd() < 0.2 ? '+' : '';
      return sign + this.underscores(String(Math.abs(v)));
    }
    if (Number.isInteger(v)) return v.toExponential();
    return String(v);
  }

  value(v: unknown): string {
    if (Array.isArray(v)) return this.array(v);
    if (isTable(v)) return this.inlineTable(v);
    if (v instanceof DateLit) return v.text;
    if (typeof v === 'string') return this.str(v);
    if (typeof v === 'number') return this.num(v);
    if (typeof v === 'boolean') return String(v);
    throw new Error(`cannot emit ${String(v)}`);
  }

  private array(arr: unknown[]): string {
    if (arr.length === 0) return this.pick(['[]', '[ ]', `[${this.nl}]`, `[ # empty${this.nl}]`]);
    const multi = this.rnd() < 0.4;
    const trailing = this.rnd() < 0.3;
    let out = '[';
    arr.forEach((el, i) => {
      if (multi) {
        if (this.rnd() < 0.2) out += `${this.nl}  # full line ] comment [ "`;
        out += this.nl + this.sp();
      } else out += this.sp();
      out += this.value(el) + this.sp();
      if (i < arr.length - 1 || trailing) out += ',';
      if (multi && this.rnd() < 0.3) out += `${this.sp()}# c ], " {`;
    });
    return out + (multi ? this.nl + this.sp() : this.sp()) + ']';
  }

  private keySeg(k: string): string {
    const r = this.rnd();
    if (/^[A-Za-z0-9_-]+$/.test(k) && r < 0.7) return k;
    if (Emitter.canLiteral(k) && r < 0.85) return `'${k}'`;
    return this.basic(k);
  }

  private dottedKey(segs: readonly string[]): string {
    return segs.map((s) => this.keySeg(s)).join(`${this.sp()}.${this.sp()}`);
  }

  /** Flattens a table into dotted `[segs, value]` pairs (randomly keeping sub-tables whole). */
  private flatten(prefix: string[], t: Record<string, unknown>): [string[], unknown][] {
    const out: [string[], unknown][] = [];
    for (const k of Object.keys(t)) {
      const v = t[k];
      if (isTable(v) && Object.keys(v).length > 0 && this.rnd() < 0.5) out.push(...this.flatten([...prefix, k], v));
      else out.push([[...prefix, k], v]);
    }
    return out;
  }

  private inlineTable(t: Record<string, unknown>): string {
    const entries: [string[], unknown][] = [];
    for (const k of Object.keys(t)) {
      const v = t[k];
      if (isTable(v) && Object.keys(v).length > 0 && this.rnd() < 0.4) entries.push(...this.flatten([k], v));
      else entries.push([[k], v]);
    }
    if (entries.length === 0) return this.pick(['{}', '{ }']);
    // smol-toml accepts TOML 1.1 inline tables (newlines, comments, trailing comma)
    const loose = this.rnd() < 0.15;
    const parts = entries.map(([segs, v]) => `${this.dottedKey(segs)}${this.sp()}=${this.sp()}${this.value(v)}`);
    if (loose) return `{${this.nl}  ${parts.join(`,${this.comment()}${this.nl}  `)},${this.comment()}${this.nl}}`;
    return `{${this.sp()}${parts.join(`${this.sp()},${this.sp()}`)}${this.sp()}}`;
  }

  private static isAot(v: unknown): v is Record<string, unknown>[] {
    return Array.isArray(v) && v.length > 0 && v.every(isTable);
  }

  private keyval(segs: string[], v: unknown): void {
    this.filler();
    this.lines.push(`${this.sp()}${this.dottedKey(segs)}${this.sp()}=${this.sp()}${this.value(v)}${this.sp()}${this.comment()}`);
  }

  /** Emits the body of a table: key/values first, then sub-table sections. */
  body(t: Record<string, unknown>, path: string[], onlyHeaders: boolean): void {
    const sections: [string, unknown, 'header' | 'aot'][] = [];
    for (const k of Object.keys(t)) {
      const v = t[k];
      if (isTable(v)) {
        const style = onlyHeaders ? 'header' : this.pick(['header', 'header', 'dotted', 'inline'] as const);
        if (style === 'header') sections.push([k, v, 'header']);
        else if (style === 'dotted' && Object.keys(v).length > 0) for (const [segs, x] of this.flatten([k], v)) this.keyval(segs, x);
        else this.keyval([k], v);
      } else if (Emitter.isAot(v) && (onlyHeaders || this.rnd() < 0.6)) {
        sections.push([k, v, 'aot']);
      } else {
        if (onlyHeaders) throw new Error('emitter bug: key/value in an implicit table');
        this.keyval([k], v);
      }
    }
    for (const [k, v, style] of sections) {
      const sub = [...path, k];
      if (style === 'aot') {
        for (const el of v as Record<string, unknown>[]) {
          this.filler();
          this.lines.push(`${this.sp()}[[${this.sp()}${this.dottedKey(sub)}${this.sp()}]]${this.sp()}${this.comment()}`);
          this.body(el, sub, false);
        }
        continue;
      }
      const table = v as Record<string, unknown>;
      const keys = Object.keys(table);
      const canBeImplicit = keys.length > 0 && keys.every((x) => isTable(table[x]) || Emitter.isAot(table[x]));
      if (canBeImplicit && this.rnd() < 0.4) {
        this.body(table, sub, true);
      } else {
        this.filler();
        this.lines.push(`${this.sp()}[${this.sp()}${this.dottedKey(sub)}${this.sp()}]${this.sp()}${this.comment()}`);
        this.body(table, sub, false);
      }
    }
  }

  document(t: Record<string, unknown>): string {
    this.body(t, [], false);
    const bom = this.rnd() < 0.15 ? '\uFEFF' : '';
    return bom + this.lines.join(this.nl) + (this.rnd() < 0.8 ? this.nl : '');
  }
}

describe('property: every leaf is located at text that re-parses to it', () => {
  it('on documents written by smol-toml stringify', () => {
    let total = 0;
    fc.assert(
      fc.property(tableArb, (data) => {
        const text = stringify(toTomlData(data));
        const parsed = parse(text) as Record<string, unknown>;
        total += checkDocument(text, parsed);
      }),
      { numRuns: 150 },
    );
    expect(total).toBeGreaterThan(300);
  });

  it('on hand-written documents with odd spacing, comments, quoting, CRLF and BOMs', () => {
    let total = 0;
    let crlf = 0;
    let multiline = 0;
    fc.assert(
      fc.property(tableArb, fc.integer(), (data, seed) => {
        const text = new Emitter(mulberry32(seed)).document(data);
        let parsed: Record<string, unknown>;
        try {
          parsed = parse(text) as Record<string, unknown>;
        } catch (e) {
          throw new Error(`emitter produced invalid TOML:\n${text}\n${String(e)}`);
        }
        expect(sameData(parsed, data), `emitter round trip:\n${text}`).toBe(true);
        if (text.includes('\r\n')) crlf++;
        if (text.includes('"""') || text.includes("'''")) multiline++;
        total += checkDocument(text, parsed);
      }),
      { numRuns: 400 },
    );
    expect(total).toBeGreaterThan(500);
    expect(crlf).toBeGreaterThan(10);
    expect(multiline).toBeGreaterThan(10);
  });

  it('catches a locator that is off by one (the checks can fail)', () => {
    const text = 'a = "x"\nb = [1, 2]\n';
    const data = parse(text) as Record<string, unknown>;
    expect(checkDocument(text, data)).toBe(3);
    // Same data, different text: the positions no longer match.
    expect(() => checkDocument('a = "x"\nb = [1, 2]\n', { a: 'x', b: [2, 1] })).toThrow();
    expect(() => checkDocument('a = "x"\nb = [1, 2]\n', { a: 'y', b: [1, 2] })).toThrow();
  });
});

// ---------------------------------------------------------------------------

function bigManifest(blocks: number): Record<string, unknown> {
  const snap: Record<string, unknown>[] = [];
  for (let i = 0; i < blocks; i++) {
    snap.push({
      name: `app-${i}`,
      channel: 'latest/stable',
      classic: i % 2 === 0,
      plugs: ['home', 'network', { name: 'x', y: [1, 2, 3] }],
      notes: `multi\nline "${i}"`,
      meta: { 'quoted.key': 'literal', size: i * 1024, when: 1.5 },
    });
  }
  return { snapshot: { version: 1, hostname: 'host' }, apps: { snap } };
}

describe('performance', () => {
  it('locates a 3,000-line manifest quickly (linear scan)', () => {
    let text = '';
    let i = 0;
    while (text.split('\n').length < 3000) {
      text += [
        '[[apps.snap]]',
        `name = "app-${i}"   # comment`,
        "channel = 'latest/stable'",
        `classic = ${i % 2 === 0}`,
        'plugs = ["home", "network", { name = "x", y = [1, 2, 3] }]',
        'notes = """',
        `multi "line" ${i}`,
        '"""',
        '[apps.snap.meta]',
        '"quoted.key" = \'literal\'',
        `size = ${i * 1024}`,
        '',
      ].join('\n');
      i++;
    }
    parse(text);
    const t0 = performance.now();
    const loc = locate(text);
    for (let j = 0; j < i; j++) loc.value(['apps', 'snap', j, 'meta', 'size']);
    const ms = performance.now() - t0;
    console.log(`locate + ${i} lookups on ${text.split('\n').length} lines: ${ms.toFixed(1)} ms`);
    expect(loc.value(['apps', 'snap', i - 1, 'meta', 'size'])).toEqual({
      line: 11 * (i - 1) + 11,
      column: 8,
    });
    // A sanity bound far above the target; a quadratic scan would blow through it.
    expect(ms).toBeLessThan(1000);
  });

  it('stays linear on one huge line, also with code point columns', () => {
    const n = 50_000;
    const text = 'a = [' + Array.from({ length: n }, (_, k) => `"😀${k}"`).join(', ') + ']\n';
    const t0 = performance.now();
    const loc = locate(text, { columns: 'codepoint' });
    let last: Pos | undefined;
    for (let k = 0; k < n; k++) last = loc.value(['a', k]);
    const ms = performance.now() - t0;
    console.log(`${n} elements on one line: ${ms.toFixed(1)} ms`);
    const lastOffset = text.lastIndexOf('"😀');
    expect(last).toEqual({ line: 1, column: lastOffset + 1 - (n - 1) });
    expect(ms).toBeLessThan(2000);
  });
});
