/**
 * The tar reader against other projects' test archives (issue 12): the 145
 * archives of fixtures/tar-corpus/tar-corpus.tar.xz (libarchive, Go's
 * archive/tar via tar-split, tar-split's own, and GNU tar made ones; origin
 * of each in tar-corpus.txt), unpacked once, go through the files applier's
 * data path (restoreTarZst: zstd-compressed, worker thread, blob digest
 * checked, staging, commit) and through GNU tar (`--no-same-owner`), each
 * into its own temp dir. Each must come out either
 *
 * - identical to GNU tar's tree: names as bytes, types, modes (setuid/setgid
 *   aside), sizes, content, symlink targets, hard links, mtimes where both
 *   take them from the archive, holes not written as data; or
 * - as EXPECTED says for that archive, and only then: refused whole with
 *   that typed reason, or (where GNU tar fails on it) exactly the tree the
 *   format and Go's tests document. EXPECTED also states whether GNU tar
 *   fails on it, and that is checked.
 *
 * A different tree, an untyped error, a refusal for another reason than the
 * table's, or an identical tree where the table expects a refusal all fail.
 * It prints the counts (identical / refused by design / as documented /
 * other).
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { restoreTarZst } from '../../src/chroot-appliers/commit-staging.ts';
import { TarFormatError, TarHashMismatchError, UnsafeTarError, ZstdError } from '../../src/chroot-appliers/tar-errors.ts';
import { compress } from 'zstd-napi';

const CORPUS = new URL('./fixtures/tar-corpus/tar-corpus.tar.xz', import.meta.url).pathname;

/**
 * Every archive that does not come out identical to GNU tar's tree, and why.
 *
 * - `refuse`: refused whole with this typed reason (UnsafeTarError reason, or
 *   TarFormatError reason). By design: absolute names, devices and FIFOs (the
 *   restore never creates them, issue 12 and docs), and archives GNU tar
 *   itself reports as broken (`gnuTar: 'fails'`, checked): we refuse a
 *   malformed archive whole rather than extract part of it.
 * - `tree`: GNU tar 1.34 fails on the archive while the format's
 *   specification (and Go's reader tests, which list the expected files and
 *   md5 sums) say what it holds; our tree must be exactly that
 *   (`name mode size md5 @mtime`).
 */
type Expected =
  | { refuse: string; gnuTar: 'fails' | 'extracts'; why: string }
  | { tree: string[]; gnuTar: 'fails'; why: string };

