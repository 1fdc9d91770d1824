/**
 * toml-test's invalid documents for TOML 1.0 (fixtures/toml-corpus/
 * toml-invalid-1.0.0.tar.xz, from ../shared/peer-corpora; origin and licence
 * in its README): every one is refused at the TOML layer —
 * decoding or readToml, never later — with a ManifestParseError that names
 * the line and column.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ManifestParseError } from '../../src/manifest/index.ts';
import { decodeManifest } from '../../src/manifest/decode.ts';
import { readToml } from '../../src/manifest/toml.ts';
import { extractCorpus, filesBelow } from '../helpers/peer-corpora.ts';

const dir = extractCorpus(new URL('./fixtures/toml-corpus/toml-invalid-1.0.0.tar.xz', import.meta.url).pathname);
const files = filesBelow(dir);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The TOML layer's verdict on a file's bytes: the error, or undefined if it was accepted. */
function refusal(bytes: Uint8Array, name: string): ManifestParseError | undefined {
  try {
    readToml(decodeManifest(bytes, name), name);
    return undefined;
  } catch (e) {
    if (e instanceof ManifestParseError) return e;
    throw e;
  }
}

describe('toml-test invalid 1.0.0 corpus', () => {
  it('holds the 499 documents SOURCES.txt lists', () => {
    expect(files.length).toBe(499);
  });

  it('refuses every document with a ManifestParseError naming line and column', () => {
    const counts = new Map<string, { refused: number; utf8: number; total: number }>();
    const accepted: string[] = [];
    const unplaced: string[] = [];
    for (const f of files) {
      const group = f.split('/').slice(0, 2).join('/');
      const c = counts.get(group) ?? { refused: 0, utf8: 0, total: 0 };
      counts.set(group, c);
      c.total++;
      const e = refusal(readFileSync(join(dir, f)), f);
      if (!e) {
        accepted.push(f);
        continue;
      }
      c.refused++;
      if (e.reason.startsWith('invalid UTF-8')) c.utf8++;
      const p = e.position;
      if (!p || !(p.line >= 1 && p.column >= 1) || e.field !== undefined || !e.message.startsWith(`${f}:${p.line}:${p.column}: `)) unplaced.push(`${f}: ${e.message}`);
    }
    const table = [...counts].map(([g, c]) => `  ${g.padEnd(26)} ${String(c.refused).padStart(3)}/${String(c.total).padEnd(3)}${c.utf8 ? ` (${c.utf8} as invalid UTF-8)` : ''}`);
    const refused = files.length - accepted.length;
    console.log(`toml-test invalid 1.0.0: ${refused} of ${files.length} refused at the TOML layer\n${table.join('\n')}`);
    expect(accepted).toEqual([]);
    expect(unplaced).toEqual([]);
  });
});
