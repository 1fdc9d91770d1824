/**
 * `export --with-debs`, this machine's side: the .deb files a new machine
 * needs to install the snapshot's apt packages without the network, and
 * what they are checked against there (chroot-appliers/apt-local-debs.ts).
 *
 *   closure   the packages and what they need, recursively (apt-cache depends:
 *             Depends, Pre-Depends, Recommends — apt installs recommends); names
 *             apt has no candidate for are left out
 *   download  `apt-get download` into debs/pool/: apt's own download, each file
 *             checked by apt against this machine's signed lists; a file the
 *             folder has already is not fetched again
 *   indexes   every InRelease of this machine's apt lists (signed by its
 *             archive) and the Packages indexes it lists, zstd-compressed
 *             (`apt-helper cat-file` reads apt's own compression): on the new
 *             machine gpgv checks the InRelease with the keyrings there, the
 *             Packages against the InRelease's SHA256, each .deb against its
 *             Packages stanza
 *   debs.json what is there: the .debs (package, version, architecture,
 *             sha256) and the indexes (file, path in the archive, raw size)
 *
 * Packages that cannot be fetched here are not fatal: the new machine falls
 * back to the network for them (and reports what it could not install).
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import binding from 'zstd-napi/binding.js';
import { parseAptCachePolicy, PACKAGE_NAME } from '../chroot-appliers/apt.ts';
import { writeFileAtomic } from '../util/atomic-write.ts';
import { DEBS_DIR } from './layout.ts';

export const DEBS_INDEX = 'debs.json';
export const POOL_DIR = 'pool';
export const LISTS_DIR = 'lists';
/** This machine's apt lists (APT's Dir::State::lists). */
export const APT_LISTS = '/var/lib/apt/lists';

export interface DebFile {
  file: string;
  package: string;
  version: string;
  architecture: string;
  sha256: string;
  size: number;
}

export interface DebsIndex {
  version: 1;
  debs: DebFile[];
  /** InRelease files and, for each, the Packages indexes it lists that are here. */
  lists: { inrelease: string; packages: { file: string; path: string; size: number }[] }[];
}

export interface DebsResult {
  debs: number;
  /** .debs this run downloaded (the others were there). */
  downloaded: number;
  bytes: number;
  /** Requested packages apt has no candidate for here (the new machine tries the network). */
  missing: string[];
}

function run(cmd: string, args: string[], o: { cwd?: string } = {}): Promise<{ code: number; stdout: Buffer; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { cwd: o.cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C' } });
    const out: Buffer[] = [];
    let err = '';
    p.stdout.on('data', (d: Buffer) => out.push(d));
    p.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-8000)));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code: code ?? 1, stdout: Buffer.concat(out), stderr: err }));
  });
}

/** The packages and what they need, recursively: names at the start of `apt-cache depends --recurse` lines. */
export function parseDependsClosure(text: string): string[] {
  const out = new Set<string>();
  for (const line of text.split('\n')) {
    if (!line || /^\s/.test(line) || line.startsWith('<')) continue;
    const name = line.trim();
    if (PACKAGE_NAME.test(name) && !name.includes(':')) out.add(name);
  }
  return [...out];
}

/** package_version_arch.deb as apt-get download names it (an epoch's ':' as %3a). */
export function parseDebName(file: string): { package: string; version: string; architecture: string } | undefined {
  const m = /^([^_]+)_([^_]+)_([^_]+)\.deb$/.exec(file);
  return m ? { package: m[1]!, version: m[2]!.replace(/%3a/gi, ':'), architecture: m[3]! } : undefined;
}

export async function exportDebs(dir: string, packages: readonly string[], log: (line: string) => void): Promise<DebsResult> {
  const root = join(dir, DEBS_DIR);
  const pool = join(root, POOL_DIR);
  const lists = join(root, LISTS_DIR);
  await mkdir(pool, { recursive: true });
  await mkdir(lists, { recursive: true });
  const wanted = packages.filter((p) => PACKAGE_NAME.test(p));

  // The closure, then what apt has a candidate for.
  const deps = await run('apt-cache', ['depends', '--recurse', '--no-suggests', '--no-conflicts', '--no-breaks', '--no-replaces', '--no-enhances', ...wanted]);
  const closure = parseDependsClosure(deps.stdout.toString());
  const policy = parseAptCachePolicy((await run('apt-cache', ['policy', ...closure])).stdout.toString());
  const candidates = closure.filter((p) => policy.get(p));
  const missing = wanted.filter((p) => !policy.get(p));
  if (missing.length) log(`debs: no candidate here for ${missing.join(', ')} (the new machine will try the network)`);

  // apt's own download, of what the folder does not have yet.
  const have = new Set(await readdir(pool));
  const todo = candidates.filter((p) => {
    const v = policy.get(p)!;
    return ![...have].some((f) => f.startsWith(`${p}_${v.replace(/:/g, '%3a')}_`));
  });
  if (todo.length) {
    const r = await run('apt-get', ['download', '-q', ...todo], { cwd: pool });
    if (r.code !== 0) log(`debs: apt-get download had problems: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
  }
  const debs: DebFile[] = [];
  let bytes = 0;
  for (const file of (await readdir(pool)).filter((f) => f.endsWith('.deb')).sort()) {
    const name = parseDebName(file);
    if (!name) continue;
    const data = await readFile(join(pool, file));
    bytes += data.length;
    debs.push({ file, ...name, sha256: createHash('sha256').update(data).digest('hex'), size: data.length });
  }

  // The signed indexes they are checked against on the new machine.
  const index: DebsIndex = { version: 1, debs, lists: [] };
  const names = await readdir(APT_LISTS).catch(() => [] as string[]);
  const c = new binding.CCtx();
  for (const inrelease of names.filter((n) => n.endsWith('_InRelease'))) {
    const prefix = inrelease.slice(0, -'InRelease'.length);
    const entry: DebsIndex['lists'][number] = { inrelease, packages: [] };
    await writeFileAtomic(join(lists, inrelease), await readFile(join(APT_LISTS, inrelease)), { mode: null });
    for (const f of names.filter((n) => n.startsWith(prefix) && /_Packages(\.[a-z0-9]+)?$/.test(n))) {
      const base = f.replace(/(_Packages)\.[a-z0-9]+$/, '$1');
      const path = base.slice(prefix.length).split('_').join('/');
      const raw = (await run('/usr/lib/apt/apt-helper', ['cat-file', join(APT_LISTS, f)])).stdout;
      const dst = Buffer.allocUnsafe(binding.compressBound(raw.length));
      const n = c.compress(dst, raw, 6);
      await writeFileAtomic(join(lists, `${base}.zst`), dst.subarray(0, n), { mode: null });
      entry.packages.push({ file: `${base}.zst`, path, size: raw.length });
    }
    index.lists.push(entry);
  }
  await writeFileAtomic(join(root, DEBS_INDEX), JSON.stringify(index, null, 1) + '\n', { mode: null });
  const downloaded = debs.filter((d) => !have.has(d.file)).length;
  log(`debs: ${debs.length} .debs (${downloaded} new, ${(bytes / 1024 / 1024).toFixed(1)} MiB) and ${index.lists.length} signed archive indexes in ${root}`);
  return { debs: debs.length, downloaded, bytes, missing };
}