const GNU_FAILS_TOO = 'malformed: GNU tar 1.34 reports it and exits 2';
const EXPECTED: Record<string, Expected> = {
  // By design: what a restore never creates.
  'go__hdr-only.tar': { refuse: 'unsafe:fifo', gnuTar: 'extracts', why: 'a FIFO (and device nodes): never created by a restore' },
  'libarchive-c__test_read_format_tar_archive3.tar': { refuse: 'unsafe:device-node', gnuTar: 'extracts', why: 'a character device' },
  'libarchive-c__test_read_format_tar_archive4.tar': { refuse: 'unsafe:device-node', gnuTar: 'extracts', why: 'a block device' },
  'libarchive-c__test_read_format_tar_archive6.tar': { refuse: 'unsafe:fifo', gnuTar: 'extracts', why: 'a FIFO' },
  'tar__test_leading_slash.tar': { refuse: 'unsafe:absolute-path', gnuTar: 'extracts', why: 'absolute names (GNU tar strips the /; a restore refuses them)' },
  'tar__test_patterns_2.tar': { refuse: 'unsafe:absolute-path', gnuTar: 'extracts', why: 'absolute names' },
  'tar__test_patterns_3.tar': { refuse: 'unsafe:absolute-path', gnuTar: 'extracts', why: 'absolute names' },
  'tar__test_patterns_4.tar': { refuse: 'unsafe:absolute-path', gnuTar: 'fails', why: 'absolute names and /../ (GNU tar skips those and exits 2)' },
  'libarchive-c__test_read_format_tar_archive1.tar': { refuse: 'unsafe:hardlink-target-invalid', gnuTar: 'fails', why: 'a hard link to a file the archive does not hold' },
  // Malformed archives GNU tar fails on as well.
  'go__issue10968.tar': { refuse: 'format:bad-number', gnuTar: 'fails', why: `fuzzed header, mode not octal; ${GNU_FAILS_TOO}` },
  'go__issue12435.tar': { refuse: 'format:bad-number', gnuTar: 'fails', why: `fuzzed header, numbers out of range; ${GNU_FAILS_TOO}` },
  'go__neg-size.tar': { refuse: 'format:bad-number', gnuTar: 'fails', why: `fuzzed header, numbers out of range; ${GNU_FAILS_TOO}` },
  'libarchive__test_read_format_tar_V_negative_size.tar': { refuse: 'format:bad-number', gnuTar: 'fails', why: `a negative base-256 size; ${GNU_FAILS_TOO}` },
  'go__issue11169.tar': { refuse: 'format:bad-pax', gnuTar: 'fails', why: `a pax record running past its header; ${GNU_FAILS_TOO}` },
  'go__pax-bad-hdr-file.tar': { refuse: 'format:bad-pax', gnuTar: 'fails', why: `a pax record without its newline; ${GNU_FAILS_TOO}` },
  'go__pax-nul-xattrs.tar': { refuse: 'format:bad-pax', gnuTar: 'fails', why: `a NUL inside a pax key; ${GNU_FAILS_TOO} ("missing equal sign")` },
  'libarchive__test_read_format_tar_acl_oob_read.tar': { refuse: 'format:bad-pax', gnuTar: 'fails', why: `a pax record cut short, garbage after it; ${GNU_FAILS_TOO}` },
  'libarchive__test_read_format_tar_invalid_pax_size.tar': { refuse: 'format:bad-pax', gnuTar: 'fails', why: `pax records with impossible lengths; ${GNU_FAILS_TOO}` },
  'libarchive__test_read_format_tar_pax_g_large.tar': { refuse: 'format:bad-pax', gnuTar: 'fails', why: `a 4 GiB global header the archive does not hold; ${GNU_FAILS_TOO}` },
  'libarchive__test_read_pax_empty_val_no_nl.tar': { refuse: 'format:bad-pax', gnuTar: 'fails', why: `a pax record without its newline; ${GNU_FAILS_TOO}` },
  'go__pax-bad-hdr-large.tar': { refuse: 'unsafe:name-too-long', gnuTar: 'fails', why: 'a 1 MiB pax path: no file system takes it (GNU tar: "File name too long", exit 2)' },
  'go__writer-big.tar': { refuse: 'format:truncated', gnuTar: 'fails', why: `Go's 16 GB writer test cut after its header; ${GNU_FAILS_TOO}` },
  'go__writer-big-long.tar': { refuse: 'format:truncated', gnuTar: 'fails', why: `the same with a long name; ${GNU_FAILS_TOO}` },
  'libarchive__test_read_format_gtar_sparse_1_17_posix10_modified.tar': { refuse: 'format:bad-sparse-map', gnuTar: 'fails', why: `a sparse 1.0 map that starts with text; ${GNU_FAILS_TOO} ("malformed sparse archive member")` },
  'libarchive__test_read_format_gtar_sparse_skip_entry.tar': {
    refuse: 'format:bad-sparse-map',
    gnuTar: 'extracts',
    why: 'the map accounts for 4099 of the 4100 data bytes stored and ends a byte before GNU.sparse.realsize: GNU tar drops the byte and makes the file 1 byte shorter than the archive says; which is right cannot be known, so nothing is written',
  },
  // GNU tar fails; the format says what the archive holds.
  'go__pax-global-records.tar': {
    tree: [
      'file2 0 0 d41d8cd98f00b204e9800998ecf8427e @1500000000',
      'file3 0 0 d41d8cd98f00b204e9800998ecf8427e @1500000000',
      'file4 0 0 d41d8cd98f00b204e9800998ecf8427e @1400000000',
      'global1 0 0 d41d8cd98f00b204e9800998ecf8427e @1500000000',
    ],
    gnuTar: 'fails',
    why: 'POSIX: a global path applies to the entries after it, and an empty value deletes a key; GNU tar takes the later empty global path literally and fails on "." (its own comment in Go\'s reader_test.go)',
  },
  'go__sparse-formats.tar': {
    tree: [
      'end 644 4 b0061974914468de549a2af8ced10316 @1392398319',
      'sparse-gnu 644 200 6f53234398c2449fe67c1812d993012f @1392395740',
      'sparse-posix-0.0 644 200 6f53234398c2449fe67c1812d993012f @1392342187',
      'sparse-posix-0.1 644 200 6f53234398c2449fe67c1812d993012f @1392340456',
      'sparse-posix-1.0 644 200 6f53234398c2449fe67c1812d993012f @1392337404',
    ],
    gnuTar: 'fails',
    why: 'one sparse file in each GNU encoding (old S with extension blocks, pax 0.0, 0.1, 1.0); GNU tar 1.34 stops at the first with "Unexpected EOF"; the md5 sums are those of Go\'s reader_test.go (Python\'s tarfile agrees)',
  },
};

