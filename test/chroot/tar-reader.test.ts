import { describe, expect, it } from 'vitest';
import { Readable } from 'node:stream';
import { readTar, TarFormatError } from '../../src/chroot-appliers/tar-reader.ts';
import { buildTar, header, paxData } from './tar-builder.ts';

async function entries(tar: Buffer, chunk = 7) {
  // Feed in odd-sized chunks so headers and data straddle chunk boundaries.
  async function* src() {
    for (let i = 0; i < tar.length; i += chunk) yield tar.subarray(i, i + chunk);
  }
  const out: Array<{ name: string; type: string; size: number; mode: number; linkname: string; mtime: number; data: string }> = [];
  for await (const e of readTar(src())) {
    let data = '';
    for await (const c of e.body()) data += c.toString('utf8');
    out.push({ name: e.header.name, type: e.header.type, size: e.header.size, mode: e.header.mode, linkname: e.header.linkname, mtime: e.header.mtime, data });
  }
  return out;
}

describe('readTar', () => {
  it('reads ustar, pax (x and g), GNU long names and links, across odd chunk boundaries', async () => {
    const longName = 'dir/' + 'n'.repeat(150) + '/é.txt';
    const tar = buildTar([
      { name: 'pax_global_header', type: 'g', data: paxData({ comment: 'hello' }) },
      { name: 'a.txt', data: 'alpha\n', mode: 0o640 },
      { name: 'PaxHeaders/b', type: 'x', data: paxData({ path: longName, mtime: '1700000000.5' }) },
      { name: 'b-short', data: 'beta\n' },
      { name: '././@LongLink', type: 'L', data: 'gnu/' + 'g'.repeat(120) + '\0' },
      { name: 'gnu-short', data: 'gamma\n' },
      { name: '././@LongLink', type: 'K', data: 'target/' + 't'.repeat(120) + '\0' },
      { name: 'lnk', type: '2', linkname: 'short' },
      { name: 'd/', type: '5', mode: 0o755 },
    ]);
    const es = await entries(tar);
    expect(es.map((e) => [e.name, e.type, e.data])).toEqual([
      ['a.txt', 'file', 'alpha\n'],
      [longName, 'file', 'beta\n'],
      ['gnu/' + 'g'.repeat(120), 'file', 'gamma\n'],
      ['lnk', 'symlink', ''],
      ['d/', 'directory', ''],
    ]);
    expect(es[0]!.mode).toBe(0o640);
    expect(es[1]!.mtime).toBe(1700000000.5);
    expect(es[3]!.linkname).toBe('target/' + 't'.repeat(120));
  });

  it('reads GNU base-256 sizes', async () => {
    const h = header({ name: 'big' }, 3);
    // size field as base-256: 0x80 then big-endian 3
    h.fill(0, 124, 136);
    h[124] = 0x80;
    h[135] = 3;
    h.write('        ', 148, 'latin1');
    let sum = 0;
    for (const c of h) sum += c;
    h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'latin1');
    const tar = Buffer.concat([h, Buffer.from('xyz'), Buffer.alloc(509), Buffer.alloc(1024)]);
    const es = await entries(tar, 100);
    expect(es).toMatchObject([{ name: 'big', size: 3, data: 'xyz' }]);
  });

  it('rejects a bad checksum, truncation and a missing end marker', async () => {
    const good = buildTar([{ name: 'a', data: 'x' }]);
    const bad = Buffer.from(good);
    bad[0] = 0x62;
    await expect(entries(bad)).rejects.toBeInstanceOf(TarFormatError);
    await expect(entries(good.subarray(0, 600))).rejects.toBeInstanceOf(TarFormatError);
    await expect(entries(good.subarray(0, 1024))).rejects.toThrow(/end-of-archive/);
  });

  it('skips unread bodies', async () => {
    const tar = buildTar([
      { name: 'a', data: 'x'.repeat(5000) },
      { name: 'b', data: 'y' },
    ]);
    const names: string[] = [];
    for await (const e of readTar(Readable.from([tar]))) names.push(e.header.name);
    expect(names).toEqual(['a', 'b']);
  });
});
