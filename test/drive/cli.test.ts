/**
 * The client commands end to end against a real server: login (approved on
 * the provider's pages), whoami, push (with key registration), list, pull
 * (verified chain + blobs), share, delete, logout.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Io, Command } from '../../src/cli/command.ts';
import { login } from '../../src/cli/commands/login.ts';
import { logout } from '../../src/cli/commands/logout.ts';
import { whoami } from '../../src/cli/commands/whoami.ts';
import { list } from '../../src/cli/commands/list.ts';
import { push } from '../../src/cli/commands/push.ts';
import { pull } from '../../src/cli/commands/pull.ts';
import { share } from '../../src/cli/commands/share.ts';
import { del } from '../../src/cli/commands/delete.ts';
import { saveIdentity } from '../../src/keys/identity.ts';
import { AuthSession, tokenPath } from '../../src/auth/index.ts';
import { DriveClient } from '../../src/drive/index.ts';
import { approveDevice } from '../server/browser.ts';
import { loginAs, testServer, type TestServer } from '../server/fixture.ts';
import { blob, generateIdentity, manifest, signed } from '../server/manifests.ts';

const home = mkdtempSync(join(tmpdir(), 'koder-cli-'));
process.env.XDG_CONFIG_HOME = join(home, 'config');
delete process.env.KODER_SNAPSHOT_SERVER;
let srv: TestServer;

function io(): Io & { lines: string[]; errs: string[] } {
  const lines: string[] = [];
  const errs: string[] = [];
  return { lines, errs, out: (l) => lines.push(l), err: (l) => errs.push(l) };
}
async function run(cmd: Command, args: string[]) {
  const o = io();
  const code = await cmd.run(args, o).catch((e: Error) => {
    o.errs.push(e.message);
    return -1;
  });
  return { code, out: o.lines.join('\n'), err: o.errs.join('\n') };
}

beforeAll(async () => {
  srv = await testServer();
  await srv.addUser('gina', 'gina-password-1');
});
afterAll(async () => {
  await srv.cleanup();
  rmSync(home, { recursive: true, force: true });
});

describe('CLI', () => {
  it('login prints a code and a QR, waits for approval, saves the tokens', async () => {
    const o = io();
    const waiting = login.run(['--server', srv.url], o);
    let link: string | undefined;
    for (let i = 0; i < 100 && !link; i++) {
      link = /(http:\/\/\S+\/device\?user_code=\S+)/.exec(o.lines.join('\n'))?.[1];
      if (!link) await new Promise((r) => setTimeout(r, 20));
    }
    expect(link).toBeTruthy();
    expect(o.lines.join('\n')).toMatch(/[█▀▄]{10,}/);
    await approveDevice(link!, 'gina', 'gina-password-1');
    expect(await waiting).toBe(0);
    expect(o.lines.join('\n')).toContain('as gina');
    expect(existsSync(tokenPath(srv.url))).toBe(true);
    const w = await run(whoami, []);
    expect(w.code).toBe(0);
    expect(w.out).toMatch(/^gina \(/);
  });

  it('push, list, pull, share, delete', async () => {
    const work = join(home, 'work');
    mkdirSync(join(work, 'blobs'), { recursive: true });
    const id = await generateIdentity();
    await saveIdentity(join(home, 'id'), id);
    const a = blob(20_000), b = blob(30_000), c = blob(10);
    for (const x of [a, b, c]) writeFileSync(join(work, 'blobs', `${x.hex}.tar.zst`), x.bytes);
    const root = signed(manifest({ blobs: [a.hex, b.hex] }), id);
    const child = signed(manifest({ blobs: [c.hex], parent: root.id }), id);
    writeFileSync(join(work, 'root.kvg'), root.text);
    writeFileSync(join(work, 'child.kvg'), child.text);

    // without a registered key the server refuses
    const refused = await run(push, [join(work, 'child.kvg'), join(work, 'root.kvg')]);
    expect(refused.code).toBe(-1);
    expect(refused.err).toMatch(/not one of the 0 trusted key/);
    const p = await run(push, [join(work, 'child.kvg'), join(work, 'root.kvg'), '--register-key', join(home, 'id')]);
    expect(p.code).toBe(0);
    expect(p.out.split('\n')[0]).toContain(`uploaded ${root.id}`);
    const again = await run(push, [join(work, 'root.kvg'), join(work, 'child.kvg')]);
    expect(again.out).toContain('already there');

    const l = await run(list, []);
    expect(l.out).toContain(root.id.slice(0, 12));
    expect(l.out).toContain(child.id.slice(0, 12));

    const out = join(home, 'pulled');
    const pl = await run(pull, [child.id.slice(0, 10), '--out', out]);
    expect(pl.code).toBe(0);
    expect(readFileSync(join(out, `${root.id}.kvg`), 'utf8')).toBe(root.text);
    expect(readFileSync(join(out, `${child.id}.kvg`), 'utf8')).toBe(child.text);
    for (const x of [a, b, c]) expect(readFileSync(join(out, 'blobs', x.hex)).equals(x.bytes)).toBe(true);
    // a wrong pinned key refuses the chain
    const other = await generateIdentity();
    const bad = await run(pull, [child.id, '--out', join(home, 'bad'), '--pubkey', Buffer.from(other.signing.publicKey).toString('base64')]);
    expect(bad.code).toBe(1);
    expect(bad.err).toContain('REFUSED');

    // share with hank, who can then read the chain
    const tHank = await loginAs(srv, 'hank');
    expect((await run(share, [child.id.slice(0, 8), 'hank', '--identity', join(home, 'id')])).code).toBe(0);
    const hank = new DriveClient({ server: srv.url, tokens: tHank.access_token });
    expect((await hank.sharedWithMe()).map((s) => s.id)).toEqual([child.id]);

    const d1 = await run(del, [root.id.slice(0, 8)]);
    expect(d1.code).toBe(-1);
    expect(d1.err).toMatch(/child/);
    const d2 = await run(del, [root.id.slice(0, 8), '--cascade']);
    expect(d2.code).toBe(0);
    expect((await run(list, [])).err).toContain('no snapshots');
  });

  it('logout forgets the tokens', async () => {
    const saved = JSON.parse(readFileSync(tokenPath(srv.url), 'utf8'));
    expect((await run(logout, [])).code).toBe(0);
    expect(existsSync(tokenPath(srv.url))).toBe(false);
    // the refresh token was revoked on the server
    await expect(new AuthSession(saved, { persist: false }).refresh()).rejects.toMatchObject({ code: 'refresh_failed' });
    const w = await run(whoami, []);
    expect(w.code).toBe(-1);
    expect(w.err).toMatch(/not logged in/);
  });
});
