/**
 * The files data path over HTTP: the extractor's worker thread downloads the
 * blob itself (zstd-worker.ts), attempt by attempt, while the drive client's
 * policy (src/drive/blob-remote.ts) decides on the calling thread: token and
 * its refresh on 401, backoff on transient failures, Range resumes, typed
 * errors. Real extraction into temp target roots, against the real server
 * (directly and through a proxy that cuts connections) and a scriptable fake
 * one (test/helpers/blob-http.ts).
 */
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, linkSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { RemoteBlob } from '../../src/chroot-appliers/remote-blob.ts';
import { restoreTarZst } from '../../src/chroot-appliers/commit-staging.ts';
import { applyFiles } from '../../src/chroot-appliers/files.ts';
import { TarHashMismatchError } from '../../src/chroot-appliers/tar-errors.ts';
import { driveBlobSource } from '../../src/daemon/drive-blobs.ts';
import { DriveClient, DriveError, openBlobRemote, type TokenSource } from '../../src/drive/index.ts';
import type { Manifest } from '../../src/manifest/types.ts';
import { baseManifest, makeCtx, makeEnv, recorder, stepOf, type Env } from '../appliers-data/setup.ts';
import { droppingProxy } from '../drive/dropping-proxy.ts';
import { blobHttpServer, type BlobBehaviour, type BlobHttpServer } from '../helpers/blob-http.ts';
import { loginAs, testServer, type TestServer } from '../server/fixture.ts';
import { snapshotForCompare, snapshotTree } from './tree.ts';
import { rssGrowthDuring } from '../helpers/rss.ts';

const UID = 1000;
const GID = 1000;
const RETRY = { baseMs: 5, maxMs: 20, retries: 4 };
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

