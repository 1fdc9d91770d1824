/**
 * The daemon in app mode over real HTTP, against the real server, for a
 * fixture home (the Backup app's API without the page; e2e/app-*.test.ts
 * drive the page): the guards attacked (no token, foreign Host, a
 * cross-origin write that would erase the account); sign-in through the
 * provider's pages; the setup (a new vault, its recovery key); a backup
 * (progress, the snapshot listed with its folders' sizes, cancel leaves
 * nothing posted); browsing a v2 tree; restoring one file into
 * `~/Restored <date>/` byte-identical, and in place with `.pre-restore`;
 * paths outside the home and through a symbolic link refused; what a
 * delete frees equals what the server's usage drops by; the passphrase
 * changed (the old one refused); a new recovery key (the old one refused);
 * the erasure asked for and cancelled; the overview lists another computer
 * of mine with its last snapshot.
 */
import { request } from 'node:http';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppSession } from '../../src/daemon/app/session.ts';
import { appSurface } from '../../src/daemon/app/routes.ts';
import { restoredFolderName } from '../../src/daemon/app/home-target.ts';
import type { AppApi, AppState } from '../../src/daemon/app/contract.ts';
import { startDaemon, type RunningDaemon } from '../../src/daemon/http.ts';
import { openVault } from '../../src/keys/vault.ts';
import type { Systemctl } from '../../src/capture/schedule.ts';
import { approveDevice } from '../server/browser.ts';
import { testServer, type TestServer } from '../server/fixture.ts';
import { makeFixtureHome, type FixtureHome } from '../capture/fixture.ts';

const TOKEN = 'app-token-0123456789abcdef';
const PASS = 'first passphrase';
let srv: TestServer, fx: FixtureHome, app: AppSession, daemon: RunningDaemon, env: NodeJS.ProcessEnv;
const systemctl: Systemctl = async () => ({ code: 1, stdout: '', stderr: 'Failed to connect to bus: No medium found', missing: false });

