import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, statSync, symlinkSync, linkSync, writeFileSync, chmodSync, utimesSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { restoreTarZst, commitStaging, stagingDirFor } from '../../src/chroot-appliers/commit-staging.ts';
import { extractTar, extractTarZst } from '../../src/chroot-appliers/tar-extract.ts';
import { TarFormatError, TarHashMismatchError, UnsafeTarError, type UnsafeTarReason } from '../../src/chroot-appliers/tar-errors.ts';
import { makeEmptyRoot, type TestRoot } from '../helpers/debian-root.ts';
import { buildTar, paxData, zstdCli, type RawEntry } from './tar-builder.ts';
import { rssGrowthDuring } from '../helpers/rss.ts';
import { snapshotForCompare, snapshotTree } from './tree.ts';

const UID = 1000;
const GID = 1000;

function sh(script: string, ...args: string[]) {
  const r = spawnSync('bash', ['-c', `set -eo pipefail\n${script}`, 'bash', ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${script}\n${r.stderr}`);
  return r.stdout;
}

/** A target root with an installer-made home. */
function seedTarget(root: string) {
  mkdirSync(join(root, 'home/alice/docs'), { recursive: true });
  writeFileSync(join(root, 'home/alice/.bashrc'), 'installer bashrc\n');
  writeFileSync(join(root, 'home/alice/same.txt'), 'same content\n');
  writeFileSync(join(root, 'home/alice/docs/keep.txt'), 'not in the archive\n');
  chmodSync(join(root, 'home/alice/docs'), 0o750);
  mkdirSync(join(root, 'etc'));
  writeFileSync(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
}

describe('malicious tars are refused and leave nothing behind', () => {
  let t: TestRoot;
  beforeEach(async () => {
    t = await makeEmptyRoot();
    seedTarget(t.root);
  });
  afterEach(async () => t.dispose());

  const file = (name: string, data = 'x\n', mode = 0o644): RawEntry => ({ name, data, mode });
  const good: RawEntry[] = [
    { name: 'ok/', type: '5', mode: 0o755 },
    file('ok/first.txt', 'written before the bad entry\n'),
  ];
  const cases: Array<[string, RawEntry[], UnsafeTarReason, string]> = [
    ['traversal ../x', [...good, file('../x')], 'dotdot', '../x'],
    ['nested traversal', [...good, file('ok/../../x')], 'dotdot', 'ok/../../x'],
    ['absolute /etc/x', [...good, file('/etc/x')], 'absolute-path', '/etc/x'],
    [
      'symlink to /etc, then a file through it',
      [...good, { name: 'etc', type: '2', linkname: '/etc' }, file('etc/passwd', 'evil::0:0::/:/bin/sh\n')],
      'symlink-escapes',
      'etc',
    ],
    ['relative symlink climbing out', [...good, { name: 'ok/up', type: '2', linkname: '../../../etc' }], 'symlink-escapes', 'ok/up'],
    [
      'file through an in-archive symlink',
      [...good, { name: 'lnk', type: '2', linkname: 'ok' }, file('lnk/x')],
      'through-symlink',
      'lnk/x',
    ],
    [
      'symlink escaping only through another symlink',
      [...good, { name: 'a/', type: '5' }, { name: 'a/b', type: '2', linkname: '..' }, { name: 'x', type: '2', linkname: 'a/b/..' }],
      'symlink-escapes',
      'x',
    ],
    [
      'symlink escaping through a symlink with a Latin-1 name (resolved as bytes)',
      [...good, { name: Buffer.from('d\xe9/', 'latin1'), type: '5' }, { name: Buffer.from('d\xe9/l', 'latin1'), type: '2', linkname: '..' }, { name: 'x', type: '2', linkname: Buffer.from('d\xe9/l/..', 'latin1') }],
      'symlink-escapes',
      'x',
    ],
    ['hardlink escape (relative)', [...good, { name: 'h', type: '1', linkname: '../../etc/passwd' }], 'hardlink-escapes', 'h'],
    ['hardlink escape (absolute)', [...good, { name: 'h', type: '1', linkname: '/etc/passwd' }], 'hardlink-escapes', 'h'],
    ['hardlink to a file not in the archive', [...good, { name: 'h', type: '1', linkname: 'etc/passwd' }], 'hardlink-target-invalid', 'h'],
    [
      'hardlink to an in-archive symlink',
      [...good, { name: 's', type: '2', linkname: 'ok/first.txt' }, { name: 'h', type: '1', linkname: 's' }],
      'hardlink-target-invalid',
      'h',
    ],
    ['char device', [...good, { name: 'ok/null', type: '3', mode: 0o666, devmajor: 1, devminor: 3 }], 'device-node', 'ok/null'],
    ['block device', [...good, { name: 'ok/sda', type: '4', mode: 0o660, devmajor: 8, devminor: 0 }], 'device-node', 'ok/sda'],
    ['fifo', [...good, { name: 'ok/fifo', type: '6', mode: 0o644 }], 'fifo', 'ok/fifo'],
    ['setuid file', [...good, file('ok/suid', '#!/bin/sh\n', 0o4755)], 'setuid-setgid', 'ok/suid'],
    ['setgid directory', [...good, { name: 'ok/sgid/', type: '5', mode: 0o2775 }], 'setuid-setgid', 'ok/sgid/'],
    [
      'pax path that climbs out',
      [...good, { name: 'PaxHeaders/x', type: 'x', data: paxData({ path: '../../etc/cron.d/evil' }) }, file('innocent')],
      'dotdot',
      '../../etc/cron.d/evil',
    ],
    [
      'GNU long name that is absolute',
      [...good, { name: '././@LongLink', type: 'L', data: '/etc/' + 'x'.repeat(120) + '\0' }, file('short')],
      'absolute-path',
      '/etc/' + 'x'.repeat(120),
    ],
    ['multi-volume continuation', [...good, { name: 'ok/part', type: 'M', data: '' }], 'unsupported-type', 'ok/part'],
    [
      'a name component over 255 bytes',
      [...good, { name: '././@LongLink', type: 'L', data: 'ok/' + 'n'.repeat(256) + '\0' }, file('short')],
      'name-too-long',
      'ok/' + 'n'.repeat(256),
    ],
    [
      'a symlink target over 4095 bytes',
      [...good, { name: '././@LongLink', type: 'K', data: 'a/'.repeat(2100) + '\0' }, { name: 'ok/lnk', type: '2', linkname: 'short' }],
      'name-too-long',
      'ok/lnk',
    ],
    [
      'a sparse file larger than the file system takes (1 PiB)',
      [...good, { name: 'PaxHeaders/s', type: 'x', data: paxData({ 'GNU.sparse.size': String(2 ** 50), 'GNU.sparse.map': '0,1' }) }, file('ok/huge', 'x')],
      'file-too-large',
      'ok/huge',
    ],
  ];

  const bothModes = cases.flatMap(([title, entries, reason, entry]) =>
    [true, false].map((w) => [`${title} (zstd ${w ? 'in a worker' : 'in-thread'})`, entries, reason, entry, w] as const),
  );
  it.each(bothModes)('%s', async (_title, entries, reason, entry, zstdInWorker) => {
    const before = snapshotForCompare(t.root);
    const blob = zstdCli(buildTar(entries));
    const err = await restoreTarZst(Readable.from([blob]), {
      targetRoot: t.root,
      dest: '/home/alice',
      key: 'blob1',
      uid: UID,
      gid: GID,
      zstdInWorker,
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(UnsafeTarError);
    expect((err as UnsafeTarError).reason).toBe(reason);
    expect((err as UnsafeTarError).entry).toBe(entry);
    expect(snapshotForCompare(t.root)).toEqual(before);
    expect(readFileSync(join(t.root, 'etc/passwd'), 'utf8')).toBe('root:x:0:0:root:/root:/bin/sh\n');
  });

  it('extractTarZst alone removes its staging dir on refusal', async () => {
    const staging = join(t.root, 'staging-here');
    const blob = zstdCli(buildTar([...good, file('../x')]));
    await expect(extractTarZst(Readable.from([blob]), { stagingDir: staging, uid: UID, gid: GID })).rejects.toBeInstanceOf(
      UnsafeTarError,
    );
    expect(existsSync(staging)).toBe(false);
    expect(existsSync(join(t.root, 'x'))).toBe(false);
  });

  it('a corrupt header (bad checksum) is a TarFormatError and leaves nothing', async () => {
    const before = snapshotForCompare(t.root);
    const tar = buildTar([...good, file('ok/second.txt')]);
    tar[0] = tar[0]! ^ 0x01; // flip a bit in the first header's name: its checksum no longer matches
    const err = await restoreTarZst(Readable.from([zstdCli(tar)]), {
      targetRoot: t.root,
      dest: '/home/alice',
      key: 'k',
      uid: UID,
      gid: GID,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TarFormatError);
    expect(snapshotForCompare(t.root)).toEqual(before);
  });

  it.each([true, false])('a truncated or corrupted zstd stream fails and leaves nothing (worker: %s)', async (zstdInWorker) => {
    const before = snapshotForCompare(t.root);
    const tar = buildTar([...good, file('ok/big.bin', randomBytes(300_000).toString('base64'))]);
    const blob = zstdCli(tar);
    const opts = { targetRoot: t.root, dest: '/home/alice', key: 'k', uid: UID, gid: GID, zstdInWorker };
    const truncated = await restoreTarZst(Readable.from([blob.subarray(0, Math.floor(blob.length / 2))]), opts).catch((e: unknown) => e);
    expect(truncated).toBeInstanceOf(Error);
    expect(snapshotForCompare(t.root)).toEqual(before);
    const corrupt = Buffer.from(blob);
    for (let i = Math.floor(corrupt.length / 3); i < corrupt.length / 3 + 64; i++) corrupt[i] = corrupt[i]! ^ 0x5a;
    const bad = await restoreTarZst(Readable.from([corrupt]), opts).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(Error);
    expect(snapshotForCompare(t.root)).toEqual(before);
  });
});

describe('a good tar.zst made by system tar + zstd', () => {
  let src: string;
  let work: string;
  const formats = ['gnu', 'pax', 'ustar'] as const;
  const longDir = 'deep/' + 'd'.repeat(90) + '/' + 'e'.repeat(60);
  const blobs = new Map<string, string>();

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'koder-tarsrc-'));
    src = join(work, 'src');
    mkdirSync(src);
    const w = (rel: string, data: string | Buffer, mode = 0o644) => {
      mkdirSync(join(src, rel, '..'), { recursive: true });
      writeFileSync(join(src, rel), data);
      chmodSync(join(src, rel), mode);
    };
    w('.bashrc', 'user bashrc: alias ll="ls -l"\n');
    w('same.txt', 'same content\n');
    w('docs/report.txt', randomBytes(100_000).toString('hex'));
    w('docs/big.bin', Buffer.concat([randomBytes(2 * 1024 * 1024), Buffer.alloc(1024 * 1024, 'compressible ')]));
    w('docs/empty', '');
    w('bin/tool.sh', '#!/bin/sh\necho tool\n', 0o755);
    w('private/secret', 'hunter2\n', 0o600);
    chmodSync(join(src, 'private'), 0o700);
    w('ro-dir/inside.txt', 'in a read-only dir\n', 0o444);
    chmodSync(join(src, 'ro-dir'), 0o555);
    mkdirSync(join(src, 'links'));
    symlinkSync('../docs/report.txt', join(src, 'links/rel'));
    symlinkSync('missing-target', join(src, 'links/dangling'));
    linkSync(join(src, 'docs/report.txt'), join(src, 'links/hard'));
    // > 100 bytes: GNU 'L' in gnu format, pax path in pax; prefix+name in ustar.
    w(`${longDir}/fichier-é-ü.txt`, 'non-ASCII and long\n');
    utimesSync(join(src, 'docs/report.txt'), 1_600_000_000, 1_600_000_000);
    utimesSync(join(src, 'docs'), 1_500_000_000, 1_500_000_000);
    for (const f of formats) {
      const out = join(work, `files-${f}.tar.zst`);
      sh('tar -C "$1" --format="$2" -cf - . | zstd -q -3 -c > "$3"', src, f, out);
      blobs.set(f, out);
    }
  });
  afterAll(async () => rm(work, { recursive: true, force: true }));

  let t: TestRoot;
  beforeEach(async () => {
    t = await makeEmptyRoot();
    seedTarget(t.root);
  });
  afterEach(async () => t.dispose());

  const formatsAndModes = formats.flatMap((f) => [true, false].map((w) => [f, w] as const));
  it.each(formatsAndModes)('%s format (zstd in a worker: %s): extracts byte-identical with modes, owner and mtimes; a differing file is kept as .pre-restore', async (f, zstdInWorker) => {
    const blobPath = blobs.get(f)!;
    const tarSha = createHash('sha256')
      .update(spawnSync('zstd', ['-d', '-c', blobPath], { maxBuffer: 1 << 30 }).stdout)
      .digest('hex');
    const blobSha = createHash('sha256').update(readFileSync(blobPath)).digest('hex');
    const sameIno = statSync(join(t.root, 'home/alice/same.txt')).ino;
    const progress: number[] = [];

    const res = await restoreTarZst(createReadStream(blobPath, { highWaterMark: 64 * 1024 }), {
      targetRoot: t.root,
      dest: '/home/alice',
      key: blobSha,
      uid: UID,
      gid: GID,
      expectedSha256OfTar: tarSha,
      expectedSha256OfBlob: blobSha,
      onProgress: (p) => progress.push(p.entries),
      zstdInWorker,
      syncWriteMaxBytes: 64 * 1024, // big.bin and report.txt take the asynchronous write path
    });
    expect(res.sha256).toBe(tarSha);
    expect(res.compressedBytes).toBe(statSync(blobPath).size);
    expect(progress.length).toBeGreaterThan(0);

    const home = join(t.root, 'home/alice');
    const srcTree = snapshotTree(src);
    for (const [rel, e] of srcTree) {
      if (rel === '') continue;
      const p = join(home, rel);
      const st = lstatSync(p);
      if (rel === 'same.txt') {
        // identical content: left as it was (same inode, installer's owner)
        expect(st.ino).toBe(sameIno);
        expect(st.uid).toBe(0);
        continue;
      }
      if (rel === 'docs') {
        // an existing directory is merged into and keeps its own mode
        expect(st.isDirectory()).toBe(true);
        expect(st.mode & 0o7777).toBe(0o750);
        continue;
      }
      expect({ rel, type: st.isDirectory() ? 'dir' : st.isFile() ? 'file' : st.isSymbolicLink() ? 'symlink' : 'other' }).toEqual({
        rel,
        type: e.type,
      });
      expect({ rel, uid: st.uid, gid: st.gid }).toEqual({ rel, uid: UID, gid: GID });
      if (e.type === 'symlink') {
        expect(readlinkSync(p)).toBe(e.link);
        continue;
      }
      expect({ rel, mode: (st.mode & 0o7777).toString(8) }).toEqual({ rel, mode: e.mode.toString(8) });
      expect({ rel, mtime: Math.floor(st.mtimeMs / 1000) }).toEqual({ rel, mtime: e.mtimeSec });
      if (e.type === 'file') {
        expect({ rel, sha: createHash('sha256').update(readFileSync(p)).digest('hex') }).toEqual({ rel, sha: e.sha256 });
      }
    }
    expect(statSync(join(home, 'links/hard')).ino).toBe(statSync(join(home, 'docs/report.txt')).ino);
    expect(readFileSync(join(home, '.bashrc'), 'utf8')).toBe('user bashrc: alias ll="ls -l"\n');
    expect(readFileSync(join(home, '.bashrc.pre-restore'), 'utf8')).toBe('installer bashrc\n');
    expect(readFileSync(join(home, 'docs/keep.txt'), 'utf8')).toBe('not in the archive\n');
    expect(res.commit.preRestored).toEqual(['/home/alice/.bashrc.pre-restore']);
    expect(readdirSync(t.root).sort()).toEqual(['etc', 'home']); // no staging left

    // A second run changes nothing: everything is found identical.
    const before = snapshotTree(t.root);
    const again = await restoreTarZst(createReadStream(blobPath), {
      targetRoot: t.root,
      dest: '/home/alice',
      key: blobSha,
      uid: UID,
      gid: GID,
      expectedSha256OfTar: tarSha,
    });
    expect(again.commit.placed).toBe(0);
    expect(again.commit.preRestored).toEqual([]);
    const after = snapshotTree(t.root);
    for (const [rel, e] of before) {
      if (e.type === 'dir') continue; // dir mtimes move when the staging dir comes and goes
      expect({ rel, ...after.get(rel) }).toEqual({ rel, ...e });
    }
    expect([...after.keys()].sort()).toEqual([...before.keys()].sort());
  });

  it('extractTar takes an uncompressed tar too', async () => {
    const staging = join(t.root, 'st');
    const tarBytes = spawnSync('zstd', ['-d', '-c', blobs.get('pax')!], { maxBuffer: 1 << 30 }).stdout;
    const r = await extractTar(Readable.from([tarBytes]), { stagingDir: staging, uid: UID, gid: GID });
    expect(r.sha256).toBe(createHash('sha256').update(tarBytes).digest('hex'));
    expect(readFileSync(join(staging, 'docs/report.txt'))).toEqual(readFileSync(join(src, 'docs/report.txt')));
    expect(readlinkSync(join(staging, 'links/rel'))).toBe('../docs/report.txt');
  });

  it('an abort mid-way removes everything', async () => {
    const before = snapshotForCompare(t.root);
    const ac = new AbortController();
    const blob = readFileSync(blobs.get('gnu')!);
    async function* slowly() {
      for (let off = 0; off < blob.length; off += 16 * 1024) {
        if (off >= blob.length / 2) ac.abort(new Error('stop')); // half-way through
        yield blob.subarray(off, off + 16 * 1024);
        await new Promise((r) => setTimeout(r, 1));
      }
    }
    const err = await restoreTarZst(slowly(), {
      targetRoot: t.root,
      dest: '/home/alice',
      key: 'k',
      uid: UID,
      gid: GID,
      signal: ac.signal,
    }).catch((e: unknown) => e);
    expect((err as Error).message).toBe('stop');
    expect(snapshotForCompare(t.root)).toEqual(before);
  });

  it('a wrong expected tar sha256 refuses and leaves nothing', async () => {
    const before = snapshotForCompare(t.root);
    const err = await restoreTarZst(createReadStream(blobs.get('pax')!), {
      targetRoot: t.root,
      dest: '/home/alice',
      key: 'k',
      uid: UID,
      gid: GID,
      expectedSha256OfTar: '0'.repeat(64),
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TarHashMismatchError);
    expect((err as TarHashMismatchError).which).toBe('tar');
    expect(snapshotForCompare(t.root)).toEqual(before);
  });

  it('a wrong expected blob sha256 refuses and leaves nothing', async () => {
    const before = snapshotForCompare(t.root);
    const err = await restoreTarZst(createReadStream(blobs.get('gnu')!), {
      targetRoot: t.root,
      dest: '/home/alice',
      key: 'k',
      uid: UID,
      gid: GID,
      expectedSha256OfBlob: 'f'.repeat(64),
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TarHashMismatchError);
    expect((err as TarHashMismatchError).which).toBe('blob');
    expect(snapshotForCompare(t.root)).toEqual(before);
  });

  it('a destination that does not exist yet is created owned by the user; a symlinked dest stays inside the root', async () => {
    // /home/bob -> /srv/bob (absolute: must resolve inside the target, not on the host)
    mkdirSync(join(t.root, 'srv'));
    symlinkSync('/srv/bob', join(t.root, 'home/bob'));
    await restoreTarZst(createReadStream(blobs.get('gnu')!), { targetRoot: t.root, dest: '/home/bob', key: 'k', uid: UID, gid: GID });
    const st = lstatSync(join(t.root, 'srv/bob'));
    expect(st.isDirectory()).toBe(true);
    expect([st.uid, st.gid]).toEqual([UID, GID]);
    expect(readFileSync(join(t.root, 'srv/bob/.bashrc'), 'utf8')).toContain('user bashrc');
    expect(existsSync('/srv/bob')).toBe(false);
  });

  it('commitStaging sets aside a symlink where the archive brings a directory (never writes through it)', async () => {
    const outside = await mkdtemp(join(tmpdir(), 'koder-outside-'));
    try {
      symlinkSync(outside, join(t.root, 'home/alice/private')); // host-absolute link: must not be followed
      const staging = await stagingDirFor(t.root, '/home/alice', 'k');
      await extractTarZst(createReadStream(blobs.get('gnu')!), { stagingDir: staging, uid: UID, gid: GID });
      const r = await commitStaging({ targetRoot: t.root, dest: '/home/alice', stagingDir: staging, uid: UID, gid: GID });
      expect(r.preRestored).toContain('/home/alice/private.pre-restore');
      expect(readdirSync(outside)).toEqual([]);
      expect(lstatSync(join(t.root, 'home/alice/private')).isDirectory()).toBe(true);
      expect(readlinkSync(join(t.root, 'home/alice/private.pre-restore'))).toBe(outside);
    } finally {
      await rm(outside, { recursive: true, force: true });
    }
  });
});

describe("GNU tar's own archives: names as bytes, sparse files, pre-1970 times, long dangling links", () => {
  let work: string;
  let src: string;
  const b = (s: string) => Buffer.from(s, 'latin1');
  const latin1 = b('caf\xe9.txt');
  const eucjp = b('\xc6\xfc\xcb\xdc.txt'); // "日本.txt" in EUC-JP
  const longUtf8 = 'é'.repeat(60) + '.txt'; // 124 bytes: the 100-byte header field cuts an "é" in two
  const MiB = 1024 * 1024;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'koder-gnutar-'));
    src = join(work, 'src');
    mkdirSync(src);
    const at = (name: Buffer | string) => Buffer.concat([Buffer.from(src + '/'), Buffer.from(name)]);
    writeFileSync(at(latin1), 'latin1 name\n');
    writeFileSync(at(eucjp), 'euc-jp name\n');
    mkdirSync(at('deep'));
    writeFileSync(at(`deep/${longUtf8}`), 'long utf-8 name\n');
    writeFileSync(at('old.txt'), 'from 1960\n');
    utimesSync(at('old.txt'), '-315619200', '-315619200');
    // 64 MiB with three small pieces of data, holes elsewhere.
    sh('truncate -s 64M "$1" && printf head | dd of="$1" conv=notrunc status=none && printf mid | dd of="$1" bs=1M seek=32 conv=notrunc status=none && printf tail | dd of="$1" bs=1 seek=$((64*1024*1024-4)) conv=notrunc status=none', join(src, 'sparse.bin'));
    symlinkSync('x'.repeat(300), join(src, 'dangling'));
  });
  afterAll(async () => rm(work, { recursive: true, force: true }));

  let t: TestRoot;
  beforeEach(async () => {
    t = await makeEmptyRoot();
    seedTarget(t.root);
    writeFileSync(Buffer.concat([Buffer.from(join(t.root, 'home/alice') + '/'), latin1]), 'the installer had another one\n');
  });
  afterEach(async () => t.dispose());

  it.each([
    ['gnu', ['--format=gnu']], // old GNU 'S' sparse, GNU long names
    ['posix, sparse 1.0', ['--format=posix']],
    ['posix, sparse 0.1', ['--format=posix', '--sparse-version=0.1']],
    ['posix, sparse 0.0', ['--format=posix', '--sparse-version=0.0']],
  ])('%s: restored as GNU tar wrote it, the holes left as holes', async (_f, flags) => {
    const blob = join(work, `${flags.join('')}.tar.zst`);
    sh(`tar -C "$1" --sparse ${flags.join(' ')} -cf - . | zstd -q -c > "$2"`, src, blob);
    const blobSha = createHash('sha256').update(readFileSync(blob)).digest('hex');
    const r = await restoreTarZst(createReadStream(blob), { targetRoot: t.root, dest: '/home/alice', key: blobSha, uid: UID, gid: GID, expectedSha256OfBlob: blobSha });
    const home = join(t.root, 'home/alice');
    const at = (name: Buffer | string) => Buffer.concat([Buffer.from(home + '/'), Buffer.from(name)]);
    // Names as bytes, the differing existing one kept as NAME.pre-restore (bytes too).
    expect(readFileSync(at(latin1), 'utf8')).toBe('latin1 name\n');
    expect(readFileSync(at(Buffer.concat([latin1, Buffer.from('.pre-restore')])), 'utf8')).toBe('the installer had another one\n');
    expect(r.commit.preRestored).toHaveLength(1);
    expect(readFileSync(at(eucjp), 'utf8')).toBe('euc-jp name\n');
    expect(readFileSync(at(`deep/${longUtf8}`), 'utf8')).toBe('long utf-8 name\n');
    expect(lstatSync(at('old.txt')).mtimeMs).toBe(-315619200 * 1000);
    expect(readlinkSync(at('dangling'))).toBe('x'.repeat(300));
    // The sparse file: same bytes, holes not written.
    const sparse = at('sparse.bin');
    expect(readFileSync(sparse).equals(readFileSync(join(src, 'sparse.bin')))).toBe(true);
    const st = statSync(sparse);
    expect(st.size).toBe(64 * MiB);
    expect(st.blocks * 512).toBeLessThan(MiB);
    expect(st.uid).toBe(UID);
  });
});

describe('memory stays flat', () => {
  it('a 768 MiB file of zeros (a ~30 KiB zstd bomb) extracts with bounded RSS', async () => {
    const work = await mkdtemp(join(tmpdir(), 'koder-bomb-'));
    try {
      const blob = join(work, 'bomb.tar.zst');
      sh('cd "$1" && truncate -s 768M zeros && tar --format=gnu -cf - zeros | zstd -q -19 -c > "$2" && rm zeros', work, blob);
      expect(statSync(blob).size).toBeLessThan(1024 * 1024);
      const staging = join(work, 'staging');
      const { result: r, growthMiB } = await rssGrowthDuring((sample) =>
        extractTarZst(createReadStream(blob), { stagingDir: staging, uid: UID, gid: GID, onProgress: sample }),
      );
      expect(r.bytes).toBe(768 * 1024 * 1024);
      expect(statSync(join(staging, 'zeros')).size).toBe(768 * 1024 * 1024);
      expect(growthMiB).toBeLessThan(100);
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }, 120_000);
});
