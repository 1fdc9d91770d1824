import { describe, expect, it } from 'vitest';
import { Readable } from 'node:stream';
import { readTar } from '../../src/chroot-appliers/tar-reader.ts';
import { TarFormatError } from '../../src/chroot-appliers/tar-errors.ts';
import { buildTar, header, paxData, type RawEntry } from './tar-builder.ts';
import { DataPlacer } from '../../src/chroot-appliers/tar-sparse.ts';

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

  it('rejects a bad checksum and truncation; accepts a missing end marker (as GNU tar, Go, libarchive)', async () => {
    const good = buildTar([{ name: 'a', data: 'x' }]);
    const bad = Buffer.from(good);
    bad[0] = 0x62;
    await expect(entries(bad)).rejects.toMatchObject({ reason: 'checksum' });
    await expect(entries(good.subarray(0, 600))).rejects.toMatchObject({ reason: 'truncated' });
    await expect(entries(good.subarray(0, 700))).rejects.toBeInstanceOf(TarFormatError);
    expect(await entries(good.subarray(0, 1024))).toMatchObject([{ name: 'a', data: 'x' }]);
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

/** Each entry's header, and its file content as the extractor would write it (holes as zeros). */
async function files(tar: Buffer, chunk = 100) {
  async function* src() {
    for (let i = 0; i < tar.length; i += chunk) yield tar.subarray(i, i + chunk);
  }
  const out: Array<{ path: Buffer; name: string; type: string; size: number; mtime: number; linkpath: Buffer; content: Buffer; regions?: unknown }> = [];
  for await (const e of readTar(src())) {
    const h = e.header;
    const content = Buffer.alloc(h.type === 'file' ? h.size : 0);
    const placer = new DataPlacer(h.sparse);
    for await (const chunk of e.body()) for (const [piece, pos] of placer.place(chunk)) piece.copy(content, pos);
    out.push({ path: h.path, name: h.name, type: h.type, size: h.size, mtime: h.mtime, linkpath: h.linkpath, content, ...(h.sparse ? { regions: h.sparse } : {}) });
  }
  return out;
}

const octal12 = (n: number) => Buffer.from(n.toString(8).padStart(11, '0') + '\0');
/** An old GNU sparse map entry (offset, length). */
const sparseEntry = (offset: number, length: number) => Buffer.concat([octal12(offset), octal12(length)]);
/** An old GNU sparse extension block holding these entries (not extended further). */
const extension = (...entries: Buffer[]) => {
  const b = Buffer.alloc(512);
  Buffer.concat(entries).copy(b, 0);
  return b;
};

describe('readTar: names are bytes', () => {
  it('keeps Latin-1, KOI8-R and EUC-JP names (ustar field, GNU long name, pax path) as bytes', async () => {
    const latin1 = Buffer.from('caf\xe9.txt', 'latin1');
    const koi8 = Buffer.from([0xf0, 0xd2, 0xc9, 0xd7, 0xc5, 0xd4]); // "Привет" in KOI8-R
    const eucjp = Buffer.concat([Buffer.from('d/'.repeat(60)), Buffer.from([0xc6, 0xfc, 0xcb, 0xdc])]); // "日本", after a 120-byte prefix
    const tar = buildTar([
      { name: latin1, data: 'latin1\n' },
      { name: '././@LongLink', type: 'L', data: Buffer.concat([eucjp, Buffer.from([0])]) },
      { name: 'short', data: 'eucjp\n' },
      { name: 'PaxHeaders/k', type: 'x', data: paxData([['hdrcharset', 'BINARY'], ['path', koi8]]) },
      { name: 'k', data: 'koi8\n' },
      { name: 'lnk', type: '2', linkname: latin1 },
    ]);
    const fs = await files(tar);
    expect(fs.map((f) => f.path)).toEqual([latin1, eucjp, koi8, Buffer.from('lnk')]);
    expect(fs[3]!.linkpath).toEqual(latin1);
    expect(fs[0]!.name).toBe('caf\uFFFD.txt'); // for messages only
  });

  it('takes the pax path over a long UTF-8 name cut mid-character in the 100-byte field (tar --format=posix)', async () => {
    const long = 'dir/' + 'é'.repeat(60) + '.txt'; // 126 bytes: byte 100 falls inside an "é"
    const cut = Buffer.from(long).subarray(0, 99);
    const tar = buildTar([
      { name: 'PaxHeaders/x', type: 'x', data: paxData({ path: long }) },
      { name: cut, data: 'x' },
      { name: '././@LongLink', type: 'L', data: long + '\0' },
      { name: cut, data: 'y' },
    ]);
    expect((await files(tar)).map((f) => f.name)).toEqual([long, long]);
  });

  it('ends a pax path at a NUL, as GNU tar does', async () => {
    const tar = buildTar([
      { name: 'PaxHeaders/x', type: 'x', data: paxData([['path', Buffer.from('real-name\0garbage')]]) },
      { name: 'header-name', data: 'x' },
    ]);
    expect((await files(tar))[0]!.name).toBe('real-name');
  });
});

describe('readTar: what GNU tar, Go and libarchive read', () => {
  it('pre-1970 mtimes: GNU base-256 and pax', async () => {
    const minus = Buffer.alloc(12, 0xff);
    minus.writeBigInt64BE(-315619200n, 4); // 1960-01-01, base-256 two's complement
    const tar = buildTar([
      { name: 'gnu', data: 'a', patch: [[136, minus]] },
      { name: 'PaxHeaders/p', type: 'x', data: paxData({ mtime: '-2146608000.5' }) },
      { name: 'pax', data: 'b' },
    ]);
    expect((await files(tar)).map((f) => f.mtime)).toEqual([-315619200, -2146608000.5]);
  });

  it('pax mtime: the leading number, as GNU tar reads it; none at all is refused', async () => {
    const mt = async (v: string) => (await files(buildTar([{ name: 'PaxHeaders/p', type: 'x', data: paxData({ mtime: v }) }, { name: 'f' }])))[0]!.mtime;
    expect(await mt('1748089464.951928467a')).toBeCloseTo(1748089464.951928467, 6);
    await expect(mt('abc')).rejects.toMatchObject({ reason: 'bad-pax' });
  });

  it('skips pax values it does not act on, whatever their size (binary xattrs, 2 MiB records); bounds those it does', async () => {
    const big = Buffer.alloc(2 * 1024 * 1024, 0x41);
    const tar = buildTar([
      { name: 'PaxHeaders/x', type: 'x', data: paxData([['SCHILY.xattr.user.bin', Buffer.from([0xff, 0x00, 0xfe, 0x0a])], ['comment', big], ['path', 'the-name']]) },
      { name: 'f', data: 'data' },
    ]);
    expect(await files(tar)).toMatchObject([{ name: 'the-name', content: Buffer.from('data') }]);
    const tooBig = buildTar([{ name: 'PaxHeaders/x', type: 'x', data: paxData([['path', big]]) }, { name: 'f' }]);
    await expect(files(tooBig)).rejects.toMatchObject({ reason: 'too-large' });
  });

  it('refuses malformed pax records (no newline, no "=", NUL in a key, a length past the header)', async () => {
    for (const rec of ['4 x=', '6 abc\n', '9 a\0b=c\n', '99 path=x\n']) {
      await expect(files(buildTar([{ name: 'PaxHeaders/x', type: 'x', data: Buffer.from(rec) }, { name: 'f' }])), rec).rejects.toMatchObject({ reason: 'bad-pax' });
    }
  });

  it('a second pax header before an entry replaces the first; an empty global value deletes the key (POSIX)', async () => {
    const tar = buildTar([
      { name: 'PaxHeaders/1', type: 'x', data: paxData({ path: 'first' }) },
      { name: 'PaxHeaders/2', type: 'x', data: paxData({ linkpath: 'target' }) },
      { name: 'bar', type: '2', linkname: 'x' },
      { name: 'GlobalHead', type: 'g', data: paxData({ path: 'global1', mtime: '1500000000' }) },
      { name: 'file1' },
      { name: 'GlobalHead', type: 'g', data: paxData({ path: '' }) },
      { name: 'file3' },
    ]);
    expect((await files(tar)).map((f) => [f.name, f.linkpath.toString(), f.mtime])).toEqual([
      ['bar', 'target', 1_700_000_000],
      ['global1', '', 1500000000],
      ['file3', '', 1500000000],
    ]);
  });

  it("GNU dumpdirs ('D') are directories; volume labels ('V') and Solaris ACLs ('A') are skipped", async () => {
    const tar = buildTar([
      { name: 'label', type: 'V' },
      { name: 'dir/', type: 'D', data: 'Yfoo\0Ybar\0\0' },
      { name: 'f', type: 'A', data: 'user::rw-\0' },
      { name: 'f', data: 'content' },
    ]);
    expect((await files(tar)).map((f) => [f.name, f.type, f.content.toString()])).toEqual([
      ['dir/', 'directory', ''],
      ['f', 'file', 'content'],
    ]);
  });
});

describe('readTar: sparse files', () => {
  // The same file each time: 10 bytes "0123456789" at 1000, 4 bytes "abcd" at 5000, 6000 bytes in all.
  const expected = Buffer.alloc(6000);
  expected.write('0123456789', 1000);
  expected.write('abcd', 5000);
  const stored = '0123456789abcd';

  it.each<[string, RawEntry[]]>([
    ["old GNU 'S', the map in the header", [{ name: 's', type: 'S', data: stored, patch: [[386, sparseEntry(1000, 10)], [410, sparseEntry(5000, 4)], [483, octal12(6000)]] }]],
    [
      "old GNU 'S' with an extension block",
      // The size field counts the data only, not the extension block before it.
      [{ name: 's', type: 'S', data: Buffer.concat([extension(sparseEntry(5000, 4)), Buffer.from(stored)]), patch: [[124, octal12(14)], [386, sparseEntry(1000, 10)], [482, Buffer.from([1])], [483, octal12(6000)]] }],
    ],
    ['pax 0.0', [{ name: 'PaxHeaders/s', type: 'x', data: paxData([['GNU.sparse.size', '6000'], ['GNU.sparse.numblocks', '2'], ['GNU.sparse.offset', '1000'], ['GNU.sparse.numbytes', '10'], ['GNU.sparse.offset', '5000'], ['GNU.sparse.numbytes', '4']]) }, { name: 's', data: stored }]],
    ['pax 0.1', [{ name: 'PaxHeaders/s', type: 'x', data: paxData({ 'GNU.sparse.size': '6000', 'GNU.sparse.numblocks': '2', 'GNU.sparse.name': 's', 'GNU.sparse.map': '1000,10,5000,4' }) }, { name: 'GNUSparseFile.1/s', data: stored }]],
    [
      'pax 1.0',
      [
        { name: 'PaxHeaders/s', type: 'x', data: paxData({ 'GNU.sparse.major': '1', 'GNU.sparse.minor': '0', 'GNU.sparse.name': 's', 'GNU.sparse.realsize': '6000' }) },
        { name: 'GNUSparseFile.1/s', data: Buffer.concat([Buffer.from('2\n1000\n10\n5000\n4\n'.padEnd(512, '\0')), Buffer.from(stored)]) },
      ],
    ],
  ])('%s: the real name, the real size, data at its offsets', async (_t, entries) => {
    const [f] = await files(buildTar([...entries, { name: 'after', data: 'next' }]));
    expect(f).toMatchObject({ name: 's', type: 'file', size: 6000, regions: [{ offset: 1000, length: 10 }, { offset: 5000, length: 4 }] });
    expect(f!.content.equals(expected)).toBe(true);
  });

  it.each<[string, string, string]>([
    ['overlapping regions', '1000,10,1005,4', 'overlaps'],
    ['out of order', '5000,4,1000,10', 'overlaps or is out of order'],
    ['past the real size', '1000,10,5998,4', 'past the real size'],
    ['more data stored than mapped', '1000,10,5000,3', 'regions hold 13 bytes'],
    ['an offset without a length', '1000,10,5000', 'without a length'],
  ])('a map with %s is refused (bad-sparse-map), never written', async (_t, map, message) => {
    const tar = buildTar([{ name: 'PaxHeaders/s', type: 'x', data: paxData({ 'GNU.sparse.size': '6000', 'GNU.sparse.map': map }) }, { name: 's', data: stored }]);
    await expect(files(tar)).rejects.toMatchObject({ reason: 'bad-sparse-map', message: expect.stringContaining(message) });
  });
});

