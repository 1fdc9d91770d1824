/**
 * The deterministic tar + zstd archive of a folder: same content → same
 * bytes (twice, and from a copy elsewhere with other inodes and owners),
 * readable by GNU tar and by the restore's own tar reader, long names as pax,
 * unsafe entries left out.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BlobStore } from '../../src/capture/blob-store.ts';
import { SkipMatcher } from '../../src/capture/skips.ts';
import { entryHeaders, paxRecord, tarStream } from '../../src/capture/tar-writer.ts';
import { walkTree } from '../../src/capture/walk.ts';
import { readTar } from '../../src/chroot-appliers/tar-reader.ts';

const base = mkdtempSync(join(tmpdir(), 'koder-tar-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));

function makeFolder(dir: string) {
  mkdirSync(join(dir, 'b', 'c'), { recursive: true });
  writeFileSync(join(dir, 'a.txt'), 'alpha\n');
  writeFileSync(join(dir, 'b', 'c', 'deep.bin'), Buffer.alloc(70_000, 7));
  writeFileSync(join(dir, 'Z-upper.txt'), 'sorted by bytes: Z before a\n');
  writeFileSync(join(dir, 'é-accent.txt'), 'utf-8 name\n');
  writeFileSync(join(dir, `${'x'.repeat(120)}.txt`), 'long name\n');
  symlinkSync('a.txt', join(dir, 'link'));
  symlinkSync(`${'../'.repeat(0)}b/c/${'y'.repeat(110)}`, join(dir, 'long-link'));
  symlinkSync('/etc/hostname', join(dir, 'abs-link'));
  symlinkSync('../outside', join(dir, 'escaping-link'));
  mkdirSync(join(dir, 'node_modules'));
  writeFileSync(join(dir, 'node_modules', 'skipped.js'), '');
  const t = new Date('2022-02-02T02:02:02Z');
  for (const p of ['a.txt', 'b/c/deep.bin', 'Z-upper.txt', 'é-accent.txt', `${'x'.repeat(120)}.txt`, 'b/c', 'b', 'node_modules', '.']) utimesSync(join(dir, p), t, t);
}

async function tarOf(dir: string, skipped: string[] = []): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const entries = walkTree(dir, { skip: new SkipMatcher(['node_modules'], '/nonexistent'), onSkip: (p, why) => skipped.push(`${p}: ${why}`) });
  for await (const c of tarStream(entries)) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks);
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('deterministic tar', () => {
  const one = join(base, 'one');
  makeFolder(one);

  it('gives the same sha256 twice, and for a copy elsewhere (other inodes, same content and mtimes)', async () => {
    const a = await tarOf(one);
    const b = await tarOf(one);
    expect(sha(a)).toBe(sha(b));
    const two = join(base, 'two');
    cpSync(one, two, { recursive: true, preserveTimestamps: true, verbatimSymlinks: true });
    utimesSync(two, new Date('2022-02-02T02:02:02Z'), new Date('2022-02-02T02:02:02Z'));
    for (const p of ['b', 'b/c', 'node_modules']) utimesSync(join(two, p), new Date('2022-02-02T02:02:02Z'), new Date('2022-02-02T02:02:02Z'));
    expect(sha(await tarOf(two))).toBe(sha(a));
  });

  it('sorts entries by bytes, names them like `tar -C DIR .`, leaves out what cannot be restored', async () => {
    const skipped: string[] = [];
    const tar = await tarOf(one, skipped);
    const names = execFileSync('tar', ['-tf', '-'], { input: tar, encoding: 'utf8' }).split('\n').filter(Boolean);
    expect(names).toEqual(['./', './Z-upper.txt', './a.txt', './b/', './b/c/', './b/c/deep.bin', './link', './long-link', `./${'x'.repeat(120)}.txt`, './é-accent.txt']);
    expect(skipped.some((s) => s.includes('abs-link') && s.includes('absolute'))).toBe(true);
    expect(skipped.some((s) => s.includes('escaping-link') && s.includes('out of the folder'))).toBe(true);
    expect(skipped.some((s) => s.includes('node_modules') && s.includes('skip pattern'))).toBe(true);
  });

  it('has uid/gid 0, empty owner names, whole-second mtimes, and pax only for long values (GNU tar and the restore reader agree)', async () => {
    const tar = await tarOf(one);
    const verbose = execFileSync('tar', ['--numeric-owner', '--full-time', '-tvf', '-'], { input: tar, encoding: 'utf8' });
    for (const line of verbose.trim().split('\n')) expect(line).toMatch(/ 0\/0 /);
    expect(verbose).toContain('2022-02-02 02:02:02 ./a.txt');
    const headers: { name: string; linkname: string; uname: string; pax: Record<string, string>; type: string }[] = [];
    for await (const e of readTar((async function* () { yield tar; })())) {
      headers.push(e.header);
      for await (const _ of e.body()) { /* skip */ }
    }
    const long = headers.find((h) => h.name.startsWith('./xxx'))!;
    expect(long.name).toBe(`./${'x'.repeat(120)}.txt`);
    expect(Object.keys(long.pax)).toEqual(['path']);
    expect(headers.find((h) => h.name === './long-link')!.linkname).toBe(`b/c/${'y'.repeat(110)}`);
    expect(headers.find((h) => h.name === './a.txt')!.pax).toEqual({});
    expect(headers.every((h) => h.uname === '')).toBe(true);
  });

  it('extracts with GNU tar to the same content', async () => {
    const out = join(base, 'extracted');
    mkdirSync(out);
    execFileSync('tar', ['-xf', '-', '-C', out], { input: await tarOf(one) });
    expect(execFileSync('diff', ['-r', '--no-dereference', '-x', 'node_modules', '-x', 'abs-link', '-x', 'escaping-link', one, out], { encoding: 'utf8' })).toBe('');
  });

  it('drops setuid/setgid bits, skips sockets', async () => {
    const dir = join(base, 'modes');
    mkdirSync(dir);
    writeFileSync(join(dir, 'suid'), 'x', { mode: 0o4755 });
    const sock = createServer();
    await new Promise<void>((r) => sock.listen(join(dir, 'sock'), r));
    const skipped: string[] = [];
    const verbose = execFileSync('tar', ['-tvf', '-'], { input: await tarOf(dir, skipped), encoding: 'utf8' });
    sock.close();
    expect(verbose).toMatch(/-rwxr-xr-x .* \.\/suid/);
    expect(verbose).not.toContain('sock');
    expect(skipped.some((s) => s.endsWith('sock: socket'))).toBe(true);
  });

  it('pax records count their own length', () => {
    for (const v of ['a', 'x'.repeat(90), 'y'.repeat(995), 'z'.repeat(9995)]) {
      const r = paxRecord('path', v);
      expect(Buffer.byteLength(r)).toBe(Number(r.split(' ')[0]));
    }
    const h = entryHeaders({ name: `./${'n'.repeat(200)}`, type: '0', mode: 0o644, size: 9 * 1024 ** 3, mtime: 1 });
    expect(h.length % 512).toBe(0);
    expect(h.subarray(512, 1024).toString('utf8')).toContain('size=9663676416');
  });

  it('zstd-compressed into the blob cache: same blob twice, whatever the worker count', async () => {
    const store = await BlobStore.open(join(base, 'cache'));
    const a = await store.putCompressed((async function* () { yield await tarOf(one); })(), { level: 3, workers: 1 });
    const b = await store.putCompressed((async function* () { yield await tarOf(one); })(), { level: 3, workers: 4 });
    expect(b.hex).toBe(a.hex);
    expect(a.inputSha256).toBe(sha(await tarOf(one)));
    expect(execFileSync('zstd', ['-dc', a.file]).equals(await tarOf(one))).toBe(true);
  });
});
