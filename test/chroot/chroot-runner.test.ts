import { spawn } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { getPriority } from 'node:os';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  assertTargetRoot,
  ChrootError,
  recoverChrootLeftovers,
  runInChroot,
  TargetRootError,
} from '../../src/chroot-appliers/chroot-runner.ts';
import { fsyncShim } from '../../src/chroot-appliers/apt-unsafe-io.ts';
import { makeDebianRoot, makeEmptyRoot, type TestRoot } from '../helpers/debian-root.ts';

/**
 * The host mount table. Lines of *other* test roots (koder-debroot-*, made by
 * test processes running concurrently) are left out; everything else, and
 * anything under our own root, must stay identical.
 */
let ownRoot = '';
const mountinfo = () =>
  readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((l) => {
      const mp = l.split(' ')[4] ?? '';
      return !/\/koder-debroot-/.test(mp) || (ownRoot !== '' && (mp === ownRoot || mp.startsWith(ownRoot + '/')));
    })
    .join('\n');

/** Unique sleep durations, so concurrent runs of this file cannot confuse each other. */
const uniq = () => `120.${Math.floor(Math.random() * 1e6)}`; // bounded even if a broken runner leaks it

/** Host /dev: every entry with its identity and metadata (contents of pts/shm excluded: other processes use them). */
function hostDev(): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (p: string) => {
    const st = lstatSync(p);
    // A character device's times move whenever anyone on the host uses it (a new pty touches /dev/ptmx): not ours to compare.
    const times = st.isCharacterDevice() ? '' : `${st.mtimeMs} ${st.ctimeMs}`;
    out[p] = [st.mode.toString(8), st.rdev, st.uid, st.gid, st.ino, times, st.isSymbolicLink() ? readlinkSync(p) : ''].join(' ');
    if (st.isDirectory() && p !== '/dev/pts' && p !== '/dev/shm') for (const n of readdirSync(p)) walk(join(p, n));
  };
  walk('/dev');
  return out;
}

/** pids of processes whose argv is exactly `argv` (e.g. ['sleep', '313']). */
function pidsWith(...argv: string[]): number[] {
  const want = argv.join('\0') + '\0';
  const pids: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readFileSync(`/proc/${d}/cmdline`, 'utf8') === want) pids.push(Number(d));
    } catch {
      /* gone */
    }
  }
  return pids;
}

async function waitUntil(cond: () => boolean, ms = 5000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 25));
  }
  return cond();
}

