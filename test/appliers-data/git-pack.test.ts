/**
 * git-pack.ts against git itself: the .idx it writes is byte for byte the
 * one `git index-pack` writes, for packs whose deltas name their base by
 * offset and by id; objects read back are git's; a damaged pack is refused.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyDelta, crc32Js, indexPack, PackSet } from '../../src/chroot-appliers/git-pack.ts';
import { randomBytes } from 'node:crypto';
import * as zlib from 'node:zlib';
import { RepoFailure } from '../../src/chroot-appliers/repo-failure.ts';
import { g, setGitHome } from '../helpers/git.ts';

let base: string;
let repo: string;
beforeAll(() => {
  base = mkdtempSync(join(tmpdir(), 'git-pack-'));
  setGitHome(base);
  repo = join(base, 'repo');
  mkdirSync(repo);
  g(repo, ['init', '-q', '-b', 'main']);
  // Files that change a little each commit: a pack full of deltas.
  for (let c = 0; c < 6; c++) {
    for (let f = 0; f < 40; f++) writeFileSync(join(repo, `f${f}.txt`), Array.from({ length: 50 + f }, (_, i) => `line ${i} of file ${f}${i === c ? ` changed in ${c}` : ''}\n`).join(''));
    g(repo, ['add', '.']);
    g(repo, ['commit', '-q', '-m', `commit ${c}`]);
  }
});
afterAll(() => rmSync(base, { recursive: true, force: true }));

/** A pack of every object of the repository, from git pack-objects (extra: its options). */
function packOf(name: string, extra: string[]): { pack: string; verify: string } {
  const dir = join(base, name);
  mkdirSync(dir);
  const objs = g(repo, ['rev-list', '--objects', '--all']).split('\n').map((l) => l.split(' ')[0]).join('\n') + '\n';
  const r = spawnSync('git', ['pack-objects', ...extra, join(dir, 'p')], { cwd: repo, input: objs, encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  const pack = join(dir, `p-${r.stdout.trim()}.pack`);
  const verify = spawnSync('git', ['verify-pack', '-v', pack], { encoding: 'utf8' }).stdout;
  // git's own .idx aside; ours is written in its place.
  copyFileSync(pack.replace(/\.pack$/, '.idx'), join(dir, 'git.idx'));
  rmSync(pack.replace(/\.pack$/, '.idx'));
  return { pack, verify };
}

describe('indexPack', () => {
  for (const [what, extra] of [
    ['deltas against an offset (OFS_DELTA)', ['--delta-base-offset']],
    ['deltas against an object id (REF_DELTA)', []],
  ] as const) {
    it(`writes the .idx git writes: ${what}`, () => {
      const { pack, verify } = packOf(what.includes('OFS') ? 'ofs' : 'ref', [...extra]);
      expect(verify).toMatch(/ 1 [0-9a-f]{40}\n/); // some objects are deltas (depth 1)
      const n = indexPack(pack);
      expect(n).toBe(Number(g(repo, ['rev-list', '--objects', '--all']).split('\n').length));
      expect(readFileSync(pack.replace(/\.pack$/, '.idx')).equals(readFileSync(join(pack, '..', 'git.idx')))).toBe(true);
    });
  }

  it('objects read back through the index are the ones git has', () => {
    const { pack } = packOf('read', ['--delta-base-offset']);
    indexPack(pack);
    const gitDir = join(base, 'read-git');
    mkdirSync(join(gitDir, 'objects'), { recursive: true });
    rmSync(join(base, 'read', 'git.idx'));
    spawnSync('mv', [join(base, 'read'), join(gitDir, 'objects', 'pack')]);
    const packs = new PackSet(gitDir);
    for (const line of g(repo, ['rev-list', '--objects', '--all']).split('\n')) {
      const oid = line.split(' ')[0]!;
      const type = g(repo, ['cat-file', '-t', oid]);
      const o = packs.read(oid);
      expect(o.type).toBe(type);
      const want = spawnSync('git', ['cat-file', type, oid], { cwd: repo }).stdout;
      expect(o.data.equals(want), oid).toBe(true);
    }
  });

  it('a damaged pack is refused (its checksum), and a delta that reads outside its base is refused', () => {
    const { pack } = packOf('bad', ['--delta-base-offset']);
    const b = readFileSync(pack);
    b[b.length >> 1]! ^= 0x40;
    writeFileSync(pack, b);
    expect(() => indexPack(pack)).toThrow(RepoFailure);
    expect(() => indexPack(pack)).toThrow(/checksum/);
    // source size 4, target size 8, copy 8 bytes from offset 0 of a 4-byte base
    expect(() => applyDelta(Buffer.from([4, 8, 0x91, 0, 8]), Buffer.from('abcd'))).toThrow(/copy out of bounds/);
    expect(applyDelta(Buffer.from([4, 6, 0x91, 0, 4, 2, 0x21, 0x21]), Buffer.from('abcd')).toString()).toBe('abcd!!');
  });

  it("CRC-32 without node's (the .deb's Node 18): the same as zlib's", () => {
    for (const n of [0, 1, 7, 4096, 100_003]) {
      const b = randomBytes(n);
      expect(crc32Js(b)).toBe((zlib as unknown as { crc32: (b: Buffer) => number }).crc32(b));
    }
  });
});
