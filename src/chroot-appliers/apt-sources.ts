/**
 * The `apt.sources` applier: the snapshot's third-party apt sources into the
 * target, each one probed before it is enabled.
 *
 * Per manifest entry: keyring blob → keyring_path (atomic, 0644; the
 * BlobSource stream errors on a hash mismatch, which stops the restore; a
 * different keyring already at that path is kept); a `Suites:` naming an
 * older Debian/Ubuntu codename than the target's (/etc/os-release) rewritten
 * to the target's (apt-release.ts); the source probed with an `apt-get
 * update` of a staging copy alone (a rewritten suite that fails is tried
 * again as captured); then written as /etc/apt/sources.list.d/NAME.sources,
 * or, when the probe fails, as NAME.sources.disabled (a failing source is
 * never left enabled). Last the run's `apt-get update` with every source: a
 * restored source that makes it fail as a whole (e.g. a Signed-By
 * conflicting with the target's own entry for the same URI) is disabled too.
 * Everything disabled is in `details`.
 */
import { rmdir } from 'node:fs/promises';
import type { ApplyContext, StepApplier } from './applier.ts';
import type { AptSource, BlobRef } from '../manifest/types.ts';
import { aptUpdate, runAptUpdate } from './apt.ts';
import { deb822Uris, releaseOf, rewriteSuites, type TargetRelease } from './apt-release.ts';
import { freePreRestoreName, hostPath, readTargetBytes, readTargetText, removeInTarget, renameInTarget, sha256Hex, writeTargetFile } from './target-files.ts';

/** The target's Debian and/or Ubuntu codename, from its os-release (and debian_version). */
export async function targetRelease(root: string): Promise<TargetRelease> {
  const os = (await readTargetText(root, '/etc/os-release')) ?? (await readTargetText(root, '/usr/lib/os-release')) ?? '';
  return releaseOf(os, (await readTargetText(root, '/etc/debian_version')) ?? '');
}

const SOURCE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const MAX_KEYRING_BYTES = 16 * 1024 * 1024;
const SOURCES_DIR = '/etc/apt/sources.list.d';

async function readBlob(ctx: ApplyContext, ref: BlobRef): Promise<Buffer> {
  const stream = await ctx.blobs.open(ref, ctx.signal ? { signal: ctx.signal } : {});
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of stream) {
    const b = Buffer.isBuffer(c) ? c : Buffer.from(c as Uint8Array);
    n += b.length;
    if (n > MAX_KEYRING_BYTES) {
      stream.destroy();
      throw new Error(`keyring blob ${ref} is larger than ${MAX_KEYRING_BYTES} bytes`);
    }
    chunks.push(b);
  }
  return Buffer.concat(chunks);
}

function isSafeAbsolute(p: string): boolean {
  return p.startsWith('/') && !p.endsWith('/') && !p.split('/').some((c) => c === '..' || c === '.') && !p.includes('\0');
}

/** Writes a keyring; returns a detail line when something is worth reporting. */
async function placeKeyring(ctx: ApplyContext, src: AptSource): Promise<string | undefined> {
  if (!src.keyring) return undefined;
  const path = src.keyring_path;
  if (!path || !isSafeAbsolute(path)) return `${src.name}: keyring_path ${JSON.stringify(path ?? '')} is not a usable absolute path; keyring not written`;
  const root = ctx.target.root;
  const existing = await readTargetBytes(root, path);
  const want = src.keyring.slice('sha256:'.length);
  if (existing && sha256Hex(existing) === want) return undefined;
  // Stream errors (hash mismatch included) propagate: a verification failure stops the restore.
  const bytes = await readBlob(ctx, src.keyring);
  if (existing) {
    if (existing.equals(bytes)) return undefined;
    return `${src.name}: ${path} already exists in the target with other content; kept the target's`;
  }
  await writeTargetFile(root, path, bytes, { mode: 0o644 });
  return undefined;
}

interface ProbeResult {
  ok: boolean;
  why: string;
}

const PROBE_DIR = '/var/lib/koder-restore/apt-probe';

/** `apt-get update` of one source alone, from a staging copy of its deb822 text. */
async function probeSource(ctx: ApplyContext, name: string, deb822: string): Promise<ProbeResult> {
  const file = `${PROBE_DIR}/${name}.sources`;
  await writeTargetFile(ctx.target.root, file, deb822, { mode: 0o644, dirMode: 0o700 });
  try {
    const r = await runAptUpdate(ctx, ['-o', `Dir::Etc::SourceList=${file}`, '-o', 'Dir::Etc::SourceParts=/nonexistent', '-o', 'APT::Get::List-Cleanup=0']);
    return { ok: r.ok, why: r.problems.find((l) => /^(E|W): /.test(l)) ?? r.problems[0] ?? 'apt-get update failed' };
  } finally {
    await removeInTarget(ctx.target.root, file);
    await rmdir(await hostPath(ctx.target.root, PROBE_DIR, false)).catch(() => undefined);
  }
}

