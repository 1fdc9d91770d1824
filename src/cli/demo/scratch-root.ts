/**
 * The demo's scratch target root: a real Debian bookworm minbase root (from
 * the cached mmdebstrap tarball, built on first use when mmdebstrap is
 * installed) with the target user created, or — when no Debian root can be
 * had — an empty folder with just an /etc/passwd, where the package and
 * system steps fail and are reported (the restore still writes files,
 * repos and secrets).
 */
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { extractMinbase, minbaseTarball } from '../../util/minbase.ts';
import { runInChroot } from '../../chroot-appliers/chroot-runner.ts';

export interface ScratchRoot {
  root: string;
  kind: 'debian' | 'empty';
  note?: string;
}

export async function makeScratchRoot(dir: string, user: string, log: (l: string) => void): Promise<ScratchRoot> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  let tarball: string | undefined;
  let note: string | undefined;
  try {
    if (!existsSync('/usr/bin/mmdebstrap')) log('building a Debian minbase root needs mmdebstrap (scripts/install-system-deps.sh)…');
    else log('preparing a Debian bookworm minbase root (cached in .cache/; the first time takes about a minute)…');
    tarball = await minbaseTarball();
  } catch (e) {
    note = `no Debian root (${(e as Error).message.split('\n')[0]}): using an empty folder`;
  }
  if (tarball) {
    await extractMinbase(dir);
    await runInChroot(dir, ['useradd', '-m', '-u', '1000', '-s', '/bin/bash', user]);
    return { root: dir, kind: 'debian' };
  }
  await mkdir(join(dir, 'etc'), { recursive: true });
  await mkdir(join(dir, 'home', user), { recursive: true });
  await writeFile(join(dir, 'etc/passwd'), `root:x:0:0:root:/root:/bin/sh\n${user}:x:1000:1000::/home/${user}:/bin/bash\n`);
  return { root: dir, kind: 'empty', note };
}
