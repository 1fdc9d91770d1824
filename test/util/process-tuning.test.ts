/**
 * The product's node flags are spelled by hand where a file cannot import
 * them (a shebang, package.json's `npm start`, the server's systemd unit in
 * docs/deploy.md): each must say what src/util/process-tuning.ts says. The
 * .deb's own shebang is built from it (test/installer/deb.test.ts).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { NODE_ENV, NODE_FLAGS, shebang } from '../../src/util/process-tuning.ts';

const read = (rel: string) => readFileSync(new URL(`../../${rel}`, import.meta.url), 'utf8');
const flags = NODE_FLAGS.join(' ');

describe('NODE_FLAGS where they are spelled by hand', () => {
  it("bin/koder-snapshot.mjs starts as the .deb's CLI does", () => {
    expect(read('bin/koder-snapshot.mjs').split('\n')[0]).toBe(shebang('node'));
  });

  it('npm start runs node with them', () => {
    const start = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts.start!;
    expect(start.startsWith(`node ${flags} `)).toBe(true);
  });

  it("the server's systemd unit in docs/deploy.md runs node with them", () => {
    const exec = read('docs/deploy.md').split('\n').filter((l) => l.startsWith('ExecStart=/usr/bin/node'));
    expect(exec.length).toBeGreaterThan(0);
    for (const l of exec) expect(l.startsWith(`ExecStart=/usr/bin/node ${flags} `)).toBe(true);
  });
});