function sh(script: string, ...args: string[]): string {
  const r = spawnSync('bash', ['-c', `set -eo pipefail\n${script}`, 'bash', ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${script}\n${r.stderr}`);
  return r.stdout;
}

/** A .tar.zst of `dir` the way capture makes it: `tar --format=posix -C DIR -cf - . | zstd`. */
function tarZst(dir: string, out: string): { bytes: Buffer; hex: string; tarSha: string; tarSize: number } {
  sh('tar --format=posix -C "$1" -cf - . | zstd -q -3 -c > "$2"', dir, out);
  const bytes = readFileSync(out);
  const tar = spawnSync('zstd', ['-d', '-c', out], { maxBuffer: 1 << 30 }).stdout;
  return { bytes, hex: sha256(bytes), tarSha: sha256(tar), tarSize: tar.length };
}

/** A realistic home folder: ~330 files in nested dirs, ~4.5 MiB of random (incompressible) data. */
function makeTree(dir: string): void {
  const w = (rel: string, data: Buffer | string, mode = 0o644) => {
    mkdirSync(join(dir, rel, '..'), { recursive: true });
    writeFileSync(join(dir, rel), data);
    chmodSync(join(dir, rel), mode);
  };
  for (let d = 0; d < 10; d++) {
    for (let f = 0; f < 32; f++) {
      const size = (d * 32 + f) % 7 === 0 ? 0 : 64 + ((d * 977 + f * 131) % 4000);
      w(`d${d}/sub${f % 3}/f${f}.dat`, randomBytes(size), f % 5 === 0 ? 0o600 : f % 5 === 1 ? 0o755 : 0o644);
    }
  }
  w('big/one.bin', randomBytes(1536 * 1024 + 7));
  w('big/two.bin', randomBytes(1536 * 1024 + 3), 0o640);
  w('big/three.bin', Buffer.concat([randomBytes(1024 * 1024), Buffer.alloc(512 * 1024, 'text ')]));
  w('private/secret.txt', 'hunter2\n', 0o600);
  chmodSync(join(dir, 'private'), 0o700);
  chmodSync(join(dir, 'd3'), 0o750);
  mkdirSync(join(dir, 'links'));
  symlinkSync('../d0/sub0/f0.dat', join(dir, 'links/rel'));
  symlinkSync('nowhere', join(dir, 'links/dangling'));
  linkSync(join(dir, 'big/one.bin'), join(dir, 'links/hard.bin'));
  utimesSync(join(dir, 'big/one.bin'), 1_600_000_000, 1_600_000_000);
}

/** Every path of `src` is in `dest` with the same type, content, link target, mode and file mtime, owned by UID:GID. */
function expectSameTree(src: string, dest: string): void {
  const shape = (m: ReturnType<typeof snapshotTree>) =>
    [...m]
      .filter(([rel]) => rel !== '')
      .map(([rel, e]) => ({
        rel,
        type: e.type,
        sha256: e.sha256,
        link: e.link,
        mode: e.type === 'symlink' ? undefined : e.mode.toString(8),
        mtime: e.type === 'file' ? e.mtimeSec : undefined,
      }))
      .sort((a, b) => a.rel.localeCompare(b.rel));
  const want = snapshotTree(src);
  const got = snapshotTree(dest);
  expect(got.size).toBeGreaterThan(300);
  expect(shape(got)).toEqual(shape(want));
  const owners = [...got].filter(([rel]) => rel !== '').filter(([, e]) => e.uid !== UID || e.gid !== GID);
  expect(owners.map(([rel, e]) => `${rel} ${e.uid}:${e.gid}`)).toEqual([]);
  expect(got.get('links/hard.bin')!.ino).toBe(got.get('big/one.bin')!.ino);
}

/** Paths of every `.koder-restore-staging` below `root`. */
function stagingDirs(root: string): string[] {
  const found: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.name === '.koder-restore-staging') found.push(p);
      if (e.isDirectory()) walk(p);
    }
  };
  walk(root);
  return found;
}

let work: string;
let src: string;
let blob: ReturnType<typeof tarZst>;
/** Another valid .tar.zst (a different folder). */
let other: ReturnType<typeof tarZst>;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'koder-remote-blob-'));
  src = join(work, 'src');
  makeTree(src);
  blob = tarZst(src, join(work, 'files.tar.zst'));
  const otherDir = join(work, 'other');
  mkdirSync(otherDir);
  writeFileSync(join(otherDir, 'a.txt'), 'not what you wrote\n');
  other = tarZst(otherDir, join(work, 'other.tar.zst'));
  expect(blob.bytes.length).toBeGreaterThan(4 * 1024 * 1024);
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

/** A fresh target root with an installer-made /home/alice. */
let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'koder-remote-target-'));
  mkdirSync(join(root, 'etc'));
  writeFileSync(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\n');
  mkdirSync(join(root, 'home/alice'), { recursive: true });
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const restore = (remote: RemoteBlob, hex = blob.hex) =>
  restoreTarZst({ remote }, { targetRoot: root, dest: '/home/alice', key: hex, uid: UID, gid: GID, expectedSha256OfBlob: hex });

const settle = <T>(p: Promise<T>) =>
  p.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );

describe('from the real drive server', () => {
  let srv: TestServer;
  let token: string;

  beforeAll(async () => {
    srv = await testServer();
    token = (await loginAs(srv, 'rosa')).access_token;
    const up = await new DriveClient({ server: srv.url, tokens: token }).uploadBlob(blob.hex, join(work, 'files.tar.zst'));
    expect(up.sent).toBe(true);
  });
  afterAll(async () => {
    await srv?.cleanup();
  });

  it('restores byte-identical, modes kept, owned by uid:gid; nothing staged is left', async () => {
    const c = new DriveClient({ server: srv.url, tokens: token, retry: RETRY });
    const r = await restore(openBlobRemote(c, blob.hex));
    expect(r.blobSha256).toBe(blob.hex);
    expect(r.compressedBytes).toBe(blob.bytes.length);
    expect(r.tarBytes).toBe(blob.tarSize);
    expectSameTree(src, join(root, 'home/alice'));
    expect(stagingDirs(root)).toEqual([]);
  });

  it('survives 4 connections cut mid-stream by a proxy: resumes with increasing Range, byte-identical', async () => {
    const proxy = await droppingProxy(srv.url, { drops: 4, minBytes: 100 * 1024, maxBytes: 700 * 1024 });
    try {
      const c = new DriveClient({ server: proxy.url, tokens: token, retry: RETRY });
      const r = await restore(openBlobRemote(c, blob.hex));
      expect(r.blobSha256).toBe(blob.hex);
      expect(proxy.dropsLeft).toBe(0);
      expect(proxy.ranges).toHaveLength(5);
      expect(proxy.ranges[0]).toBeUndefined();
      const starts = proxy.ranges.slice(1).map((h) => Number(/^bytes=(\d+)-$/.exec(h ?? '')?.[1] ?? NaN));
      expect(starts.every((n) => Number.isInteger(n) && n > 0 && n < blob.bytes.length)).toBe(true);
      for (let i = 1; i < starts.length; i++) expect(starts[i]!).toBeGreaterThan(starts[i - 1]!);
      expectSameTree(src, join(root, 'home/alice'));
      expect(stagingDirs(root)).toEqual([]);
    } finally {
      await proxy.close();
    }
  });
});

describe('against a misbehaving blob server', () => {
  let fake: BlobHttpServer | undefined;
  const serve = async (script: BlobBehaviour[], bytes: Buffer = blob.bytes, hex = blob.hex) => {
    fake = await blobHttpServer({ [hex]: bytes }, script);
    return fake;
  };
  afterEach(async () => {
    await fake?.close();
    fake = undefined;
  });
  const client = (f: BlobHttpServer, tokens: TokenSource | string = 'tok') => new DriveClient({ server: f.url, tokens, retry: RETRY });

  it('a resume answered with the whole blob (200) is DriveError range_unsupported; nothing left, no staging dir', async () => {
    const f = await serve(['drop-after:300000', 'ignore-range']);
    const before = snapshotForCompare(root);
    const out = await settle(restore(openBlobRemote(client(f), blob.hex)));
    expect(out.ok).toBe(false);
    const e = (out as { error: unknown }).error;
    expect(e).toBeInstanceOf(DriveError);
    expect((e as DriveError).code).toBe('range_unsupported');
    expect(f.requests.map((r) => [r.range, r.status])).toEqual([
      [undefined, 200],
      ['bytes=300000-', 200],
    ]);
    expect(snapshotForCompare(root)).toEqual(before);
    expect(stagingDirs(root)).toEqual([]);
  });

  it('a 401 refreshes the token exactly once; the next request carries the new token; extraction succeeds', async () => {
    const f = await serve(['status:401']);
    let current = 'old-token';
    const refresh = vi.fn(async () => {
      current = 'new-token';
    });
    const tokens: TokenSource = { accessToken: async () => current, refresh };
    const r = await restore(openBlobRemote(client(f, tokens), blob.hex));
    expect(r.blobSha256).toBe(blob.hex);
    expect(refresh).toHaveBeenCalledTimes(1);
    expect(f.requests.map((q) => [q.authorization, q.status])).toEqual([
      ['Bearer old-token', 401],
      ['Bearer new-token', 200],
    ]);
    expectSameTree(src, join(root, 'home/alice'));
  });

  it('a second 401 is not refreshed again: DriveError 401, nothing left', async () => {
    const f = await serve(['status:401', 'status:401']);
    const refresh = vi.fn(async () => undefined);
    const before = snapshotForCompare(root);
    const out = await settle(restore(openBlobRemote(client(f, { accessToken: async () => 't', refresh }), blob.hex)));
    expect(out.ok).toBe(false);
    expect((out as { error: unknown }).error).toMatchObject({ name: 'DriveError', status: 401, code: 'unauthorized' });
    expect(refresh).toHaveBeenCalledTimes(1);
    expect(f.requests).toHaveLength(2);
    expect(snapshotForCompare(root)).toEqual(before);
    expect(stagingDirs(root)).toEqual([]);
  });

  it('503 twice, then ok: retried with backoff, succeeds', async () => {
    const f = await serve(['status:503', 'status:503']);
    const r = await restore(openBlobRemote(client(f), blob.hex));
    expect(r.blobSha256).toBe(blob.hex);
    expect(f.requests.map((q) => [q.range, q.status])).toEqual([
      [undefined, 503],
      [undefined, 503],
      [undefined, 200],
    ]);
    expectSameTree(src, join(root, 'home/alice'));
  });

  it('more 503s than retries: gives up with DriveError 503 after 1 + retries requests', async () => {
    const f = await serve(Array.from({ length: 10 }, () => 'status:503' as const));
    const before = snapshotForCompare(root);
    const out = await settle(restore(openBlobRemote(client(f), blob.hex)));
    expect((out as { error: unknown }).error).toMatchObject({ name: 'DriveError', status: 503, code: 'http_error', serverCode: 'unavailable' });
    expect(f.requests).toHaveLength(1 + RETRY.retries);
    expect(snapshotForCompare(root)).toEqual(before);
    expect(stagingDirs(root)).toEqual([]);
  });

  it('404: DriveError 404 not_found at once, one request only (not retried), nothing left', async () => {
    const f = await serve(['status:404']);
    const before = snapshotForCompare(root);
    const t0 = Date.now();
    const out = await settle(restore(openBlobRemote(client(f), blob.hex)));
    const elapsed = Date.now() - t0;
    expect(out.ok).toBe(false);
    const e = (out as { error: unknown }).error;
    expect(e).toBeInstanceOf(DriveError);
    expect(e).toMatchObject({ status: 404, code: 'not_found' });
    expect(elapsed).toBeLessThan(2000);
    await new Promise((r) => setTimeout(r, 100)); // a retry would have come by now (backoff ≤ 20 ms)
    expect(f.requests).toHaveLength(1);
    expect(snapshotForCompare(root)).toEqual(before);
    expect(stagingDirs(root)).toEqual([]);
  });

  it('more cut connections than retries: DriveError network after 1 + retries requests, nothing left', async () => {
    const f = await serve(Array.from({ length: RETRY.retries + 1 }, (_, i) => `drop-after:${100_000 * (i + 1)}` as const));
    const before = snapshotForCompare(root);
    const out = await settle(restore(openBlobRemote(client(f), blob.hex)));
    expect(out.ok).toBe(false);
    expect((out as { error: unknown }).error).toMatchObject({ name: 'DriveError', status: 0, code: 'network' });
    // each attempt resumed where the previous one was cut
    expect(f.requests.map((q) => q.range)).toEqual([undefined, 'bytes=100000-', 'bytes=300000-', 'bytes=600000-', 'bytes=1000000-']);
    expect(snapshotForCompare(root)).toEqual(before);
    expect(stagingDirs(root)).toEqual([]);
  });

  it('a stalled answer (no data for stallMs) is given up and resumed at the byte reached; succeeds', async () => {
    const f = await serve(['stall-after:200000']);
    const t0 = Date.now();
    const r = await restore(openBlobRemote(client(f), blob.hex, { stallMs: 300 }));
    const elapsed = Date.now() - t0;
    expect(r.blobSha256).toBe(blob.hex);
    expect(elapsed).toBeGreaterThanOrEqual(290);
    expect(f.requests.slice(0, 2).map((q) => [q.range, q.status])).toEqual([
      [undefined, 200],
      ['bytes=200000-', 206],
    ]);
    // With 300 ms and this fake server on the extractor's own (busy) thread, a
    // starved CPU can make a healthy answer look stalled too: any further
    // attempt must still be a resume further on.
    const starts = f.requests.slice(1).map((q) => Number(/^bytes=(\d+)-$/.exec(q.range ?? '')?.[1] ?? NaN));
    for (let i = 1; i < starts.length; i++) expect(starts[i]!).toBeGreaterThan(starts[i - 1]!);
    expect(f.requests.slice(1).every((q) => q.status === 206)).toBe(true);
    expectSameTree(src, join(root, 'home/alice'));
  });

  it('drops at fixed offsets resume exactly at the byte reached', async () => {
    const f = await serve(['drop-after:0', 'drop-after:150000', 'drop-after:1000000', 'drop-after:5']);
    const r = await restore(openBlobRemote(client(f), blob.hex));
    expect(r.blobSha256).toBe(blob.hex);
    expect(f.requests.map((q) => q.range)).toEqual([undefined, undefined, 'bytes=150000-', 'bytes=1150000-', 'bytes=1150005-']);
    expectSameTree(src, join(root, 'home/alice'));
  });

  // The extractor listens to the signal itself: a reader waiting on a stalled
  // download would otherwise hear of the cancel only at the stall timeout.
  it('an abort during a stalled answer stops the restore promptly, nothing left', async () => {
    const f = await serve(['stall-after:100000']);
    const before = snapshotForCompare(root);
    const ac = new AbortController();
    const remote = openBlobRemote(client(f), blob.hex, { signal: ac.signal, stallMs: 20_000 });
    // Cancelled while the answer stalls: once the worker's request is in (worker start-up time varies with load).
    let t0 = Date.now();
    const cancel = setInterval(() => {
      if (f.requests.length === 0) return;
      clearInterval(cancel);
      setTimeout(() => {
        t0 = Date.now();
        ac.abort(new Error('cancelled by the user'));
      }, 200);
    }, 20);
    const out = await settle(
      restoreTarZst({ remote }, { targetRoot: root, dest: '/home/alice', key: blob.hex, uid: UID, gid: GID, expectedSha256OfBlob: blob.hex, signal: ac.signal }),
    );
    clearInterval(cancel);
    expect(out.ok).toBe(false);
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(f.requests).toHaveLength(1);
    expect(snapshotForCompare(root)).toEqual(before);
    expect(stagingDirs(root)).toEqual([]);
  });

  it('another valid .tar.zst under the address: TarHashMismatchError (blob), nothing left', async () => {
    const f = await serve([], other.bytes, blob.hex);
    const before = snapshotForCompare(root);
    const out = await settle(restore(openBlobRemote(client(f), blob.hex)));
    expect(out.ok).toBe(false);
    const e = (out as { error: unknown }).error;
    expect(e).toBeInstanceOf(TarHashMismatchError);
    expect(e).toMatchObject({ which: 'blob', expected: blob.hex, actual: other.hex });
    expect(f.requests).toHaveLength(1);
    expect(snapshotForCompare(root)).toEqual(before);
    expect(stagingDirs(root)).toEqual([]);
  });

  it('a remote zstd bomb (512 MiB of zeros, one drop) extracts with bounded RSS', async () => {
    const bombFile = join(work, 'bomb.tar.zst');
    sh('cd "$1" && truncate -s 512M zeros && tar --format=gnu -cf - zeros | zstd -q -3 -c > "$2" && rm zeros', work, bombFile);
    const bomb = readFileSync(bombFile);
    expect(bomb.length).toBeLessThan(1024 * 1024);
    const hex = sha256(bomb);
    const f = await serve([`drop-after:${Math.floor(bomb.length / 2)}`], bomb, hex);
    const { result: r, growthMiB } = await rssGrowthDuring((sample) =>
      restoreTarZst(
        { remote: openBlobRemote(client(f), hex) },
        { targetRoot: root, dest: '/home/alice', key: hex, uid: UID, gid: GID, expectedSha256OfBlob: hex, onProgress: sample },
      ),
    );
    expect(r.bytes).toBe(512 * 1024 * 1024);
    expect(r.blobSha256).toBe(hex);
    expect(statSync(join(root, 'home/alice/zeros')).size).toBe(512 * 1024 * 1024);
    expect(f.requests.map((q) => q.range)).toEqual([undefined, `bytes=${Math.floor(bomb.length / 2)}-`]);
    expect(growthMiB).toBeLessThan(100);
  }, 60_000);
});

describe('the files applier over driveBlobSource', () => {
  let env: Env;
  let fake: BlobHttpServer | undefined;
  beforeEach(async () => {
    env = await makeEnv();
  });
  afterEach(async () => {
    await fake?.close();
    fake = undefined;
    await env.dispose();
  });

  const manifest = (): Manifest => ({
    ...baseManifest(),
    files: { entry: [{ local_path: '~/Documentos', blob: `sha256:${blob.hex}`, sha256: blob.tarSha, size: blob.tarSize, stored_size: blob.bytes.length }] },
  });
  const apply = (f: BlobHttpServer) => {
    const ctx = { ...makeCtx(env, manifest()), blobs: driveBlobSource(new DriveClient({ server: f.url, tokens: 'tok', retry: RETRY })) };
    return applyFiles(stepOf(ctx, 'files.restore', '~/Documentos'), ctx, recorder());
  };

  it('downloads through the worker (one drop on the way): done, byte-identical', async () => {
    fake = await blobHttpServer({ [blob.hex]: blob.bytes }, ['drop-after:500000']);
    const out = await apply(fake);
    expect(out.status).toBe('done');
    expect(fake.requests.map((q) => q.range)).toEqual([undefined, 'bytes=500000-']);
    expectSameTree(src, join(env.root, 'home/ana/Documentos'));
    expect(stagingDirs(env.root)).toEqual([]);
  });

  it('a 404 from the source is rethrown (stops the restore), not reported as a failed step; nothing left', async () => {
    fake = await blobHttpServer({}, ['status:404']);
    const before = snapshotForCompare(env.root);
    const out = await settle(apply(fake));
    expect(out.ok ? { resolved: out.value } : 'rejected').toBe('rejected');
    const e = (out as { error: unknown }).error;
    expect(e).toBeInstanceOf(DriveError);
    expect(e).toMatchObject({ status: 404, code: 'not_found' });
    expect(fake.requests).toHaveLength(1);
    expect(snapshotForCompare(env.root)).toEqual(before);
    expect(stagingDirs(env.root)).toEqual([]);
    expect(existsSync(join(env.root, 'home/ana/Documentos'))).toBe(false);
  });
});