describe('runInChroot on a real bookworm minbase root', () => {
  let t: TestRoot;
  let root: string;
  let mountsBefore: string;
  let devBefore: Record<string, string>;

  beforeAll(async () => {
    t = await makeDebianRoot();
    root = t.root;
    ownRoot = root;
    // After the test root's own tmpfs mount: from here on nothing may change.
    mountsBefore = mountinfo();
    devBefore = hostDev();
  }, 300_000);

  afterAll(async () => {
    await t?.dispose();
  });

  it('dpkg -l and apt-get --version work', async () => {
    const dpkg = await runInChroot(root, ['dpkg', '-l']);
    expect(dpkg.stdout).toMatch(/^ii\s+apt\s/m);
    expect(dpkg.stdout).toMatch(/^ii\s+dpkg\s/m);
    const apt = await runInChroot(root, ['apt-get', '--version']);
    expect(apt.stdout).toMatch(/^apt 2\.6\./);
    const os = await runInChroot(root, ['cat', '/etc/os-release']);
    expect(os.stdout).toContain('VERSION_CODENAME=bookworm');
  });

  it('has its own /dev: exactly the expected nodes, /dev/null a working char device 1:3', async () => {
    const r = await runInChroot(root, [
      'sh',
      '-c',
      'ls -A /dev; echo ---; stat -c "%n %F %t:%T %a" /dev/null /dev/zero /dev/full /dev/random /dev/urandom /dev/tty; ' +
        'echo hi > /dev/null && echo null-ok; head -c 16 /dev/urandom | wc -c; head -c 5 /dev/zero | od -An -tx1; ' +
        'echo x > /dev/full 2>/dev/null || echo full-enospc; readlink /dev/fd /dev/ptmx; stat -c "%a" /dev/shm',
    ]);
    const [ls, rest] = r.stdout.split('---\n');
    expect(ls!.trim().split('\n').sort()).toEqual(
      ['fd', 'full', 'null', 'ptmx', 'pts', 'random', 'shm', 'stderr', 'stdin', 'stdout', 'tty', 'urandom', 'zero'].sort(),
    );
    expect(rest).toContain('/dev/null character special file 1:3 666');
    expect(rest).toContain('/dev/zero character special file 1:5 666');
    expect(rest).toContain('/dev/full character special file 1:7 666');
    expect(rest).toContain('/dev/random character special file 1:8 666');
    expect(rest).toContain('/dev/urandom character special file 1:9 666');
    expect(rest).toContain('/dev/tty character special file 5:0 666');
    expect(rest).toContain('null-ok');
    expect(rest).toMatch(/^16$/m);
    expect(rest).toContain(' 00 00 00 00 00');
    expect(rest).toContain('full-enospc');
    expect(rest).toContain('/proc/self/fd\npts/ptmx\n1777');
  });

  it('/dev/pts is a new devpts instance, not the host one', async () => {
    const r = await runInChroot(root, [
      'sh',
      '-c',
      'ls -A /dev/pts; echo ---; stat -c %d /dev/pts; grep " /dev/pts " /proc/self/mountinfo',
    ]);
    const [ls, rest] = r.stdout.split('---\n');
    expect(ls!.trim()).toBe('ptmx');
    const [dev, line] = rest!.trim().split('\n');
    expect(Number(dev)).not.toBe(statSync('/dev/pts').dev);
    expect(line).toMatch(/ - devpts /);
    expect(line).toContain('ptmxmode=666');
    // and no mount of the host's devtmpfs anywhere in the chroot
    const all = await runInChroot(root, ['cat', '/proc/self/mountinfo']);
    expect(all.stdout).not.toMatch(/ - devtmpfs /);
  });

  it('ls /proc/self works; proc belongs to a new PID namespace; /sys is read-only', async () => {
    const r = await runInChroot(root, ['sh', '-c', 'ls /proc/self >/dev/null && echo proc-ok; cat /proc/1/cmdline | tr "\\0" " "; echo; touch /sys/x 2>&1 || true']);
    expect(r.stdout).toContain('proc-ok');
    expect(r.stdout).toMatch(/\/bin\/sh -c/); // PID 1 is our namespace shell, not the host init
    expect(r.stdout + r.stderr).toMatch(/Read-only file system/);
  });

  it('policy-rc.d denies service starts during the run and is gone afterwards', async () => {
    const init = join(root, 'etc/init.d/koder-probe');
    writeFileSync(init, '#!/bin/sh\necho "$1" >> /var/tmp/koder-probe-started\n');
    chmodSync(init, 0o755);
    try {
      const r = await runInChroot(root, ['sh', '-c', '/usr/sbin/policy-rc.d koder-probe start; echo policy=$?; invoke-rc.d koder-probe start; echo invoke=$?']);
      expect(r.stdout).toContain('policy=101');
      expect(r.stderr).toContain('policy-rc.d denied execution of start');
      expect(existsSync(join(root, 'var/tmp/koder-probe-started'))).toBe(false);
      expect(existsSync(join(root, 'usr/sbin/policy-rc.d'))).toBe(false);
      expect(existsSync(join(root, 'var/lib/koder-restore'))).toBe(false);
    } finally {
      rmSync(init);
    }
  });

  it("a target's own policy-rc.d is replaced for the run and restored byte-identical after", async () => {
    const p = join(root, 'usr/sbin/policy-rc.d');
    writeFileSync(p, '#!/bin/sh\n# the admin\'s own\nexit 0\n');
    chmodSync(p, 0o700);
    try {
      const r = await runInChroot(root, ['sh', '-c', '/usr/sbin/policy-rc.d x start; echo $?']);
      expect(r.stdout.trim()).toBe('101');
      expect(readFileSync(p, 'utf8')).toBe("#!/bin/sh\n# the admin's own\nexit 0\n");
      expect(statSync(p).mode & 0o7777).toBe(0o700);
    } finally {
      rmSync(p);
    }
  });

  it('uses the host resolv.conf read-only, and restores the target state after (existing file, missing file)', async () => {
    const host = readFileSync('/etc/resolv.conf', 'utf8');
    const target = join(root, 'etc/resolv.conf');
    const original = readFileSync(target);
    const r = await runInChroot(root, ['sh', '-c', 'cat /etc/resolv.conf; echo nameserver 6.6.6.6 > /etc/resolv.conf || echo ro-ok']);
    expect(r.stdout).toContain(host);
    expect(r.stdout).toContain('ro-ok');
    expect(readFileSync(target)).toEqual(original);
    expect(readFileSync('/etc/resolv.conf', 'utf8')).toBe(host);

    rmSync(target);
    try {
      const r2 = await runInChroot(root, ['cat', '/etc/resolv.conf']);
      expect(r2.stdout).toBe(host);
      expect(existsSync(target)).toBe(false); // the empty mount point we created is removed
      // a symlink into /run (systemd-resolved style) is served from the run tmpfs
      symlinkSync('../run/systemd/resolve/stub-resolv.conf', target);
      const r3 = await runInChroot(root, ['cat', '/etc/resolv.conf']);
      expect(r3.stdout).toBe(host);
      expect(existsSync(join(root, 'run/systemd'))).toBe(false);
      rmSync(target);
    } finally {
      writeFileSync(target, original);
    }
  });

  it('passes argv verbatim (no shell interpolation), env, and stdin', async () => {
    const args = ['a b', '$(touch /tmp/pwned)', "it's", 'semi;colon', 'new\nline', '*', '-e'];
    const r = await runInChroot(root, ['printf', '%s|', ...args]);
    expect(r.stdout).toBe(args.map((a) => `${a}|`).join(''));
    expect(existsSync(join(root, 'tmp/pwned'))).toBe(false);
    const e = await runInChroot(root, ['sh', '-c', 'echo "$FOO|$DEBIAN_FRONTEND|$PATH|${VITEST:-unset}"'], { env: { FOO: 'x y=z' } });
    expect(e.stdout.trim()).toBe('x y=z|noninteractive|/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin|unset');
    const s = await runInChroot(root, ['tr', 'a-z', 'A-Z'], { stdin: 'hello\n' });
    expect(s.stdout).toBe('HELLO\n');
  });

  it('nice: the command and what it starts run at that niceness; without it, at the caller\'s', async () => {
    // Field 19 of /proc/PID/stat is the niceness; `sh -c` forks `cat`, so the child's is read.
    const niceOf = async (o: { nice?: number }) => Number((await runInChroot(root, ['sh', '-c', 'cat /proc/self/stat'], o)).stdout.replace(/^.*\) /, '').split(' ')[16]);
    const base = await niceOf({});
    expect(base).toBe(getPriority());
    expect(await niceOf({ nice: -10 })).toBe(Math.max(-20, base - 10));
    expect(await niceOf({ nice: 5 })).toBe(Math.min(19, base + 5));
  });

  it("preload: a host library is mapped into the command and what it starts, from the namespace's /run, never on the target's disk", async () => {
    const lib = fsyncShim();
    expect(lib, "the host's libeatmydata (eatmydata, scripts/install-system-deps.sh)").toBeDefined();
    // `sh -c` forks `cat`: the child's own map is read.
    const maps = (o: { preload?: string }) => runInChroot(root, ['sh', '-c', 'cat /proc/self/maps; echo "LD_PRELOAD=$LD_PRELOAD"'], o).then((r) => r.stdout);
    const with_ = await maps({ preload: lib! });
    expect(with_).toContain('/run/koder-preload/libeatmydata.so.1');
    expect(with_).toContain('LD_PRELOAD=/run/koder-preload/libeatmydata.so.1');
    const without = await maps({});
    expect(without).not.toContain('libeatmydata');
    expect(without).toContain('LD_PRELOAD=\n');
    expect(existsSync(join(root, 'run/koder-preload'))).toBe(false);
    // Only an absolute path to a library's file name: nothing LD_PRELOAD's list or the shell would read another way.
    for (const bad of ['libeatmydata.so.1', '/usr/lib/a b.so', '/usr/lib/a:b.so', '/usr/lib/not-a-library']) {
      await expect(runInChroot(root, ['true'], { preload: bad })).rejects.toThrow(/bad preload/);
    }
  });

  it('onStatus: the command has a status pipe on fd 4, apart from stdout/stderr; without it fd 4 is closed', async () => {
    const chunks: Buffer[] = [];
    const script = 'echo out; echo err >&2; printf "dlstatus:1:50.0:x\\npmstatus:jq:10.0:Unpacking jq\\n" >&4; echo done';
    const r = await runInChroot(root, ['sh', '-c', script], { onStatus: (b) => chunks.push(b) });
    expect(r.stdout).toBe('out\ndone\n');
    expect(r.stderr).toBe('err\n');
    expect(Buffer.concat(chunks).toString()).toBe('dlstatus:1:50.0:x\npmstatus:jq:10.0:Unpacking jq\n');
    const without = await runInChroot(root, ['sh', '-c', 'echo x >&4 && echo wrote'], { check: false });
    expect(without.stdout).not.toContain('wrote');
    expect(without.code).not.toBe(0);
    // The runner's own fd 3 never reaches the command either.
    const fds = "for fd in 3 4; do [ -e /proc/$$/fd/$fd ] && echo $fd; done; true";
    expect((await runInChroot(root, ['sh', '-c', fds], { onStatus: () => {} })).stdout).toBe('4\n');
    expect((await runInChroot(root, ['sh', '-c', fds])).stdout).toBe('');
  });

  it('a failing command rejects with ChrootError (command, exit code, stderr tail); check:false returns the code', async () => {
    const err = await runInChroot(root, ['sh', '-c', 'echo first >&2; echo boom >&2; exit 7']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ChrootError);
    expect((err as ChrootError).exitCode).toBe(7);
    expect((err as ChrootError).phase).toBe('command');
    expect((err as ChrootError).command).toEqual(['sh', '-c', 'echo first >&2; echo boom >&2; exit 7']);
    expect((err as ChrootError).stderrTail).toMatch(/boom$/);
    const r = await runInChroot(root, ['sh', '-c', 'exit 3'], { check: false });
    expect(r.code).toBe(3);
    const missing = await runInChroot(root, ['/no/such/binary']).catch((e: unknown) => e);
    expect((missing as ChrootError).exitCode).toBe(127);
  });

  it('times out by killing the whole namespace', async () => {
    const t0 = Date.now();
    const [a, b] = [uniq(), uniq()];
    const err = await runInChroot(root, ['sh', '-c', `sleep ${a} & sleep ${b}`], { timeoutMs: 500 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ChrootError);
    expect((err as ChrootError).phase).toBe('timeout');
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(await waitUntil(() => pidsWith('sleep', a).length === 0 && pidsWith('sleep', b).length === 0)).toBe(true);
  });

  it('the host mount table does not change while a command runs', async () => {
    let during = '';
    await runInChroot(root, ['sh', '-c', 'echo started; sleep 0.3'], {
      onOutput: (c) => {
        if (c.toString().includes('started')) during = mountinfo();
      },
    });
    expect(during).not.toBe('');
    expect(during).toBe(mountsBefore);
  });

  it('SIGKILL of the runner mid-command: every process of the namespace dies, no mount leaks, target restored', async () => {
    let pid = 0;
    let sawThemRunning = false;
    const [a, b] = [uniq(), uniq()];
    const p = runInChroot(root, ['sh', '-c', `echo started; sleep ${a} & exec sleep ${b}`], {
      onSpawn: (x) => (pid = x),
      onOutput: (c) => {
        if (!c.toString().includes('started')) return;
        // kill once both sleeps run, so there is something to leak
        void waitUntil(() => pidsWith('sleep', a).length === 1 && pidsWith('sleep', b).length === 1).then((up) => {
          sawThemRunning = up;
          process.kill(pid, 'SIGKILL');
        });
      },
    });
    const err = await p.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ChrootError);
    expect((err as ChrootError).signal).toBe('SIGKILL');
    expect(sawThemRunning).toBe(true);
    expect(await waitUntil(() => pidsWith('sleep', a).length === 0 && pidsWith('sleep', b).length === 0)).toBe(true);
    expect(mountinfo()).toBe(mountsBefore);
    expect(existsSync(join(root, 'usr/sbin/policy-rc.d'))).toBe(false);
  });

  it('SIGKILL of node itself mid-command: the namespace dies with it; the next run undoes the leftovers', async () => {
    const fixture = fileURLToPath(new URL('./fixtures/run-in-chroot.ts', import.meta.url));
    const [a, b] = [uniq(), uniq()];
    const child = spawn(process.execPath, ['--import', 'tsx', fixture, root, 'sh', '-c', `echo started; sleep ${a} & exec sleep ${b}`], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      let errText = '';
      child.stderr.on('data', (d: Buffer) => (errText += d.toString()));
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (d: Buffer) => {
          if (d.toString().includes('started')) resolve();
        });
        child.on('exit', () => reject(new Error(`fixture exited early: ${errText}`)));
      });
      // the namespace's processes are running (exec of the sleep may lag the echo a little)
      expect(await waitUntil(() => pidsWith('sleep', b).length === 1 && pidsWith('sleep', a).length === 1)).toBe(true);
    } finally {
      child.kill('SIGKILL');
    }
    expect(await waitUntil(() => pidsWith('sleep', a).length === 0 && pidsWith('sleep', b).length === 0)).toBe(true);
    expect(mountinfo()).toBe(mountsBefore);
    // node died before it could restore: our policy-rc.d and the journal are still there ...
    expect(readFileSync(join(root, 'usr/sbin/policy-rc.d'), 'utf8')).toContain('exit 101');
    expect(existsSync(join(root, 'var/lib/koder-restore/chroot-runner.json'))).toBe(true);
    // ... until the next recovery.
    await recoverChrootLeftovers(root);
    expect(existsSync(join(root, 'usr/sbin/policy-rc.d'))).toBe(false);
    expect(existsSync(join(root, 'var/lib/koder-restore'))).toBe(false);
  });

  it('host /dev and the host mount table are unchanged after all of the above', () => {
    expect(hostDev()).toEqual(devBefore);
    expect(mountinfo()).toBe(mountsBefore);
  });
});

describe('target root guard', () => {
  it('refuses /, a path that resolves to /, a non-directory, a relative or missing path', async () => {
    const e = await makeEmptyRoot();
    try {
      writeFileSync(join(e.root, 'file'), '');
      symlinkSync('/', join(e.root, 'to-root'));
      for (const bad of ['/', '/tmp/..', join(e.root, 'to-root'), join(e.root, 'file'), 'relative/dir', join(e.root, 'missing'), '']) {
        await expect(assertTargetRoot(bad), bad).rejects.toBeInstanceOf(TargetRootError);
        await expect(runInChroot(bad, ['true']), bad).rejects.toBeInstanceOf(TargetRootError);
      }
      expect(await assertTargetRoot(e.root)).toBe(e.root);
    } finally {
      await e.dispose();
    }
  });
});
