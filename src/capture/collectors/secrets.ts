/**
 * Secrets: `[secrets] paths` (default: ~/.ssh private keys, ~/.gnupg,
 * ~/.netrc, ~/.config/rclone/rclone.conf, ~/.local/share/keyrings), each
 * sealed on this machine to the identity's X25519 key (`crypto_box_seal`)
 * and put in the manifest as `[secrets.NAME]`.
 *
 * - a file: the sealed bytes are the file (`type = "file"`);
 * - a folder: the sealed bytes are an uncompressed deterministic POSIX tar of
 *   its contents, laid out like the files blobs (`./`, `./pubring.kbx`, …;
 *   links out of the folder left out with a warning, sockets — gpg-agent's —
 *   silently) (`type = "tar"`);
 * - `mode`: the file's or folder's permission bits (`"0600"`, `"0700"`);
 * - a `*` in the last component is a glob; matches ending in `.pub` are
 *   public keys and are left out;
 * - NAME: the path below `~` with leading dots dropped and `/` as `_`
 *   (`~/.ssh/id_ed25519` → `ssh_id_ed25519`).
 *
 * Plaintext stays in memory: it is never written to disk, the cache, a log
 * or the server. Sealing is randomized, so an unchanged secret would get new
 * bytes each time and show in every delta: when the parent snapshot's sealed
 * value opens (with this identity) to the same bytes, it is reused.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { SecretEntry } from '../../manifest/types.ts';
import { manifestProblem, type CollectContext } from '../context.ts';
import { globMatch } from '../glob.ts';
import { expandHome, manifestPath } from '../paths.ts';
import { tarStream } from '../tar-writer.ts';
import { walkTree } from '../walk.ts';

/** The manifest name of a secret at `manifestPath` (`~/.ssh/id_rsa` → `ssh_id_rsa`). */
export function secretName(mpath: string): string {
  const rel = mpath.replace(/^~\//, '').replace(/^\//, '');
  const name = rel
    .split('/')
    .map((c) => c.replace(/^\.+/, ''))
    .filter(Boolean)
    .join('_')
    .replace(/[^A-Za-z0-9_.-]/g, '_');
  return /^[A-Za-z0-9_]/.test(name) ? name : `_${name}`;
}

/** Expands the configured paths (globs in the last component) to existing paths, sorted. */
async function resolvePaths(patterns: readonly string[], home: string): Promise<string[]> {
  const out = new Set<string>();
  for (const p of patterns) {
    const abs = expandHome(p, home);
    const last = basename(abs);
    if (!/[*?[]/.test(last)) {
      out.add(abs);
      continue;
    }
    let names: string[] = [];
    try {
      names = await readdir(dirname(abs));
    } catch {
      continue;
    }
    for (const n of names.sort()) if (globMatch(last, n, true) && !n.endsWith('.pub')) out.add(join(dirname(abs), n));
  }
  return [...out].sort();
}

class TooBig extends Error {}

async function tarToMemory(dir: string, max: number, ctx: CollectContext, label: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  const entries = walkTree(dir, { skip: ctx.skip, onSkip: (p, why) => why !== 'skip pattern' && why !== 'socket' && ctx.warn(`secret ${label}: ${p} left out (${why})`) });
  for await (const c of tarStream(entries, { onWarn: (m) => ctx.warn(`secret ${label}: ${m}`) })) {
    n += c.length;
    if (n > max) throw new TooBig();
    chunks.push(Buffer.from(c));
  }
  const out = Buffer.concat(chunks);
  for (const c of chunks) c.fill(0);
  return out;
}

export async function collectSecrets(ctx: CollectContext): Promise<Record<string, SecretEntry>> {
  const out: Record<string, SecretEntry> = {};
  const max = ctx.config.secrets.max_bytes;
  for (const abs of await resolvePaths(ctx.config.secrets.paths, ctx.home)) {
    const mpath = manifestPath(abs, ctx.home);
    let st;
    try {
      st = await stat(abs);
    } catch {
      continue; // Not there: nothing to keep.
    }
    if (ctx.skip.skipsPathOrParent(abs)) continue;
    if (!ctx.sealer) {
      ctx.warn(`secret ${mpath}: no identity to seal it to (run \`koder-snapshot init\`); left out`);
      continue;
    }
    let plain: Buffer;
    let type: 'file' | 'tar';
    try {
      if (st.isDirectory()) {
        plain = await tarToMemory(abs, max, ctx, mpath);
        type = 'tar';
      } else if (st.isFile()) {
        if (st.size > max) throw new TooBig();
        plain = await readFile(abs);
        type = 'file';
      } else continue;
    } catch (e) {
      if (e instanceof TooBig) ctx.warn(`secret ${mpath}: larger than [secrets] max_bytes (${max}); left out`);
      else ctx.warn(`secret ${mpath}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); left out`);
      continue;
    }
    let name = secretName(mpath);
    for (let i = 2; out[name]; i++) name = `${secretName(mpath)}_${i}`;
    const mode = `0${((st.mode & 0o777) | 0o1000).toString(8).slice(1)}`;
    try {
      const prev = ctx.parent?.secrets?.[name];
      let sealed: string | undefined;
      if (prev && prev.path === mpath && prev.mode === mode && (prev.type ?? 'file') === type) {
        const opened = await ctx.sealer.open(prev.sealed);
        if (opened && Buffer.from(opened).equals(plain)) sealed = prev.sealed;
        opened?.fill(0);
      }
      sealed ??= await ctx.sealer.seal(plain);
      const entry: SecretEntry = { path: mpath, mode, type, sealed };
      const problem = manifestProblem({ secrets: { [name]: entry } });
      if (problem) ctx.warn(`secret ${mpath}: ${problem}; left out`);
      else out[name] = entry;
    } finally {
      plain.fill(0);
    }
  }
  return out;
}
