import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { diff, parse, serialize, snapshotId } from '../../src/manifest/index.ts';
import { generateIdentity, saveIdentity } from '../../src/keys/identity.ts';
import { runCli } from '../helpers/cli.ts';
import { fixtureText, sampleFulls } from '../helpers/manifests.ts';

let dir: string;
let pub: string;
const idDir = () => join(dir, 'id');

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ks-cli-'));
  const identity = await generateIdentity();
  await saveIdentity(idDir(), identity);
  pub = Buffer.from(identity.signing.publicKey).toString('base64');
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('koder-snapshot sign / verify', () => {
  it('signs a manifest, prints its id, and verify accepts it', async () => {
    await writeFile(join(dir, 'root.kvg'), fixtureText());
    const s = await runCli(['sign', '--identity', idDir(), join(dir, 'root.kvg'), '-o', join(dir, 'root.signed.kvg')]);
    expect(s.stderr).toBe('');
    expect(s.code).toBe(0);
    const signed = parse(await readFile(join(dir, 'root.signed.kvg'), 'utf8'), 'x');
    expect(s.stdout).toBe(snapshotId(signed));
    const v = await runCli(['verify', '--pubkey', pub, join(dir, 'root.signed.kvg')]);
    expect(v.code).toBe(0);
    expect(v.stdout).toMatch(new RegExp(`^OK ${s.stdout} `));
  });

  it('verifies a 3-file chain given in any order and prints the folded manifest', async () => {
    const fulls = sampleFulls();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const m = i === 0 ? fulls[0]! : diff(fulls[i - 1]!, fulls[i]!, ids[i - 1]);
      await writeFile(join(dir, `c${i}.kvg`), serialize(m));
      const r = await runCli(['sign', '--identity', idDir(), join(dir, `c${i}.kvg`)]);
      expect(r.code).toBe(0);
      ids.push(r.stdout);
    }
    const v = await runCli(['verify', '--pubkey', pub, '--resolved', join(dir, 'c1.kvg'), join(dir, 'c2.kvg'), join(dir, 'c0.kvg')]);
    expect(v.stderr).toBe('');
    expect(v.code).toBe(0);
    const lines = v.stdout.split('\n');
    expect(lines.slice(0, 3).map((l) => l.split(' ')[1])).toEqual(ids);
    const folded = JSON.parse(lines.slice(3).join('\n'));
    expect(folded.apps.apt).toEqual(['git', 'htop', 'jq', 'tree']);

    // Without the middle file the chain is incomplete: refused, exit 1.
    const missing = await runCli(['verify', '--pubkey', pub, join(dir, 'c2.kvg'), join(dir, 'c0.kvg')]);
    expect(missing.code).toBe(2); // two separate leaves: a usage error naming them
    const alone = await runCli(['verify', '--pubkey', pub, join(dir, 'c2.kvg')]);
    expect(alone.code).toBe(1);
    expect(alone.stderr).toMatch(/REFUSED.*not among the given files/);
  });

  it('exit 1 naming the file for a tampered manifest or a foreign key', async () => {
    const text = await readFile(join(dir, 'root.signed.kvg'), 'utf8');
    await writeFile(join(dir, 'tampered.kvg'), text.replace('"jq"', '"nmap"'));
    const v = await runCli(['verify', '--pubkey', pub, join(dir, 'tampered.kvg')]);
    expect(v.code).toBe(1);
    expect(v.stderr).toMatch(/REFUSED .*tampered\.kvg.*does not match/);
    const other = Buffer.alloc(32, 7).toString('base64');
    const w = await runCli(['verify', '--pubkey', other, join(dir, 'root.signed.kvg')]);
    expect(w.code).toBe(1);
    expect(w.stderr).toMatch(/not one of the 1 trusted key/);
    await writeFile(join(dir, 'unsigned.kvg'), fixtureText());
    const u = await runCli(['verify', '--pubkey', pub, join(dir, 'unsigned.kvg')]);
    expect(u.code).toBe(1);
    expect(u.stderr).toMatch(/not signed/);
  });

  it('exit 2 for usage and parse errors, with file:line:column', async () => {
    await writeFile(join(dir, 'bad.kvg'), fixtureText().replace('version = 1', 'version = "one"'));
    const p = await runCli(['verify', '--pubkey', pub, join(dir, 'bad.kvg')]);
    expect(p.code).toBe(2);
    expect(p.stderr).toContain(`${join(dir, 'bad.kvg')}:3:11 snapshot.version: unsupported version "one"`);
    expect((await runCli(['verify', join(dir, 'root.signed.kvg')])).code).toBe(2);
    expect((await runCli(['verify', '--pubkey', 'abc', join(dir, 'root.signed.kvg')])).code).toBe(2);
    expect((await runCli(['verify', '--pubkey', pub, join(dir, 'nope.kvg')])).stderr).toMatch(/cannot read .*ENOENT/);
    expect((await runCli(['sign', join(dir, 'root.kvg')])).code).toBe(2);
    expect((await runCli(['sign', '--identity', join(dir, 'no-such'), join(dir, 'root.kvg')])).code).toBe(1);
    expect((await runCli(['bogus'])).code).toBe(2);
  });

  it('exit 2 for a manifest that is not UTF-8 or not TOML 1.0, read strictly by sign and verify', async () => {
    const latin1 = Buffer.concat([Buffer.from('# caf'), Buffer.from([0xe9]), Buffer.from('\n' + fixtureText())]);
    await writeFile(join(dir, 'latin1.kvg'), latin1);
    for (const cmd of [['sign', '--identity', idDir()], ['verify', '--pubkey', pub]]) {
      const r = await runCli([...cmd, join(dir, 'latin1.kvg')]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`${join(dir, 'latin1.kvg')}:1:6: invalid UTF-8 (byte 0xe9 at offset 5)`);
    }
    expect(await readFile(join(dir, 'latin1.kvg'))).toEqual(latin1); // sign wrote nothing
    await writeFile(join(dir, 'toml11.kvg'), fixtureText().replace('version = 1', 'version = 1\nx = { a = 1, }'));
    const t = await runCli(['sign', '--identity', idDir(), join(dir, 'toml11.kvg')]);
    expect(t.code).toBe(2);
    expect(t.stderr).toMatch(/toml11\.kvg:\d+:\d+: invalid TOML: a trailing comma is not allowed in an inline table \(TOML 1\.0\)/);
  });

  it('--help on every command', async () => {
    const top = await runCli(['--help']);
    expect(top.code).toBe(0);
    for (const name of ['sign', 'verify']) {
      expect(top.stdout).toContain(name);
      const h = await runCli([name, '--help']);
      expect(h.code).toBe(0);
      expect(h.stdout).toMatch(new RegExp(`^Usage: koder-snapshot ${name}`));
    }
  });
});
