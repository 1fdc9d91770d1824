/**
 * The .debs an export brought (`export --with-debs`, src/export/debs.ts)
 * as a local apt repository in the target, so that apt installs offline —
 * with apt's signature rules kept, by checking before apt sees anything:
 *
 *   InRelease  each one gpgv-checked in the target against the target's own
 *              archive keyrings (`/usr/share/keyrings/*-archive-keyring.gpg`,
 *              `/etc/apt/trusted.gpg(.d/*.gpg)`); only the signed text is read
 *   Packages   each index must have the size and SHA256 its verified InRelease gives
 *   .deb       each file must have the SHA256 of the stanza (package, version,
 *              architecture) of a verified Packages
 *   repository the verified files into /var/lib/koder-restore/debs with a Packages
 *              of their stanzas; a source `file:` on it, trusted since every file
 *              was checked above; apt reads it beside the network's sources
 *
 * What does not verify is left out and said (`deb_unverified` in the log and
 * the apt step's details); apt then fetches that package from the network
 * when there is one. Not checked: the InRelease's Valid-Until (an export is
 * a picture of one day; the next apt-get update with a network brings the
 * security updates). `close` removes the source, its lists and the folder.
 */
import { createHash } from 'node:crypto';
import { copyFile, readFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import binding from 'zstd-napi/binding.js';
import type { DebsIndex } from '../export/debs.ts';
import { DEBS_INDEX, LISTS_DIR, POOL_DIR } from '../export/debs.ts';
import type { ApplyContext } from './applier.ts';
import { errorSummary, runInTarget } from './chroot-commands.ts';
import { ensureDirInRoot } from './safe-path.ts';
import { CodedError } from '../util/coded-error.ts';
import { hostPath, removeInTarget, writeTargetFile } from './target-files.ts';

/** Where the verified .debs go in the target, and the apt source on them. */
export const LOCAL_REPO = '/var/lib/koder-restore/debs';
export const LOCAL_SOURCE = '/etc/apt/sources.list.d/koder-restore-debs.list';
const CHECK_DIR = '/var/lib/koder-restore/debs-check';

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** A file name from the export's debs.json: one plain name, never a path. */
function safeName(name: unknown): string {
  if (typeof name !== 'string' || !/^[A-Za-z0-9._+%~-]+$/.test(name) || name === '.' || name === '..') throw new CodedError('export_format', `debs.json names ${JSON.stringify(name)}, which is not a file name`, { name });
  return name;
}

/** `SHA256:` lines of a Release text: path → { sha256, size }. */
export function releaseHashes(text: string): Map<string, { sha256: string; size: number }> {
  const out = new Map<string, { sha256: string; size: number }>();
  let inSha = false;
  for (const line of text.split('\n')) {
    if (/^\S/.test(line)) inSha = line.trim() === 'SHA256:';
    else if (inSha) {
      const m = /^\s+([0-9a-f]{64})\s+(\d+)\s+(\S+)$/.exec(line);
      if (m) out.set(m[3]!, { sha256: m[1]!, size: Number(m[2]) });
    }
  }
  return out;
}

/** A Packages index's stanzas by `package version architecture`. */
export function packagesStanzas(text: string): Map<string, { stanza: string; sha256: string }> {
  const out = new Map<string, { stanza: string; sha256: string }>();
  for (const stanza of text.split(/\n\n+/)) {
    const f = (k: string) => new RegExp(`^${k}: *(.+)$`, 'm').exec(stanza)?.[1]?.trim();
    const pkg = f('Package');
    const ver = f('Version');
    const arch = f('Architecture');
    const sha = f('SHA256');
    if (pkg && ver && arch && sha) out.set(`${pkg} ${ver} ${arch}`, { stanza: stanza.trim(), sha256: sha });
  }
  return out;
}

export class LocalDebs {
  private enabled?: Promise<string[]>;

  /** `dir`: the export's debs/ folder. */
  constructor(readonly dir: string) {}

  /** Once per restore: checks and offers the .debs (see the header); resolves with what did not verify. */
  enable(ctx: ApplyContext): Promise<string[]> {
    this.enabled ??= this.doEnable(ctx).catch((e: unknown) => [`the exported .debs could not be offered to apt: ${(e as Error).message}`]);
    return this.enabled;
  }

  private async doEnable(ctx: ApplyContext): Promise<string[]> {
    const problems: string[] = [];
    const index = JSON.parse(await readFile(join(this.dir, DEBS_INDEX), 'utf8')) as DebsIndex;
    const root = ctx.target.root;
    const keyrings = await this.keyrings(root);
    const { dir: check } = await ensureDirInRoot(root, CHECK_DIR, { mode: 0o700 });
    const stanzas = new Map<string, { stanza: string; sha256: string }>();
    const zstd = new binding.DCtx();
    try {
      for (const list of index.lists) {
        // The InRelease, checked by the target's gpgv against the target's keyrings; only the signed text is read.
        await copyFile(join(this.dir, LISTS_DIR, safeName(list.inrelease)), join(check, 'InRelease'));
        const v = await runInTarget(ctx, ['gpgv', ...keyrings.flatMap((k) => ['--keyring', k]), '--output', '-', `${CHECK_DIR}/InRelease`]);
        if (v.code !== 0) {
          problems.push(`${list.inrelease}: its signature does not verify with this system's archive keys (${errorSummary(v)}); its .debs are not used`);
          continue;
        }
        const hashes = releaseHashes(v.stdout);
        for (const p of list.packages) {
          const want = hashes.get(p.path);
          const packed = await readFile(join(this.dir, LISTS_DIR, safeName(p.file)));
          const raw = Buffer.allocUnsafe(p.size);
          let n = -1;
          try {
            n = zstd.decompress(raw, packed);
          } catch {
            // not zstd: altered
          }
          if (!want || n !== want.size || sha256(raw.subarray(0, n)) !== want.sha256) {
            problems.push(`${p.file}: not the ${p.path} its signed InRelease lists; its .debs are not used`);
            continue;
          }
          for (const [k, s] of packagesStanzas(raw.toString('utf8'))) stanzas.set(k, s);
        }
      }
    } finally {
      await rm(check, { recursive: true, force: true });
    }

    // The .debs, each against its stanza; the verified ones into the target's repository.
    const { dir: repo } = await ensureDirInRoot(root, LOCAL_REPO, { mode: 0o755 });
    const lines: string[] = [];
    for (const d of index.debs) {
      const file = safeName(d.file);
      const data = await readFile(join(this.dir, POOL_DIR, file)).catch(() => undefined);
      const s = stanzas.get(`${d.package} ${d.version} ${d.architecture}`);
      if (!data || !s || sha256(data) !== s.sha256) {
        problems.push(`${file}: ${!data ? 'missing from the export' : !s ? 'in no verified archive index' : 'not the file the signed archive lists (altered)'}; apt fetches ${d.package} from the network if it can`);
        continue;
      }
      await copyFile(join(this.dir, POOL_DIR, file), join(repo, file));
      lines.push(s.stanza.replace(/^Filename: .*$/m, `Filename: ./${file}`));
    }
    await writeTargetFile(root, `${LOCAL_REPO}/Packages`, lines.join('\n\n') + '\n');
    await writeTargetFile(root, LOCAL_SOURCE, `# koder-snapshot restore: the exported .debs, each checked against the signed archive (removed after the restore)\ndeb [trusted=yes] file:${LOCAL_REPO} ./\n`);
    for (const p of problems) ctx.log(`deb_unverified: ${p}`);
    ctx.log(`apt: ${lines.length} exported .debs offered from ${LOCAL_REPO}${problems.length ? ` (${problems.length} left out)` : ''}`);
    return problems;
  }

  /** The target's archive keyrings (binary ones: gpgv reads those). */
  private async keyrings(root: string): Promise<string[]> {
    const out: string[] = [];
    const add = async (dir: string, match: (n: string) => boolean) => {
      const names = await readdir(await hostPath(root, dir)).catch(() => [] as string[]);
      for (const n of names.sort()) if (match(n)) out.push(`${dir}/${n}`);
    };
    await add('/usr/share/keyrings', (n) => n.endsWith('-archive-keyring.gpg'));
    await add('/etc/apt/trusted.gpg.d', (n) => n.endsWith('.gpg'));
    await add('/etc/apt', (n) => n === 'trusted.gpg');
    return out;
  }

  /** Removes the source, its lists and the repository from the target. */
  async close(ctx: ApplyContext): Promise<void> {
    if (!this.enabled) return;
    await this.enabled;
    const root = ctx.target.root;
    await removeInTarget(root, LOCAL_SOURCE);
    await rm(await hostPath(root, LOCAL_REPO), { recursive: true, force: true });
    const lists = await hostPath(root, '/var/lib/apt/lists');
    const mine = LOCAL_REPO.replace(/\//g, '_');
    for (const n of await readdir(lists).catch(() => [] as string[])) if (n.startsWith(mine)) await rm(join(lists, n), { force: true });
  }
}