/** `name mode size md5 @mtime` of every file below `dir` (directories have none here), sorted. */
function listing(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .map((n) => {
      const st = lstatSync(join(dir, n));
      const md5 = createHash('md5').update(readFileSync(join(dir, n))).digest('hex');
      return `${n} ${(st.mode & 0o7777).toString(8)} ${st.size} ${md5} @${Math.floor(st.mtimeMs / 1000)}`;
    });
}

interface Node {
  type: 'dir' | 'file' | 'symlink' | 'other';
  mode: number;
  size: number;
  /** Bytes allocated on disk (holes are not). */
  allocated: number;
  mtimeNs: bigint;
  ino: bigint;
  /** Of the content; for a big (sparse) file, of its non-zero 64 KiB blocks and their offsets. */
  sha256?: string;
  /** Symlink target, bytes as latin1. */
  link?: string;
}

/** Files above this size (the corpus has sparse ones of 10 and 60 GB) are compared by sparseDigest. */
const BIG = 64 * 1024 * 1024;

/**
 * A digest of a file's content that reads only its data segments
 * (SEEK_DATA/SEEK_HOLE, which Node does not expose): the offsets and sha256
 * of its non-zero 64 KiB blocks. Equal for two files of one size exactly
 * when their bytes are equal, wherever each has its holes.
 */
function sparseDigest(p: Buffer): string {
  const py = `
import os, sys, hashlib
B = 1 << 16
fd = os.open(bytes.fromhex(sys.stdin.read()), os.O_RDONLY)
size = os.fstat(fd).st_size
h = hashlib.sha256()
pos = 0
done = 0
while pos < size:
    try:
        data = os.lseek(fd, pos, os.SEEK_DATA)
    except OSError:
        break
    hole = os.lseek(fd, data, os.SEEK_HOLE)
    blk = max(data - data % B, done)
    while blk < hole:
        b = os.pread(fd, B, blk)
        if b.count(0) != len(b):
            h.update(blk.to_bytes(8, 'big') + hashlib.sha256(b).digest())
        blk += B
    done = blk
    pos = hole
print(h.hexdigest())
`;
  const r = spawnSync('python3', ['-c', py], { input: p.toString('hex') });
  if (r.status !== 0) throw new Error(`sparseDigest: ${r.stderr.toString()}`);
  return r.stdout.toString().trim();
}

/** Every path below `dir`, names as bytes (latin1 strings), with what the comparison looks at. */
function snapshot(dir: string): Map<string, Node> {
  const out = new Map<string, Node>();
  const walk = (rel: Buffer) => {
    const p: Buffer = rel.length ? Buffer.concat([Buffer.from(dir + '/'), rel]) : Buffer.from(dir);
    const st = lstatSync(p, { bigint: true });
    const n: Node = {
      type: st.isDirectory() ? 'dir' : st.isFile() ? 'file' : st.isSymbolicLink() ? 'symlink' : 'other',
      mode: Number(st.mode & 0o7777n),
      size: st.isDirectory() ? 0 : Number(st.size),
      allocated: Number(st.blocks) * 512,
      mtimeNs: st.mtimeNs,
      ino: st.ino,
    };
    if (n.type === 'symlink') n.link = readlinkSync(p, { encoding: 'buffer' }).toString('latin1');
    if (n.type === 'file') n.sha256 = n.size > BIG ? sparseDigest(p) : createHash('sha256').update(readFileSync(p)).digest('hex');
    out.set(rel.toString('latin1'), n);
    if (n.type === 'dir') {
      for (const name of readdirSync(p, { encoding: 'buffer' })) {
        walk(rel.length ? Buffer.concat([rel, Buffer.from('/'), name]) : name);
      }
    }
  };
  walk(Buffer.alloc(0));
  return out;
}

