/** `koder-snapshot serve` and `serve user add|list`, run in-process. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Io } from '../../src/cli/command.ts';
import { serve } from '../../src/cli/commands/serve.ts';

const dir = mkdtempSync(join(tmpdir(), 'koder-serve-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function io(stdin = ''): Io & { lines: string[]; errs: string[] } {
  const lines: string[] = [];
  const errs: string[] = [];
  return { lines, errs, out: (l) => lines.push(l), err: (l) => errs.push(l), stdin: async () => stdin, isTTY: false };
}

describe('serve', () => {
  it('adds and lists users (password from stdin), refusing duplicates and weak passwords', async () => {
    let o = io('correct horse battery\n');
    expect(await serve.run(['user', 'add', 'joana', '--password-stdin', '--data', dir], o)).toBe(0);
    expect(o.lines[0]).toMatch(/^added joana \(/);
    o = io('correct horse battery\n');
    expect(await serve.run(['user', 'add', 'joana', '--password-stdin', '--data', dir], o)).toBe(1);
    expect(o.errs[0]).toContain('already exists');
    o = io('short\n');
    expect(await serve.run(['user', 'add', 'kai', '--password-stdin', '--data', dir], o)).toBe(1);
    o = io();
    expect(await serve.run(['user', 'list', '--data', dir], o)).toBe(0);
    expect(o.lines).toHaveLength(1);
    expect(o.lines[0]).toMatch(/^joana\t/);
    await expect(serve.run(['user', 'add', 'x', '--data', dir], io())).rejects.toThrow(/password-stdin/);
    await expect(serve.run(['user', 'remove', 'x', '--data', dir], io())).rejects.toThrow(/expected/);
  });

  it('serves until SIGTERM, then stops cleanly', async () => {
    const o = io();
    const running = serve.run(['--port', '0', '--data', dir], o);
    let url: string | undefined;
    for (let i = 0; i < 200 && !url; i++) {
      url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(o.lines.join('\n'))?.[1];
      if (!url) await new Promise((r) => setTimeout(r, 20));
    }
    expect(url).toBeTruthy();
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    const d = (await (await fetch(`${url}/.well-known/openid-configuration`)).json()) as { issuer: string };
    expect(d.issuer).toBe(url);
    process.emit('SIGTERM');
    expect(await running).toBe(0);
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
  });

  it('checks its options', async () => {
    await expect(serve.run(['--port', 'abc', '--data', dir], io())).rejects.toThrow(/port/);
    await expect(serve.run(['--tls-cert', 'x', '--data', dir], io())).rejects.toThrow(/go together/);
    await expect(serve.run(['--issuer', 'not a url', '--data', dir], io())).rejects.toThrow(/issuer/);
  });
});
