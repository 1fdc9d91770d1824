/**
 * Another TOML 1.0 implementation must give the same answer: Python's
 * tomllib (a TOML 1.0 parser, in python3 ≥ 3.11) judges the same documents
 * as readToml — seeded generated valid documents covering the grammar,
 * one-character mutations of them (about half stay valid), and the TOML 1.1
 * forms the issue names.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readToml } from '../../src/manifest/toml.ts';
import { mutations, validDocuments } from '../helpers/toml-docs.ts';

const TOMLLIB = `import sys, json, tomllib
out = []
for d in json.load(sys.stdin):
    try:
        tomllib.loads(d)
        out.append(None)
    except tomllib.TOMLDecodeError as e:
        out.append(str(e))
print(json.dumps(out))`;

/** tomllib's verdicts: null = accepted, else its error. */
function tomllib(docs: string[]): (string | null)[] {
  const r = spawnSync('python3', ['-c', TOMLLIB], { input: JSON.stringify(docs), encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`python3 tomllib: ${r.stderr}`);
  return JSON.parse(r.stdout) as (string | null)[];
}

function ours(doc: string): string | null {
  try {
    readToml(doc, 'doc.toml');
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}

/** Documents where the two disagree, with both verdicts. */
function disagreements(docs: string[]) {
  const theirs = tomllib(docs);
  return docs.flatMap((doc, i) => ((ours(doc) === null) === (theirs[i] === null) ? [] : [{ doc, ours: ours(doc), tomllib: theirs[i] }]));
}

describe('readToml agrees with tomllib (TOML 1.0)', () => {
  const valid = validDocuments(20260101, 300);

  it('accepts the generated valid documents, as tomllib does', () => {
    expect(tomllib(valid).filter((v) => v !== null)).toEqual([]); // the generator writes TOML 1.0
    expect(valid.map(ours).filter((v) => v !== null)).toEqual([]);
  });

  it('gives the same verdict on 3,000 one-character mutations of them', () => {
    const docs = mutations(20260102, valid, 10);
    const accepted = docs.filter((d) => ours(d) === null).length;
    console.log(`tomllib oracle: ${docs.length} mutations, ${accepted} accepted here, ${docs.length - accepted} refused here; tomllib must agree on each`);
    expect(accepted).toBeGreaterThan(docs.length / 4); // not only broken documents
    expect(accepted).toBeLessThan(docs.length - docs.length / 4);
    expect(disagreements(docs)).toEqual([]);
  });

  it('refuses the TOML 1.1 forms smol-toml accepts, as tomllib does', () => {
    const docs = [
      't = { a = 1, }\n', // trailing comma in an inline table
      't = { a = 1,\n b = 2 }\n', // newline in an inline table
      't = {\n}\n',
      't = { a = 1 # c\n}\n',
      's = "\\x41"\n',
      's = "\\e"\n',
      's = """\\e"""\n',
      'd = 2023-02-30\n',
      'd = 2100-02-29T00:00:00Z\n',
      'd = 2024-04-31 10:00:00\n',
      't = 12:30\n',
      'd = 1979-05-27T07:32Z\n',
      '\ufeff\ufeffa = 1\n', // a second BOM
      'a = 1\n\ufeffb = 2\n',
    ];
    for (const d of docs) expect([d, ours(d)]).not.toEqual([d, null]);
    expect(disagreements(docs)).toEqual([]);
  });

  it('accepts the TOML 1.0 forms around them, as tomllib does', () => {
    const docs = [
      't = { a = 1, b = { c = [1,\n 2,\n] } }\n', // newlines inside an array inside an inline table
      't = { s = """\nx\n""" }\n',
      'a = [\n  1, # one\n  2,\n]\n',
      's = "\\u00e9\\U0001F600\\t"\n',
      "s = '\\x41 \\e'\n", // literal: no escapes
      'd = 2024-02-29\nd2 = 2000-02-29T00:00:00z\nd3 = 1979-05-27 07:32:00.999999-07:00\nt = 00:00:00\n',
      's = """a""""\n',
      "s = '''a'''''\n",
      's = """\\\n   x"""\n',
      'a = 1\r\nb = 2\r\n',
      'a.b . c = 1\n[x . "y" . \'z\']\n',
      '\ufeffa = 1\n',
    ];
    for (const d of docs) expect([d, ours(d)]).toEqual([d, null]);
    expect(disagreements(docs.filter((d) => !d.startsWith('\ufeff')))).toEqual([]); // tomllib takes text without a BOM
  });
});