/** A byte path for messages: UTF-8 where valid, \xNN elsewhere. */
function show(latin1: string): string {
  const b = Buffer.from(latin1, 'latin1');
  const s = b.toString('utf8');
  if (Buffer.from(s, 'utf8').equals(b)) return JSON.stringify(s);
  return JSON.stringify([...b].map((c) => (c >= 0x20 && c < 0x7f ? String.fromCharCode(c) : `\\x${c.toString(16).padStart(2, '0')}`)).join(''));
}

/** Differences between our tree and GNU tar's (empty when identical). */
function compareTrees(ours: string, gnu: string, since: bigint): string[] {
  const a = snapshot(ours);
  const b = snapshot(gnu);
  const diffs: string[] = [];
  const links = (m: Map<string, Node>, key: string) => {
    const n = m.get(key)!;
    return [...m].filter(([k, o]) => o.type === 'file' && o.ino === n.ino && k !== key).map(([k]) => k).sort().join('\0');
  };
  for (const key of new Set([...a.keys(), ...b.keys()])) {
    const x = a.get(key);
    const y = b.get(key);
    const name = key === '' ? '(root)' : show(key);
    if (!x || !y) {
      diffs.push(`${name}: only in ${x ? 'ours' : 'GNU tar'}'s tree`);
      continue;
    }
    if (x.type !== y.type) {
      diffs.push(`${name}: ${x.type} here, ${y.type} in GNU tar's`);
      continue;
    }
    if (key === '') continue; // the folder itself keeps its own mode and times (files.ts)
    if (x.type !== 'symlink' && (x.mode & ~0o6000) !== (y.mode & ~0o6000)) diffs.push(`${name}: mode ${x.mode.toString(8)} vs ${y.mode.toString(8)}`);
    if (x.size !== y.size) diffs.push(`${name}: size ${x.size} vs ${y.size}`);
    if (x.sha256 !== y.sha256) diffs.push(`${name}: content differs`);
    if (x.link !== y.link) diffs.push(`${name}: symlink -> ${show(x.link ?? '')} vs ${show(y.link ?? '')}`);
    if (x.type === 'file' && links(a, key) !== links(b, key)) diffs.push(`${name}: hard links differ`);
    if (x.type === 'file' && x.size > BIG && x.allocated > y.allocated + 1024 * 1024) diffs.push(`${name}: ${x.allocated} bytes allocated vs ${y.allocated} (holes written as data)`);
    // Times both took from the archive (a directory the archive does not list gets the time of extraction).
    const dt = x.mtimeNs - y.mtimeNs;
    if ((x.mtimeNs < since || y.mtimeNs < since) && (dt > 1000n || dt < -1000n)) diffs.push(`${name}: mtime ${x.mtimeNs} vs ${y.mtimeNs}`);
  }
  return diffs;
}

type Outcome =
  | { kind: 'identical' }
  | { kind: 'refused'; reason: string; message: string }
  | { kind: 'different'; diffs: string[] }
  | { kind: 'untyped'; message: string };

function reasonOf(e: unknown): string | undefined {
  if (e instanceof UnsafeTarError) return `unsafe:${e.reason}`;
  if (e instanceof TarFormatError) return `format:${e.reason}`;
  if (e instanceof ZstdError) return 'zstd';
  if (e instanceof TarHashMismatchError) return 'hash';
  return undefined;
}

