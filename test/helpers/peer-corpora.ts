/**
 * The peer corpora (test data other projects wrote, ../shared/peer-corpora/,
 * see its SOURCES.txt): found beside the repository or beside any folder
 * above it (a worktree lives deeper than the main checkout), or at
 * $KODER_PEER_CORPORA. Missing corpora fail the test: they are acceptance data.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export function peerCorpus(name: string): string {
  const env = process.env.KODER_PEER_CORPORA;
  if (env && existsSync(join(env, name))) return join(env, name);
  for (let dir = resolve(dirname(fileURLToPath(import.meta.url)), '../..'); ; dir = dirname(dir)) {
    const p = join(dir, 'shared', 'peer-corpora', name);
    if (existsSync(p)) return p;
    if (dirname(dir) === dir) break;
  }
  throw new Error(`peer corpus ${name} not found in shared/peer-corpora beside the repository or above it (or $KODER_PEER_CORPORA)`);
}

/** Extracts a corpus .tar.xz (GNU tar; a name in the peer corpora, or an absolute path) into a temp folder; returns the folder. */
export function extractCorpus(nameOrPath: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'koder-corpus-'));
  const file = nameOrPath.startsWith('/') ? nameOrPath : peerCorpus(nameOrPath);
  const r = spawnSync('tar', ['-xJf', file, '-C', dir], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`tar -xJf ${nameOrPath}: ${r.stderr}`);
  return dir;
}

/** Every regular file below `dir`, as paths relative to it, sorted. */
export function filesBelow(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) out.push(relative(dir, p));
    }
  };
  walk(dir);
  return out.sort();
}
