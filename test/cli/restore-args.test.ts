/**
 * `koder-snapshot restore` checks its target before the network: a typo in
 * --target, the running system's own /, a target that is not a directory,
 * or a --user missing from the target's /etc/passwd is refused at once
 * (exit 2, a clear message), before any login or download: the server (a
 * plain HTTP server counting requests) hears nothing, and no state dir is
 * made. A good target does go on to the server, so the counter can tell.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const BIN = new URL('../../bin/koder-snapshot.mjs', import.meta.url).pathname;
let work: string, server: Server, url: string, target: string, noPasswd: string;
let requests: string[] = [];

function restore(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env = { PATH: process.env.PATH, HOME: work, XDG_CONFIG_HOME: join(work, 'config'), XDG_STATE_HOME: join(work, 'state') };
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, 'restore', '--server', url, '--state-dir', join(work, 'state-dir'), ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'ks-restore-args-'));
  target = join(work, 'target');
  mkdirSync(join(target, 'etc'), { recursive: true });
  writeFileSync(join(target, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/bash\nana:x:1000:1000:Ana:/home/ana:/bin/bash\n');
  noPasswd = join(work, 'bare');
  mkdirSync(noPasswd);
  writeFileSync(join(work, 'a-file'), 'x');
  server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    res.writeHead(503).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((r) => server?.close(r));
  rmSync(work, { recursive: true, force: true });
});

describe('restore refuses a bad target before the network', () => {
  const cases: Array<[string, () => string[], RegExp]> = [
    ['a --target that does not exist (a typo: /mtn)', () => ['--target', '/mtn-koder-typo', '--user', 'ana'], /refusing target root "\/mtn-koder-typo": does not exist/],
    ['--target / (the running system itself)', () => ['--target', '/', '--user', 'ana'], /refusing target root "\/": is this running system's own \//],
    ['a --target that resolves to / (/tmp/..), with --dry-run', () => ['--target', '/tmp/..', '--user', 'ana', '--dry-run'], /is this running system's own \//],
    ['a --target that is a file', () => ['--target', join(work, 'a-file'), '--user', 'ana'], /not a directory/],
    ["a --user missing from the target's /etc/passwd", () => ['--target', target, '--user', 'bob'], /user "bob" is not in the target's \/etc\/passwd/],
    ['a target without /etc/passwd', () => ['--target', noPasswd, '--user', 'ana'], /user "ana" cannot be looked up: the target has no \/etc\/passwd/],
  ];
  for (const [what, args, message] of cases) {
    it(`${what}: exit 2 at once, nothing asked of the server, no state`, async () => {
      requests = [];
      const r = await restore([...args(), '--json']);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr.split('\n').filter(Boolean)).toHaveLength(1); // one clear line, no usage dump
      expect(requests).toEqual([]);
      expect(existsSync(join(work, 'state-dir'))).toBe(false);
    });
  }

  it('a good target and user go on to the server (which this one refuses)', async () => {
    requests = [];
    const r = await restore(['--target', target, '--user', 'ana', '--json']);
    expect(r.code).toBe(1);
    expect(requests.length).toBeGreaterThan(0);
    rmSync(join(work, 'state-dir'), { recursive: true, force: true });
  });
});
