/**
 * Seeded generator of TOML 1.0 documents for differential tests against
 * another TOML 1.0 parser (Python's tomllib): valid documents that use every
 * part of the grammar (all four string kinds with escapes and edge quotes,
 * every integer base, floats, specials, all four date-time kinds with `T`,
 * `t` and space, arrays over lines with comments and trailing commas,
 * inline tables, dotted and quoted keys, tables, arrays of tables, CRLF),
 * and one-character mutations of them (about 40 % of which stay valid).
 */
import { mulberry32 } from './prng.ts';

class Gen {
  private n = 0;
  constructor(
    private readonly r: () => number,
    private readonly nl: string,
  ) {}

  int(lo: number, hi: number): number {
    return lo + Math.floor(this.r() * (hi - lo + 1));
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.r() * xs.length)]!;
  }
  chance(p: number): boolean {
    return this.r() < p;
  }
  ws(): string {
    return this.pick(['', ' ', '  ', '\t', ' \t']);
  }
  comment(): string {
    return this.chance(0.3) ? `${this.ws()}# ${this.pick(['note', 'é 中 😀', '"quoted" \'x\'', '#', '', 'a = 1', '\t tab'])}` : '';
  }

  /** A fresh key part, so that no generated document redefines anything. */
  part(): string {
    const id = `${this.n++}`;
    switch (this.int(0, 3)) {
      case 0:
        return `k${id}`;
      case 1:
        return `${this.pick(['a-b', 'A_', '_', '-', '1', 'true', 'inf'])}${id}`;
      case 2:
        return `"${this.pick(['with space', 'dot.ted', 'é', '\\u00e9', '\\"q\\"', '', 'tab\\t'])}${id}"`;
      default:
        return `'${this.pick(['lit', "back\\slash", 'dot.ted', '中'])}${id}'`;
    }
  }
  key(maxParts = 3): string {
    const parts = Array.from({ length: this.int(1, maxParts) }, () => this.part());
    return parts.join(this.pick(['.', ' . ', '\t.']));
  }

  basicChars(): string {
    const pool = ['a', 'Z', ' ', '\t', 'é', '中', '😀', "'", '#', '=', '\\\\', '\\"', '\\b', '\\t', '\\n', '\\f', '\\r', '\\u00e9', '\\u0000', '\\U0001F600', '\\U0010ffff', '{', ']'];
    return Array.from({ length: this.int(0, 6) }, () => this.pick(pool)).join('');
  }
  literalChars(): string {
    const pool = ['a', ' ', '\t', '\\', '"', '\\n', 'é', '😀', '#', '\\x41', '\\e'];
    return Array.from({ length: this.int(0, 6) }, () => this.pick(pool)).join('');
  }
  string(): string {
    switch (this.int(0, 3)) {
      case 0:
        return `"${this.basicChars()}"`;
      case 1: {
        const nl = this.nl;
        const bits = [this.chance(0.5) ? nl : '', this.basicChars(), this.pick(['', '"', '""', nl, `\\${nl}    `, `\\  ${nl}${nl}  `, '\\"\\"\\"']), `x${this.basicChars()}`];
        return `"""${bits.join('')}${this.pick(['', '"', '""'])}"""`;
      }
      case 2:
        return `'${this.literalChars()}'`;
      default: {
        const bits = [this.chance(0.5) ? this.nl : '', this.literalChars(), this.pick(['', "'", "''", this.nl, '"""']), `x${this.literalChars()}`];
        return `'''${bits.join('')}${this.pick(['', "'", "''"])}'''`;
      }
    }
  }
  number(): string {
    return this.pick([
      () => `${this.pick(['', '+', '-'])}${this.int(0, 9)}`,
      () => `${this.pick(['', '+', '-'])}${this.int(1, 9)}${this.pick(['', '_'])}${this.int(0, 999)}`,
      () => '9_007_199_254_740_991',
      () => `0x${this.pick(['DEAD_beef', '0', '00_ff', 'a'])}`,
      () => `0o${this.pick(['7', '0_755', '01'])}`,
      () => `0b${this.pick(['1', '0_1_0', '11'])}`,
      () => `${this.pick(['', '+', '-'])}${this.pick(['0', '1', '3_1'])}.${this.pick(['0', '14', '0_1', '000'])}`,
      () => `${this.pick(['', '-'])}${this.pick(['1', '0', '6'])}${this.pick(['e', 'E'])}${this.pick(['', '+', '-'])}${this.pick(['0', '10', '0_1', '06'])}`,
      () => `${this.pick(['1.5', '0.0'])}e${this.pick(['-2', '3'])}`,
      () => `${this.pick(['', '+', '-'])}${this.pick(['inf', 'nan'])}`,
      () => this.pick(['true', 'false']),
    ])();
  }
  date(): string {
    const year = this.pick([1979, 2000, 2024, 1900, 2100, 9999, 1]);
    const month = this.int(1, 12);
    const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
    const days = month === 2 ? (leap ? 29 : 28) : [4, 6, 9, 11].includes(month) ? 30 : 31;
    const day = this.pick([1, days, this.int(1, days)]);
    const p2 = (x: number) => String(x).padStart(2, '0');
    const d = `${String(year).padStart(4, '0')}-${p2(month)}-${p2(day)}`;
    const t = `${p2(this.int(0, 23))}:${p2(this.int(0, 59))}:${p2(this.int(0, 59))}${this.pick(['', '.5', '.123456', '.000'])}`;
    const off = this.pick(['Z', 'z', '+00:00', '-07:30', '+23:59']);
    switch (this.int(0, 3)) {
      case 0:
        return `${d}${this.pick(['T', 't', ' '])}${t}${off}`;
      case 1:
        return `${d}${this.pick(['T', 't', ' '])}${t}`;
      case 2:
        return d;
      default:
        return t;
    }
  }
  value(depth: number): string {
    const k = this.int(0, depth > 3 ? 2 : 5);
    if (k === 0) return this.string();
    if (k === 1) return this.number();
    if (k === 2) return this.date();
    if (k === 3 || k === 4) return this.array(depth + 1);
    return this.inline(depth + 1);
  }
  array(depth: number): string {
    const n = this.int(0, 4);
    const multi = this.chance(0.5);
    const sep = () => (multi ? `${this.comment()}${this.nl}${this.ws()}` : this.ws());
    const items = Array.from({ length: n }, () => this.value(depth));
    if (n === 0) return this.pick(['[]', '[ ]', `[${this.nl}]`, `[ # c${this.nl}]`]);
    return `[${sep()}${items.join(`,${sep()}`)}${this.pick(['', ',', `,${sep()}`])}${sep()}]`;
  }
  inline(depth: number): string {
    const n = this.int(0, 3);
    if (n === 0) return this.pick(['{}', '{ }', '{\t}']);
    const items = Array.from({ length: n }, () => `${this.key(2)}${this.ws()}=${this.ws()}${this.value(depth)}`);
    return `{${this.ws()}${items.join(`${this.ws()},${this.ws()}`)}${this.ws()}}`;
  }
  keyval(): string {
    return `${this.ws()}${this.key()}${this.ws()}=${this.ws()}${this.value(0)}${this.comment()}`;
  }
  document(): string {
    const lines: string[] = [];
    const body = () => {
      for (let i = this.int(0, 4); i > 0; i--) lines.push(this.chance(0.15) ? this.comment() || '# c' : this.keyval());
      if (this.chance(0.2)) lines.push('');
    };
    body();
    for (let t = this.int(0, 3); t > 0; t--) {
      const aot = this.chance(0.3);
      const name = this.key(2);
      const reps = aot ? this.int(1, 3) : 1;
      for (let r = 0; r < reps; r++) {
        lines.push(`${this.ws()}${aot ? '[[' : '['}${this.ws()}${name}${this.ws()}${aot ? ']]' : ']'}${this.comment()}`);
        body();
      }
    }
    return lines.join(this.nl) + (this.chance(0.8) ? this.nl : '');
  }
}

