/** The one naming rule for what a restore sets aside (pre-restore.ts), on a real directory. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePreRestorePath, placeAside } from '../../src/chroot-appliers/pre-restore.ts';
import { freePreRestoreName } from '../../src/chroot-appliers/target-files.ts';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ks-pre-restore-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('pre-restore names', () => {
  it('NAME.pre-restore, then .1, .2 …; a dangling symlink takes its name too', async () => {
    const p = join(dir, 'bashrc');
    writeFileSync(p, 'mine');
    expect(await freePreRestorePath(p)).toBe(`${p}.pre-restore`);
    writeFileSync(`${p}.pre-restore`, 'older');
    symlinkSync('/nowhere', `${p}.pre-restore.1`);
    expect(await freePreRestorePath(p)).toBe(`${p}.pre-restore.2`);
    // The target-relative form (apt sources) follows the same rule.
    expect(await freePreRestoreName(dir, '/bashrc')).toBe('/bashrc.pre-restore.2');
  });

  it('placeAside renames; with keepName a file keeps its name (hard link) and a folder is still renamed', async () => {
    const f = join(dir, 'config');
    writeFileSync(f, 'old');
    expect(await placeAside(f)).toBe(`${f}.pre-restore`);
    expect(existsSync(f)).toBe(false);
    expect(readFileSync(`${f}.pre-restore`, 'utf8')).toBe('old');

    writeFileSync(f, 'newer');
    const kept = await placeAside(f, { keepName: true });
    expect(kept).toBe(`${f}.pre-restore.1`);
    expect(lstatSync(kept).ino).toBe(lstatSync(f).ino);

    const d = join(dir, 'folder');
    mkdirSync(d);
    expect(await placeAside(d, { keepName: true })).toBe(`${d}.pre-restore`);
    expect(existsSync(d)).toBe(false);
  });
});
