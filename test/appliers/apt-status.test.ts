/**
 * apt's Status-Fd and summary lines (src/chroot-appliers/apt-status.ts),
 * pure, on a recording of a real run: `apt-get -o APT::Status-Fd=4 install`
 * of 24 packages (93 with their dependencies, 36.2 MB) into a fresh bookworm
 * minbase root through the chroot runner, every stdout/stderr/status line
 * with its time (test/fixtures/apt/bookworm-install-24.jsonl.gz).
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { AptRunTracker, parseAptSize, parseAptStatusLine, parseChangeSummary, parseNeedToGet, type AptRun } from '../../src/chroot-appliers/apt-status.ts';
import { aptWork } from '../../src/chroot-appliers/apt.ts';
import { lineSplitter } from '../../src/chroot-appliers/chroot-commands.ts';

interface Rec { t: number; fd: 'stdout' | 'stderr' | 'status'; line: string }
const RECORDING: Rec[] = gunzipSync(readFileSync(new URL('../fixtures/apt/bookworm-install-24.jsonl.gz', import.meta.url)))
  .toString('utf8')
  .trim()
  .split('\n')
  .map((l) => JSON.parse(l) as Rec);
const REQUESTED = 'jq tree less curl git vim-tiny nano htop file zip unzip rsync wget bc patch make lsof strace psmisc man-db python3 ncdu tmux sqlite3'.split(' ');

describe('Status-Fd lines', () => {
  it('parses dlstatus, pmstatus, pmerror and pmconffile; anything else is not a status', () => {
    expect(parseAptStatusLine('dlstatus:7:19.0965:Retrieving file 7 of 46')).toEqual({ kind: 'dlstatus', item: 7, percent: 19.0965, text: 'Retrieving file 7 of 46' });
    expect(parseAptStatusLine('pmstatus:libssl3:0.2681:Unpacking libssl3 (amd64)')).toEqual({ kind: 'pmstatus', pkg: 'libssl3', percent: 0.2681, text: 'Unpacking libssl3 (amd64)' });
    expect(parseAptStatusLine('pmstatus:dpkg-exec:0.0000:Running dpkg')).toMatchObject({ pkg: 'dpkg-exec', percent: 0 });
    // A foreign-architecture package keeps its ":arch"; a message may hold colons.
    expect(parseAptStatusLine('pmstatus:libc6:i386:12.5000:Unpacking libc6:i386 (i386)')).toMatchObject({ pkg: 'libc6:i386', percent: 12.5, text: 'Unpacking libc6:i386 (i386)' });
    expect(parseAptStatusLine("pmerror:koder-broken:50.0000:dependency problems - leaving unconfigured: see 'x'")).toMatchObject({ kind: 'pmerror', pkg: 'koder-broken', text: "dependency problems - leaving unconfigured: see 'x'" });
    expect(parseAptStatusLine("pmconffile:/etc/x.conf:/etc/x.conf.dpkg-new:1:'conffile changed'")).toMatchObject({ kind: 'pmconffile' });
    expect(parseAptStatusLine('pmstatus:jq:120:Installed jq')).toMatchObject({ percent: 100 });
    for (const bad of ['', 'dlstatus:x:1:y', 'pmstatus:jq:abc:Unpacking', 'Setting up jq (1.6) ...', 'media-change: x']) expect(parseAptStatusLine(bad), bad).toBeUndefined();
  });

  it('reads apt sizes and the two summary lines', () => {
    expect(parseAptSize('36.2 MB')).toBe(36_200_000);
    expect(parseAptSize('812 kB')).toBe(812_000);
    expect(parseAptSize('8808 B')).toBe(8808);
    expect(parseAptSize('1,5 GB')).toBe(1_500_000_000);
    expect(parseAptSize('lots')).toBeUndefined();
    expect(parseNeedToGet('Need to get 36.2 MB of archives.')).toBe(36_200_000);
    expect(parseNeedToGet('Need to get 0 B/36.2 MB of archives.')).toBe(0);
    expect(parseNeedToGet('Need to get 12.0 MB/36.2 MB of archives.')).toBe(12_000_000);
    expect(parseNeedToGet('After this operation, 139 MB of additional disk space will be used.')).toBeUndefined();
    expect(parseChangeSummary('0 upgraded, 93 newly installed, 0 to remove and 0 not upgraded.')).toBe(93);
    expect(parseChangeSummary('2 upgraded, 3 newly installed, 1 reinstalled, 1 to remove and 7 not upgraded.')).toBe(7);
    expect(parseChangeSummary('93 newly installed')).toBeUndefined();
  });

  it('splits output into lines at \\n, \\r\\n and a lone \\r (a progress bar redrawn in place), across chunks', () => {
    const lines: string[] = [];
    const s = lineSplitter((l) => lines.push(l));
    for (const chunk of ['a\nb\r', '\nInstalling 1/2... [#   ]  10%\rInstalling 1/2... [##  ]', '  50%\r', 'Installing 2/2...\n\nlast']) s.push(Buffer.from(chunk));
    s.end();
    expect(lines).toEqual(['a', 'b', 'Installing 1/2... [#   ]  10%', 'Installing 1/2... [##  ]  50%', 'Installing 2/2...', 'last']);
  });
});

describe('a recorded apt-get install, replayed', () => {
  const replay = () => {
    const tracker = new AptRunTracker();
    const seen: Array<AptRun & { t: number }> = [];
    for (const r of RECORDING) {
      const changed = r.fd === 'status' ? tracker.status(r.line) : r.fd === 'stdout' ? tracker.stdout(r.line) : false;
      if (changed) seen.push({ ...tracker.snapshot, t: r.t });
    }
    return { end: tracker.snapshot, seen };
  };

  it('resolve → download → install, with the work apt announced', () => {
    const { end, seen } = replay();
    const phases = seen.map((s) => s.phase).filter((p, i, a) => p !== a[i - 1]);
    // Status-Fd and stdout are two pipes: apt's first dlstatus may come before its summary line.
    expect(phases.slice(-2)).toEqual(['download', 'install']);
    expect(phases.length).toBeLessThanOrEqual(3);
    expect(end.packages).toBe(93);
    expect(end.downloadTotal).toBe(36_200_000);
    expect(end.downloadDone).toBe(36_200_000);
    expect(end.installFraction).toBeGreaterThan(0.99);
    expect(end.errors).toEqual([]);
    // every requested package (and each dependency) reported installed by dpkg
    expect(end.installed).toEqual(expect.arrayContaining(REQUESTED));
    expect(new Set(end.installed).size).toBe(93);
  });

  it('download and install progress only rise, in many steps, with the package in hand', () => {
    const { seen } = replay();
    const dl = seen.filter((s) => s.phase === 'download').map((s) => s.downloadDone);
    const inst = seen.filter((s) => s.phase === 'install').map((s) => s.installFraction);
    for (const xs of [dl, inst]) for (let i = 1; i < xs.length; i++) expect(xs[i]!).toBeGreaterThanOrEqual(xs[i - 1]!);
    expect(new Set(dl).size).toBeGreaterThan(10);
    expect(new Set(inst).size).toBeGreaterThan(100);
    // apt's own percentage steps back when it re-plans (97.3 → 92.5 in this run); ours does not
    const raw = RECORDING.filter((r) => r.line.startsWith('pmstatus:')).map((r) => (parseAptStatusLine(r.line) as { percent: number }).percent);
    expect(raw.some((p, i) => i > 0 && p < raw[i - 1]!)).toBe(true);
    const install = seen.filter((s) => s.phase === 'install');
    expect(install.some((s) => s.current === 'jq')).toBe(true);
    expect(install.find((s) => s.current === 'python3.11-minimal')?.action).toMatch(/^(Preparing|Unpacking|Installing|Configuring|Installed|Preparing to configure)$/);
    expect(install.every((s) => s.current !== 'dpkg-exec')).toBe(true);
  });

  it('finish (apt-get exited 0): all it announced is done, though its last percentage stopped short', () => {
    const t = new AptRunTracker();
    t.stdout('0 upgraded, 4 newly installed, 0 to remove and 0 not upgraded.');
    t.stdout('Need to get 1,2 MB of archives.');
    t.status('pmstatus:jq:94.1176:Installed jq (amd64)');
    expect(t.snapshot.installFraction).toBeCloseTo(0.941, 3);
    t.finish();
    expect(t.snapshot).toMatchObject({ phase: 'install', installFraction: 1, downloadDone: 1_200_000, downloadTotal: 1_200_000, packages: 4 });
    const idle = new AptRunTracker();
    idle.finish();
    expect(idle.snapshot.phase).toBe('resolve');
  });

  it('aptWork: archive bytes for the network, packages dpkg unpacked, packages it configured; nothing before apt said how much', () => {
    const { seen } = replay();
    expect(aptWork(seen[0]!)).toBeUndefined();
    const mid = seen.find((s) => s.phase === 'install' && s.installFraction > 0.5)!;
    expect(mid.unpacked).toBeGreaterThan(mid.configured);
    expect(aptWork(mid)).toEqual([
      { rate: 'network', total: 36_200_000, done: 36_200_000 },
      { rate: 'apt', total: 93, done: mid.unpacked },
      { rate: 'configure', total: 93, done: mid.configured },
    ]);
    // Counted by package: each of the 93 is unpacked, then configured, once.
    const unpacked = seen.map((s) => s.unpacked);
    const configured = seen.map((s) => s.configured);
    for (let i = 1; i < seen.length; i++) {
      expect(unpacked[i]!).toBeGreaterThanOrEqual(unpacked[i - 1]!);
      expect(configured[i]!).toBeGreaterThanOrEqual(configured[i - 1]!);
      expect(configured[i]!).toBeLessThanOrEqual(unpacked[i]!);
    }
    expect(seen.at(-1)).toMatchObject({ unpacked: 93, configured: 93 });
  });
});