/** `count` valid TOML 1.0 documents, the same for the same seed. */
export function validDocuments(seed: number, count: number): string[] {
  const r = mulberry32(seed);
  return Array.from({ length: count }, () => new Gen(r, r() < 0.2 ? '\r\n' : '\n').document());
}

const INSERTS = ['"', "'", ',', '[', ']', '{', '}', '=', '.', ' ', '#', '\\', '_', '\n', '\r', '\t', 'x', 'e', '0', '9', ':', '-', '+', 'T', 'Z', '\u007f', '\u0000', '\u00a0', 'é'];

/** One-character edits (delete, insert, replace) of `docs`, `perDoc` each. */
export function mutations(seed: number, docs: string[], perDoc: number): string[] {
  const r = mulberry32(seed);
  const out: string[] = [];
  for (const d of docs) {
    if (d.length === 0) continue;
    for (let k = 0; k < perDoc; k++) {
      let at = Math.floor(r() * d.length);
      // Never split a surrogate pair: both sides must see the same Unicode text.
      if (at > 0 && /[\udc00-\udfff]/.test(d[at]!)) at--;
      const width = /[\ud800-\udbff]/.test(d[at]!) ? 2 : 1;
      const ch = INSERTS[Math.floor(r() * INSERTS.length)]!;
      const op = Math.floor(r() * 3);
      out.push(op === 0 ? d.slice(0, at) + d.slice(at + width) : op === 1 ? d.slice(0, at) + ch + d.slice(at) : d.slice(0, at) + ch + d.slice(at + width));
    }
  }
  return out;
}
