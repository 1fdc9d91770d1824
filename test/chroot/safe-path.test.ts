import { mkdirSync, symlinkSync, writeFileSync, existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ensureDirInRoot, PathEscapeError, resolveInRoot } from '../../src/chroot-appliers/safe-path.ts';
import { makeEmptyRoot, type TestRoot } from '../helpers/debian-root.ts';

describe('resolveInRoot', () => {
  let t: TestRoot;
  let r: string;
  beforeEach(async () => {
    t = await makeEmptyRoot();
    r = t.root;
    mkdirSync(join(r, 'etc/ssl'), { recursive: true });
    mkdirSync(join(r, 'home/alice'), { recursive: true });
    mkdirSync(join(r, 'srv/data'), { recursive: true });
    writeFileSync(join(r, 'etc/hostname'), 'target\n');
    symlinkSync('/srv/data', join(r, 'home/alice/data')); // absolute: inside the target as chrooted
    symlinkSync('../../etc', join(r, 'home/alice/etc-rel')); // relative, stays inside
    symlinkSync('../../../..', join(r, 'home/alice/up')); // climbs out
    symlinkSync('/', join(r, 'home/alice/root'));
    symlinkSync('loop2', join(r, 'home/alice/loop1'));
    symlinkSync('loop1', join(r, 'home/alice/loop2'));
    symlinkSync('/etc/hostname', join(r, 'home/alice/host-link'));
  });
  afterEach(async () => t.dispose());

  it('plain and absolute-as-root-relative paths', async () => {
    expect(await resolveInRoot(r, 'etc/hostname')).toBe(join(r, 'etc/hostname'));
    expect(await resolveInRoot(r, '/etc/hostname')).toBe(join(r, 'etc/hostname'));
    expect(await resolveInRoot(r, '/')).toBe(r);
    expect(await resolveInRoot(r, 'home/alice/../alice/./x')).toBe(join(r, 'home/alice/x'));
  });

  it('an absolute symlink resolves inside the root, as if chrooted', async () => {
    expect(await resolveInRoot(r, 'home/alice/data/file')).toBe(join(r, 'srv/data/file'));
    expect(await resolveInRoot(r, 'home/alice/root/etc/hostname')).toBe(join(r, 'etc/hostname'));
    expect(await resolveInRoot(r, 'home/alice/host-link')).toBe(join(r, 'etc/hostname'));
  });

  it('followFinal: false names the link itself', async () => {
    expect(await resolveInRoot(r, 'home/alice/host-link', { followFinal: false })).toBe(join(r, 'home/alice/host-link'));
  });

  it('relative symlinks inside the root are followed', async () => {
    expect(await resolveInRoot(r, 'home/alice/etc-rel/ssl')).toBe(join(r, 'etc/ssl'));
  });

  it('refuses .. above the root and symlinks that climb out', async () => {
    await expect(resolveInRoot(r, '../etc/passwd')).rejects.toMatchObject({ reason: 'dotdot-above-root' });
    await expect(resolveInRoot(r, 'home/../../x')).rejects.toBeInstanceOf(PathEscapeError);
    await expect(resolveInRoot(r, 'home/alice/up/etc/passwd')).rejects.toMatchObject({ reason: 'symlink-escapes-root' });
    await expect(resolveInRoot(r, 'home/alice/root/..')).rejects.toMatchObject({ reason: 'symlink-escapes-root' });
  });

  it('refuses symlink loops', async () => {
    await expect(resolveInRoot(r, 'home/alice/loop1/x')).rejects.toMatchObject({ reason: 'too-many-symlinks' });
  });

  it('missing components are appended literally', async () => {
    expect(await resolveInRoot(r, 'home/bob/.ssh/id_ed25519')).toBe(join(r, 'home/bob/.ssh/id_ed25519'));
    expect(await resolveInRoot(r, 'home/bob/x/../y')).toBe(join(r, 'home/bob/y'));
  });

  it('ensureDirInRoot creates missing dirs through an in-root symlink with the owner', async () => {
    const { dir, created } = await ensureDirInRoot(r, 'home/alice/data/projects/a', { uid: 1000, gid: 1001, mode: 0o750 });
    expect(dir).toBe(join(r, 'srv/data/projects/a'));
    expect(created).toEqual([join(r, 'srv/data/projects'), join(r, 'srv/data/projects/a')]);
    const st = statSync(dir);
    expect([st.uid, st.gid, st.mode & 0o777]).toEqual([1000, 1001, 0o750]);
    expect(existsSync('/srv/data/projects')).toBe(false);
    await expect(ensureDirInRoot(r, 'home/alice/up/evil')).rejects.toBeInstanceOf(PathEscapeError);
  });
});