function http(path: string, o: { method?: string; headers?: Record<string, string>; body?: unknown } = {}): Promise<{ status: number; json: any }> {
  const body = o.body === undefined ? undefined : JSON.stringify(o.body);
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: daemon.port, path, method: o.method ?? 'GET', headers: { host: `127.0.0.1:${daemon.port}`, authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', ...o.headers } }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: text ? JSON.parse(text) : undefined }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** One typed call of the app's API; fails the test on an error answer unless `expect` says otherwise. */
async function api<R extends keyof AppApi>(route: R, params: Record<string, string> = {}, body?: unknown, expectStatus?: number): Promise<AppApi[R]['answer']> {
  const [method, pattern] = (route as string).split(' ') as [string, string];
  let path = pattern.replace(/:([a-z]+)/g, (_, n: string) => encodeURIComponent(params[n]!));
  if (params.query) path += `?${params.query}`;
  const r = await http(path, { method, body: body ?? (method === 'POST' || method === 'PUT' ? {} : undefined) });
  if (expectStatus !== undefined) expect(r.status, JSON.stringify(r.json)).toBe(expectStatus);
  else expect(r.status, `${route}: ${JSON.stringify(r.json)}`).toBeLessThan(300);
  return r.json;
}

async function until(what: string, ok: (s: AppState) => boolean, ms = 60_000): Promise<AppState> {
  const t0 = Date.now();
  for (;;) {
    const s = app.state();
    if (ok(s)) return s;
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(s).slice(0, 600)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeAll(async () => {
  const base = mkdtempSync(join(tmpdir(), 'koder-app-api-'));
  fx = makeFixtureHome(base);
  srv = await testServer();
  await srv.addUser('ana', 'ana-password-1');
  await srv.addUser('bia', 'bia-password-1');
  env = { PATH: process.env.PATH, HOME: fx.home, XDG_CONFIG_HOME: join(base, 'config'), XDG_CACHE_HOME: join(base, 'cache'), XDG_STATE_HOME: join(base, 'state') };
  mkdirSync(join(base, 'config', 'koder-snapshot'), { recursive: true });
  writeFileSync(join(base, 'config', 'koder-snapshot', 'config.toml'), '[snapshot]\nhostname = "ana-desktop"\ncategories = ["repos", "secrets", "files"]\n\n[repos]\nroots = ["~/dev"]\n');
  mkdirSync(join(base, 'www'));
  writeFileSync(join(base, 'www', 'index.html'), '<!doctype html><title>app</title>');
  app = await AppSession.open({ server: srv.url, stateDir: join(base, 'state', 'app'), env, kdf: 'min', systemctl });
  daemon = await startDaemon({ surface: appSurface(app, join(base, 'www')), token: TOKEN });
}, 60_000);

afterAll(async () => {
  await app?.stop();
  await daemon?.close();
  await srv?.cleanup();
  fx?.cleanup();
});

describe('the Backup app API', () => {
  it('guards: no token, a foreign Host, a cross-origin write', async () => {
    expect((await http('/api/app/overview', { headers: { authorization: '' } })).status).toBe(401);
    expect((await http('/api/app/overview', { headers: { host: `evil.example:${daemon.port}` } })).status).toBe(421);
    const r = await http('/api/app/account/erase', { method: 'POST', body: {}, headers: { origin: 'http://evil.example' } });
    expect(r.status).toBe(403);
    expect(app.state().account.state).toBe('signed-out');
    expect((await http('/api/app/overview')).json.error.code).toBe('app_not_signed_in');
  });

  it('signs in through the provider’s pages; the keys need a setup (no vault yet)', async () => {
    await api('POST /api/app/sign-in');
    const s = await until('a code', (x) => x.account.state === 'signing-in' && !!x.account.login);
    const login = (s.account as Extract<AppState['account'], { state: 'signing-in' }>).login!;
    expect(login.qrSvg).toContain('<svg');
    await approveDevice(login.verificationUriComplete, 'ana', 'ana-password-1');
    const done = await until('signed in', (x) => x.account.state === 'signed-in');
    expect(done.account).toMatchObject({ state: 'signed-in', user: { name: 'ana' }, eraseAfter: null });
    expect(done.keys.state).toBe('create');
    expect((await api('POST /api/app/backup', {}, {}, 409) as any).error.code).toBe('app_keys_not_ready');
  });

  let recoveryKey = '';
  it('setup: a new identity and vault; the recovery key comes back once', async () => {
    expect((await http('/api/app/setup', { method: 'POST', body: { passphrase: '' } })).status).toBe(400);
    const r = await api('POST /api/app/setup', {}, { passphrase: PASS });
    expect(r.kind).toBe('created');
    recoveryKey = r.recovery!.recoveryKey;
    expect(recoveryKey).toMatch(/^([0-9A-Z]{4}-){7}[0-9A-Z]{4}$/);
    expect(r.recovery!.qrSvg).toContain('<svg');
    expect(app.state().keys).toMatchObject({ state: 'ready' });
    const keys = await api('GET /api/app/keys');
    expect(keys.slots.map((x) => x.kind).sort()).toEqual(['passphrase', 'recovery']);
    expect(keys.fingerprint).toBe(app.state().keys.fingerprint);
  });

  let snapshotId = '';
  it('backs up now: collectors and folders in the progress; the snapshot listed with its folders', async () => {
    const seen: string[] = [];
    const off = app.subscribe((s) => s.backup?.progress.folders.forEach((f) => seen.includes(f.label) || seen.push(f.label)));
    await api('POST /api/app/backup');
    const s = await until('the backup', (x) => x.backup?.state === 'done' || x.backup?.state === 'failed', 120_000);
    off();
    expect(s.backup?.error).toBeUndefined();
    const result = s.backup!.result!;
    snapshotId = result.id;
    expect(result.kind).toBe('full');
    expect(seen).toContain('~/Documents');
    expect(s.backup!.progress.collectors.find((c) => c.name === 'apps')?.state).toBe('skipped');
    expect(s.backup!.progress.collectors.find((c) => c.name === 'files')?.state).toBe('done');
    const list = await api('GET /api/app/snapshots');
    expect(list.mine.map((x) => x.id)).toEqual([snapshotId]);
    const full = await api('GET /api/app/snapshots/:id', { id: snapshotId });
    expect(full.version).toBe(2);
    const docs = full.folders.find((f) => f.path === '~/Documents')!;
    expect(docs.size).toBe(result.folders.find((f) => f.label === '~/Documents')!.size);
    expect(full.secrets.some((n) => n.includes('id_ed25519'))).toBe(true);
    const ov = await api('GET /api/app/overview');
    expect(ov.thisMachine.last?.id).toBe(snapshotId);
    expect(ov.thisMachine.outcome?.state).toBe(result.warnings.length ? 'partial' : 'ok');
    expect(ov.schedule.enabled).toBe(false);
  }, 180_000);

  it('browses the v2 tree and restores one file into ~/Restored <date>/, byte for byte', async () => {
    const top = await api('GET /api/app/snapshots/:id/files', { id: snapshotId });
    expect(top.entries.map((e) => e.path)).toContain('~/Documents');
    const sub = await api('GET /api/app/snapshots/:id/files', { id: snapshotId, query: `path=${encodeURIComponent('~/Documents/sub/deeper')}` });
    expect(sub.entries).toEqual([expect.objectContaining({ name: 'data.bin', path: '~/Documents/sub/deeper/data.bin', type: 'file', size: 200_000, selectable: true })]);
    // Every total the page is shown is the chosen file's size, from the first one on (never its folder's).
    const totals = new Set<number>();
    const off = app.subscribe((x) => void (x.restore?.state === 'running' && x.restore.progress.items.length && totals.add(x.restore.progress.totalBytes)));
    await api('POST /api/app/restore', {}, { snapshotId, paths: ['~/Documents/sub/deeper/data.bin'], mode: 'new-folder' });
    const s = await until('the restore', (x) => x.restore?.state === 'done' || x.restore?.state === 'failed');
    off();
    expect([...totals]).toEqual([200_000]);
    expect(s.restore?.error).toBeUndefined();
    const into = restoredFolderName(new Date());
    expect(s.restore!.result).toMatchObject({ into: `~/${into}`, items: [{ path: '~/Documents/sub/deeper/data.bin', status: 'done' }] });
    const restored = join(fx.home, into, 'Documents', 'sub', 'deeper', 'data.bin');
    expect(readFileSync(restored).equals(readFileSync(join(fx.home, 'Documents', 'sub', 'deeper', 'data.bin')))).toBe(true);
    // Only that file: nothing else of the folder came along.
    expect(existsSync(join(fx.home, into, 'Documents', 'report.txt'))).toBe(false);
    expect(s.restore!.progress.totalBytes).toBe(200_000);
  });

  it('in place, a differing file is kept as NAME.pre-restore; a link on the way, ~-less and climbing paths are refused', async () => {
    const notes = join(fx.home, 'Documents', 'sub', 'notes.md');
    const original = readFileSync(notes);
    writeFileSync(notes, 'edited after the backup\n');
    await api('POST /api/app/restore', {}, { snapshotId, paths: ['~/Documents/sub/notes.md'], mode: 'in-place' });
    const s = await until('the restore', (x) => x.restore?.state === 'done' || x.restore?.state === 'failed');
    // What the page says it kept, as the person knows the path (its words are the page's own: no applier text for a done path).
    expect(s.restore!.result!.items).toEqual([{ path: '~/Documents/sub/notes.md', status: 'done', kept: ['~/Documents/sub/notes.md.pre-restore'] }]);
    expect(readFileSync(notes).equals(original)).toBe(true);
    expect(readFileSync(`${notes}.pre-restore`, 'utf8')).toBe('edited after the backup\n');

    for (const paths of [['/etc/passwd'], ['~/Documents/../../etc'], ['~'], [], ['~/Nowhere/x']]) {
      const r = await http('/api/app/restore', { method: 'POST', body: { snapshotId, paths, mode: 'in-place' } });
      expect(r.status, JSON.stringify(paths)).toBeGreaterThanOrEqual(400);
    }
    // ~/Documents/sub turned into a link out of the home: in place refuses to follow it.
    const outside = mkdtempSync(join(tmpdir(), 'koder-outside-'));
    rmSync(join(fx.home, 'Documents', 'sub'), { recursive: true });
    symlinkSync(outside, join(fx.home, 'Documents', 'sub'));
    await api('POST /api/app/restore', {}, { snapshotId, paths: ['~/Documents/sub/notes.md'], mode: 'in-place' });
    const t = await until('the restore', (x) => x.restore?.state === 'done' || x.restore?.state === 'failed');
    expect(t.restore!.result!.items[0]).toMatchObject({ status: 'failed', message: expect.stringContaining('symbolic link') });
    expect(existsSync(join(outside, 'notes.md'))).toBe(false);
    rmSync(outside, { recursive: true });
  });

  it('a cancelled backup posts nothing', async () => {
    writeFileSync(join(fx.home, 'Documents', 'big.bin'), Buffer.alloc(64 << 20, 7));
    await api('POST /api/app/backup');
    await until('reading', (x) => (x.backup?.progress.collectors.some((c) => c.state === 'running') ?? false) && x.backup?.state === 'running');
    expect((await api('POST /api/app/backup/cancel')).canceled).toBe(true);
    expect(app.state().backup?.state).toBe('cancelled');
    expect((await api('GET /api/app/snapshots')).mine.map((x) => x.id)).toEqual([snapshotId]);
    rmSync(join(fx.home, 'Documents', 'big.bin'));
  }, 60_000);

  it('what a delete frees is what the server’s usage drops by', async () => {
    await api('POST /api/app/backup');
    const s = await until('the second backup', (x) => x.backup?.state === 'done' || x.backup?.state === 'failed', 120_000);
    const second = s.backup!.result!.id;
    expect(s.backup!.result!.kind).toBe('delta');
    const plan = await api('GET /api/app/snapshots/:id/delete-plan', { id: second });
    expect(plan.deletes).toEqual([second]);
    const before = (await api('GET /api/app/account')).usage.used;
    expect((await api('DELETE /api/app/snapshots/:id', { id: second })).deleted).toEqual([second]);
    const after = (await api('GET /api/app/account')).usage.used;
    expect(plan.frees).toBe(before - after);
    // Deleting the first frees everything but what later ones... there are none: all of it.
    const all = await api('GET /api/app/snapshots/:id/delete-plan', { id: snapshotId });
    expect(all.frees).toBe(after);
  }, 180_000);

  it('a version 1 snapshot (of another computer of mine: the overview lists it there): its folders listed (not their insides), one restored whole into ~/Restored <date>/', async () => {
    const file = join(env.XDG_CONFIG_HOME!, 'koder-snapshot', 'config.toml');
    const before = readFileSync(file, 'utf8');
    writeFileSync(file, `${before.replace('"ana-desktop"', '"ana-old-laptop"')}\n[files]\nformat = 1\nfolders = ["~/Pictures"]\n`);
    await api('POST /api/app/backup');
    const s = await until('the v1 backup', (x) => x.backup?.state === 'done' || x.backup?.state === 'failed', 120_000);
    writeFileSync(file, before);
    expect(s.backup?.error).toBeUndefined();
    const id = s.backup!.result!.id;
    expect((await api('GET /api/app/snapshots/:id', { id })).version).toBe(1);
    const ov = await api('GET /api/app/overview');
    expect(ov.thisMachine.hostname).toBe('ana-desktop');
    expect(ov.others).toEqual([expect.objectContaining({ hostname: 'ana-old-laptop', count: 1, last: expect.objectContaining({ id }) })]);
    const top = await api('GET /api/app/snapshots/:id/files', { id });
    expect(top.entries).toEqual([expect.objectContaining({ path: '~/Pictures', type: 'folder-v1', selectable: true })]);
    const inside = await http(`/api/app/snapshots/${id}/files?path=${encodeURIComponent('~/Pictures')}`);
    expect(inside.status).toBe(400);
    expect(inside.json.error.code).toBe('path_not_in_snapshot');
    await api('POST /api/app/restore', {}, { snapshotId: id, paths: ['~/Pictures'], mode: 'new-folder' });
    const r = await until('the v1 restore', (x) => x.restore?.state === 'done' || x.restore?.state === 'failed');
    expect(r.restore?.error).toBeUndefined();
    expect(r.restore!.result!.items).toEqual([expect.objectContaining({ path: '~/Pictures', status: 'done' })]);
    const into = join(fx.home, restoredFolderName(new Date()), 'Pictures', 'photo.jpg');
    expect(readFileSync(into).equals(readFileSync(join(fx.home, 'Pictures', 'photo.jpg')))).toBe(true);
    await api('DELETE /api/app/snapshots/:id', { id });
  }, 180_000);

  it('changes the passphrase (the old one refused) and makes a new recovery key (the old one refused)', async () => {
    const wrong = await http('/api/app/keys/passphrase', { method: 'POST', body: { current: 'not it at all', next: 'second passphrase' } });
    expect([wrong.status, wrong.json.error.code]).toEqual([422, 'wrong_secret']);
    expect((await http('/api/app/keys/passphrase', { method: 'POST', body: { current: PASS, next: 'short' } })).status).toBe(400);
    await api('POST /api/app/keys/passphrase', {}, { current: PASS, next: 'second passphrase' });
    const vault = async () => (await (await app.client()).getVault())!.doc as Parameters<typeof openVault>[0];
    const id = await openVault(await vault(), { passphrase: 'second passphrase' });
    expect(id.keyId).toBe(app.state().keys.keyId);
    await expect(openVault(await vault(), { passphrase: PASS })).rejects.toMatchObject({ code: 'wrong_secret' });
    await expect(openVault(await vault(), { recoveryKey })).resolves.toBeTruthy();

    const r = await api('POST /api/app/keys/recovery', {}, { passphrase: 'second passphrase' });
    expect(r.recoveryKey).not.toBe(recoveryKey);
    expect(r.slots.filter((x) => x.kind === 'recovery')).toHaveLength(1);
    await expect(openVault(await vault(), { recoveryKey: r.recoveryKey })).resolves.toBeTruthy();
    await expect(openVault(await vault(), { recoveryKey })).rejects.toMatchObject({ code: 'wrong_secret' });
  });

  it('asks for the erasure (24 h grace) and cancels it', async () => {
    const r = await api('POST /api/app/account/erase');
    expect(r.eraseAfter - Date.now()).toBeGreaterThan(23 * 3600_000);
    expect(app.state().account).toMatchObject({ eraseAfter: r.eraseAfter });
    expect((await api('POST /api/app/account/erase/cancel')).canceled).toBe(true);
    expect(app.state().account).toMatchObject({ eraseAfter: null });
    const audit = await api('GET /api/app/audit');
    expect(audit.entries.map((e) => e.action)).toEqual(expect.arrayContaining(['account.erase-requested', 'account.erase-canceled', 'snapshot.create', 'vault.update']));
  });

  it('edits what a backup includes into config.toml; a bad value is refused naming the key, the file untouched', async () => {
    const file = join(env.XDG_CONFIG_HOME!, 'koder-snapshot', 'config.toml');
    const before = readFileSync(file, 'utf8');
    const bad = await http('/api/app/config', { method: 'PUT', body: { categories: ['files', 'music'], folders: ['~/Documents'], skips: [] } });
    expect(bad.status).toBe(400);
    expect(bad.json.error.message).toMatch(/snapshot\.categories/);
    expect(readFileSync(file, 'utf8')).toBe(before);
    const v = await api('PUT /api/app/config', {}, { categories: ['files'], folders: ['~/Documents', '~/Pictures'], skips: ['node_modules', '*.iso'] });
    expect(v.include).toEqual({ categories: ['files'], folders: ['~/Documents', '~/Pictures'], skips: ['node_modules', '*.iso'] });
    expect(v.effective).toMatch(/hostname = "ana-desktop"/); // the other keys kept
    expect(readFileSync(file, 'utf8')).toMatch(/roots = \[ "~\/dev" \]/);
    const sch = await api('POST /api/app/schedule', {}, { enabled: true });
    expect(sch).toMatchObject({ enabled: true, nextEstimated: true, problem: expect.stringMatching(/user manager/) });
    expect(new Date(sch.nextAt!).getDay()).toBe(1);
  });
});