describe('tar corpus (libarchive, Go, tar-split, GNU tar) vs GNU tar', () => {
  let work: string;
  let names: string[] = [];
  const outcomes = new Map<string, Outcome>();

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'koder-tar-corpus-'));
    await mkdir(join(work, 'corpus'));
    const r = spawnSync('tar', ['-xJf', CORPUS, '-C', join(work, 'corpus')]);
    if (r.status !== 0) throw new Error(`unpacking ${CORPUS}: ${r.stderr}`);
    names = readdirSync(join(work, 'corpus')).filter((n) => n.endsWith('.tar')).sort();
  });
  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  /** One archive through our restore and through GNU tar, compared. */
  async function run(i: number, name: string): Promise<{ outcome: Outcome; gnuStatus: number | null }> {
    const expected = EXPECTED[name];
    const archive = join(work, 'corpus', name);
    const blob = compress(readFileSync(archive), { compressionLevel: 1 });
    const blobSha = createHash('sha256').update(blob).digest('hex');
    const root = join(work, `ours-${i}`);
    const gnu = join(work, `gnu-${i}`);
    await mkdir(root);
    await mkdir(gnu);
    const since = BigInt(Date.now() - 2000) * 1_000_000n;
    const gnuTar = spawn('tar', ['--no-same-owner', '-C', gnu, '-xf', archive], { env: { ...process.env, LC_ALL: 'C.UTF-8' }, stdio: 'ignore' });
    const gnuStatus = new Promise<number | null>((ok) => gnuTar.on('close', ok));
    let outcome: Outcome;
    try {
      await restoreTarZst(Readable.from([blob]), { targetRoot: root, dest: '/out', key: blobSha, uid: process.getuid!(), gid: process.getgid!(), expectedSha256OfBlob: blobSha });
      await gnuStatus;
      if (expected && 'tree' in expected) {
        const got = listing(join(root, 'out'));
        outcome = JSON.stringify(got) === JSON.stringify(expected.tree) ? { kind: 'identical' } : { kind: 'different', diffs: got };
      } else {
        const diffs = compareTrees(join(root, 'out'), gnu, since);
        outcome = diffs.length ? { kind: 'different', diffs } : { kind: 'identical' };
      }
    } catch (e) {
      const reason = reasonOf(e);
      outcome = reason ? { kind: 'refused', reason, message: (e as Error).message } : { kind: 'untyped', message: String((e as Error).stack ?? e) };
    }
    const status = await gnuStatus;
    await rm(root, { recursive: true, force: true });
    await rm(gnu, { recursive: true, force: true });
    return { outcome, gnuStatus: status };
  }

  it('each archive extracts as GNU tar does, or is refused by design, or (where GNU tar fails) as documented', async () => {
    expect(names.length).toBe(145);
    expect(Object.keys(EXPECTED).filter((n) => !names.includes(n))).toEqual([]);
    // Three at a time: a restore spends much of its time starting its zstd worker.
    const results: Array<Awaited<ReturnType<typeof run>>> = [];
    let next = 0;
    await Promise.all(
      [0, 1, 2].map(async () => {
        for (let i = next++; i < names.length; i = next++) results[i] = await run(i, names[i]!);
      }),
    );
    const counts = { identical: 0, 'refused by design': 0, 'as documented where GNU tar fails': 0, other: 0 };
    const wrong: string[] = [];
    for (const [i, name] of names.entries()) {
      const expected = EXPECTED[name];
      const { outcome, gnuStatus } = results[i]!;
      if (expected && (expected.gnuTar === 'fails') !== (gnuStatus !== 0)) wrong.push(`${name}: the table says GNU tar ${expected.gnuTar}, it exited ${gnuStatus}`);
      if (!expected && outcome.kind === 'identical') counts.identical += 1;
      else if (expected && 'refuse' in expected && outcome.kind === 'refused' && outcome.reason === expected.refuse) counts['refused by design'] += 1;
      else if (expected && 'tree' in expected && outcome.kind === 'identical') counts['as documented where GNU tar fails'] += 1;
      else {
        counts.other += 1;
        const got =
          outcome.kind === 'different'
            ? `different tree: ${outcome.diffs.slice(0, 5).join('; ')}`
            : outcome.kind === 'identical'
              ? 'identical to GNU tar'
              : `${outcome.kind} ${'reason' in outcome ? outcome.reason : ''}: ${outcome.message.slice(0, 300)}`;
        wrong.push(`${name}: ${got}${expected ? ` (expected ${'refuse' in expected ? `refusal ${expected.refuse}` : 'the documented tree'})` : ''}`);
      }
    }
    console.log(`tar corpus: ${Object.entries(counts).map(([k, v]) => `${v} ${k}`).join(', ')}${wrong.length ? `\n${wrong.join('\n')}` : ''}`);
    expect(wrong).toEqual([]);
  }, 300_000);
});
