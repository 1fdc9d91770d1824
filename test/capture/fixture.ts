/**
 * A fixture home for capture tests: documents, pictures, git repositories
 * (clean and pushed to a local bare remote, dirty, without remote) and
 * secrets whose plaintext carries unique markers (to scan for them later).
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultConfig, type CaptureConfig } from '../../src/capture/config.ts';
import { gitEnv } from '../helpers/git.ts';

const FIXED_DATES = { GIT_AUTHOR_DATE: '2024-01-02T03:04:05Z', GIT_COMMITTER_DATE: '2024-01-02T03:04:05Z' };

/** git in `cwd` with `home` as HOME and fixed commit dates (the fixture's repos are the same every run). */
export function git(cwd: string, home: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, env: gitEnv({ home, extra: FIXED_DATES }), encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

export interface FixtureHome {
  base: string;
  home: string;
  remotes: string;
  /** Unique strings inside the secrets' plaintext. */
  markers: string[];
  repos: { clean: string; dirty: string; local: string };
  cleanup(): void;
}

const write = (p: string, data: string | Buffer, mode?: number) => {
  mkdirSync(join(p, '..'), { recursive: true });
  writeFileSync(p, data);
  if (mode !== undefined) chmodSync(p, mode);
};

export function makeFixtureHome(base: string): FixtureHome {
  const home = join(base, 'home');
  const remotes = join(base, 'remotes');
  mkdirSync(home, { recursive: true });
  mkdirSync(remotes, { recursive: true });
  writeFileSync(join(home, '.gitconfig'), '[init]\n\tdefaultBranch = main\n');

  // Documents and pictures.
  const docs = join(home, 'Documents');
  write(join(docs, 'report.txt'), 'Quarterly report\n'.repeat(500));
  write(join(docs, 'sub', 'notes.md'), '# notes\n- one\n- two\n');
  write(join(docs, 'sub', 'deeper', 'data.bin'), randomBytes(200_000));
  write(join(docs, 'ção e espaços.txt'), 'acentos\n');
  write(join(docs, `${'long-name-'.repeat(14)}.txt`), 'a long name (pax path)\n');
  write(join(docs, 'script.sh'), '#!/bin/sh\necho hi\n', 0o755);
  mkdirSync(join(docs, 'empty-folder'));
  symlinkSync('report.txt', join(docs, 'link-to-report'));
  symlinkSync('/etc/passwd', join(docs, 'absolute-link')); // left out: points out of the folder
  mkdirSync(join(docs, 'node_modules', 'x'), { recursive: true });
  write(join(docs, 'node_modules', 'x', 'index.js'), 'skipped\n');
  utimesSync(join(docs, 'report.txt'), new Date('2023-05-06T07:08:09Z'), new Date('2023-05-06T07:08:09Z'));
  write(join(home, 'Pictures', 'photo.jpg'), randomBytes(300_000));
  write(join(home, '.cache', 'junk'), 'cache\n');

  // Repositories.
  const dev = join(home, 'dev');
  mkdirSync(dev, { recursive: true });
  const bare = join(remotes, 'clean.git');
  git(base, home, 'init', '--bare', '-b', 'main', bare);
  const clean = join(dev, 'clean');
  git(dev, home, 'clone', '-q', bare, clean);
  write(join(clean, 'README.md'), '# clean\n');
  git(clean, home, 'add', '-A');
  git(clean, home, 'commit', '-q', '-m', 'first');
  git(clean, home, 'push', '-q', 'origin', 'main');

  const bare2 = join(remotes, 'dirty.git');
  git(base, home, 'init', '--bare', '-b', 'main', bare2);
  const dirty = join(dev, 'work', 'dirty');
  mkdirSync(join(dev, 'work'), { recursive: true });
  git(join(dev, 'work'), home, 'clone', '-q', bare2, dirty);
  write(join(dirty, 'tracked.txt'), 'original\n');
  write(join(dirty, 'gone.txt'), 'to be deleted\n');
  write(join(dirty, '.gitignore'), 'ignored.log\n');
  git(dirty, home, 'add', '-A');
  git(dirty, home, 'commit', '-q', '-m', 'base');
  git(dirty, home, 'push', '-q', 'origin', 'main');
  write(join(dirty, 'tracked.txt'), 'changed, not staged\n');
  write(join(dirty, 'staged.txt'), 'new and staged\n');
  git(dirty, home, 'add', 'staged.txt');
  write(join(dirty, 'untracked.txt'), 'new, untracked\n');
  rmSync(join(dirty, 'gone.txt'));
  write(join(dirty, 'ignored.log'), 'ignored: not captured\n');

  const local = join(dev, 'local');
  mkdirSync(local);
  git(local, home, 'init', '-q', '-b', 'trunk');
  write(join(local, 'a.txt'), 'one\n');
  git(local, home, 'add', '-A');
  git(local, home, 'commit', '-q', '-m', 'one');
  write(join(local, 'a.txt'), 'two\n');
  git(local, home, 'commit', '-q', '-am', 'two');
  write(join(local, 'scratch.txt'), 'untracked in a repo without remote\n');

  // Secrets.
  const markers = Array.from({ length: 5 }, (_, i) => `PLAINTEXT-MARKER-${i}-${randomBytes(12).toString('hex')}`);
  write(join(home, '.ssh', 'id_ed25519'), `-----BEGIN OPENSSH PRIVATE KEY-----\n${markers[0]}\n-----END OPENSSH PRIVATE KEY-----\n`, 0o600);
  write(join(home, '.ssh', 'id_ed25519.pub'), 'ssh-ed25519 AAAA public\n', 0o644);
  write(join(home, '.gnupg', 'pubring.kbx'), `pubring ${markers[1]}\n`, 0o600);
  write(join(home, '.gnupg', 'private-keys-v1.d', 'ABCD.key'), `private ${markers[2]}\n`, 0o600);
  chmodSync(join(home, '.gnupg', 'private-keys-v1.d'), 0o700);
  chmodSync(join(home, '.gnupg'), 0o700);
  write(join(home, '.netrc'), `machine example.org login ana password ${markers[3]}\n`, 0o600);
  write(join(home, '.config', 'rclone', 'rclone.conf'), `[remote]\ntype = s3\nsecret_access_key = ${markers[4]}\n`, 0o600);

  return { base, home, remotes, markers, repos: { clean, dirty, local }, cleanup: () => rmSync(base, { recursive: true, force: true }) };
}

/** A test config: the defaults with the cache under `base` and a fast zstd level. */
export function testConfig(base: string, over: (c: CaptureConfig) => void = () => {}): CaptureConfig {
  const c = defaultConfig({ ...process.env, XDG_CACHE_HOME: join(base, 'cache'), XDG_CONFIG_HOME: join(base, 'config') });
  c.files.zstd_level = 3;
  over(c);
  return c;
}

export interface TreeEntry {
  kind: 'file' | 'dir' | 'symlink';
  mode: number;
  content?: string;
}

/** Every entry below `dir` (relative path → kind, permission bits, content / link target), skipping names in `skip`. */
export function readTree(dir: string, skip: (rel: string) => boolean = () => false): Map<string, TreeEntry> {
  const out = new Map<string, TreeEntry>();
  const visit = (rel: string) => {
    for (const name of readdirSync(join(dir, rel)).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      if (skip(r)) continue;
      const p = join(dir, r);
      const st = lstatSync(p);
      if (st.isSymbolicLink()) out.set(r, { kind: 'symlink', mode: 0, content: readlinkSync(p) });
      else if (st.isDirectory()) {
        out.set(r, { kind: 'dir', mode: st.mode & 0o7777 });
        visit(r);
      } else out.set(r, { kind: 'file', mode: st.mode & 0o7777, content: readFileSync(p).toString('base64') });
    }
  };
  visit('');
  return out;
}

/** Every file under `dir` (recursively). */
export function allFiles(dir: string): string[] {
  const out: string[] = [];
  const visit = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) visit(p);
      else if (e.isFile()) out.push(p);
    }
  };
  visit(dir);
  return out;
}