export const applyAptSources: StepApplier = async (_step, ctx, progress) => {
  const sources = ctx.manifest.apps?.apt_sources ?? [];
  if (sources.length === 0) return { status: 'done', message: 'no apt sources' };
  const root = ctx.target.root;
  const rel = await targetRelease(root);
  const details: string[] = [];
  let failed = 0;
  let items = 0;
  const enabled: Array<{ src: AptSource; file: string }> = [];

  for (const src of sources) {
    const file = `${SOURCES_DIR}/${src.name}.sources`;
    const disabledFile = `${file}.disabled`;
    if (!SOURCE_NAME.test(src.name) || src.name.length > 200) {
      failed++;
      details.push(`${JSON.stringify(src.name)}: not a usable source name; skipped`);
      progress({ bytes: 0, items: ++items });
      continue;
    }
    if (typeof src.deb822 !== 'string' || !/^URIs:/im.test(src.deb822) || src.deb822.includes('\0')) {
      failed++;
      details.push(`${src.name}: deb822 text has no URIs; skipped`);
      progress({ bytes: 0, items: ++items });
      continue;
    }
    const original = src.deb822.endsWith('\n') ? src.deb822 : `${src.deb822}\n`;
    const { text: rewritten, rewrites } = rewriteSuites(original, rel);

    const keyNote = await placeKeyring(ctx, src);
    if (keyNote) details.push(keyNote);

    // Probe from a staging copy first: a failing source never sits enabled.
    let chosen = rewritten;
    let probe = await probeSource(ctx, src.name, rewritten);
    let suiteNote = rewrites.length ? `${src.name}: suite ${rewrites.map(([a, b]) => `${a} → ${b}`).join(', ')} (the target's release)` : undefined;
    if (!probe.ok && rewrites.length) {
      // Not published for the target's release: try the captured suite.
      const again = await probeSource(ctx, src.name, original);
      if (again.ok) {
        probe = again;
        chosen = original;
        suiteNote = `${src.name}: ${rewrites.map(([, b]) => b).join(', ')} not available; kept ${rewrites.map(([a]) => a).join(', ')}`;
      }
    }
    if (suiteNote) details.push(suiteNote);

    const current = await readTargetText(root, file);
    const ours = current !== undefined && (current === rewritten || current === original);
    if (probe.ok) {
      // A differing file already there that is not one of ours is set aside.
      if (current !== undefined && !ours) {
        const aside = await freePreRestoreName(root, file);
        await renameInTarget(root, file, aside);
        details.push(`${src.name}: the target's own ${file} was kept as ${aside}`);
      }
      await writeTargetFile(root, file, chosen, { mode: 0o644 });
      await removeInTarget(root, disabledFile);
      enabled.push({ src, file });
    } else {
      await writeTargetFile(root, disabledFile, rewritten, { mode: 0o644 });
      if (ours) await removeInTarget(root, file);
      failed++;
      details.push(`${src.name}: apt-get update failed (${probe.why}); disabled as ${disabledFile}`);
    }
    progress({ bytes: 0, items: ++items });
  }

  // The run's update, with every source. A restored source that breaks the
  // whole list (e.g. Signed-By conflicting with the target's) is disabled.
  let upd = await aptUpdate(ctx, { force: true });
  if (!upd.ok) {
    const errors = upd.problems.filter((l) => /^E: /.test(l));
    const culprits = enabled.filter(({ src, file }) => errors.some((e) => e.includes(file) || deb822Uris(src.deb822).some((u) => e.includes(u))));
    for (const c of culprits) {
      await renameInTarget(root, c.file, `${c.file}.disabled`);
      failed++;
      details.push(`${c.src.name}: breaks apt-get update with the target's sources (${errors[0]}); disabled as ${c.file}.disabled`);
    }
    if (culprits.length) upd = await aptUpdate(ctx, { force: true });
    if (!upd.ok) details.push(`apt-get update had problems: ${upd.problems.slice(0, 3).join(' | ')}`);
  }

  const ok = sources.length - failed;
  return {
    status: failed ? 'failed' : 'done',
    message: `${ok} of ${sources.length} apt sources enabled`,
    ...(details.length ? { details } : {}),
  };
};
