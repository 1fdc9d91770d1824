/**
 * apt in the target: the shared `aptInstall` helper every applier uses to
 * install packages, and the `apt.sources` / `apt.install` appliers.
 *
 * aptInstall(ctx, packages):
 *   1. dpkg-query: what is already installed is not touched again;
 *   2. `apt-get update`, once per restore run (remembered per ApplyContext);
 *   3. ONE `apt-cache policy p1 p2 …`: a name without a block, or with
 *      `Candidate: (none)`, is not in the target's archives → reported, skipped;
 *   4. ONE `apt-get install -y` of the available ones (progress from the
 *      "Setting up NAME" lines); if it fails, dpkg/apt are repaired and the
 *      ones still missing are installed one by one, each failure reported;
 *   5. `apt-mark manual` of every requested package that is installed.
 * Nothing is ever removed (`--no-remove`); conffile prompts keep the
 * target's version. Running it again with everything installed is a
 * dpkg-query and an apt-mark: the target does not change.
 *
 * apt.sources, per manifest entry: keyring blob → keyring_path (atomic, 0644;
 * the BlobSource stream errors on a hash mismatch, which stops the restore;
 * a different keyring already at that path is kept); a `Suites:` naming an
 * older Debian/Ubuntu codename than the target's (/etc/os-release) rewritten
 * to the target's; the source probed with an `apt-get update` of a staging
 * copy alone (a rewritten suite that fails is tried again as captured); then
 * written as /etc/apt/sources.list.d/NAME.sources, or, when the probe fails,
 * as NAME.sources.disabled (a failing source is never left enabled). Last the
 * run's `apt-get update` with every source: a restored source that makes it
 * fail as a whole (e.g. a Signed-By conflicting with the target's own entry
 * for the same URI) is disabled too. Everything disabled is in `details`.
 */
import type { ApplyContext, Progress, StepApplier, StepOutcome } from './applier.ts';
import type { AptSource, BlobRef } from '../manifest/types.ts';
import { errorSummary, installedPackages, runInTarget } from './chroot-commands.ts';
import { rmdir } from 'node:fs/promises';
import { freePreRestoreName, hostPath, readTargetBytes, readTargetText, removeInTarget, renameInTarget, sha256Hex, writeTargetFile } from './target-files.ts';

// ---------------------------------------------------------------------------
// apt-get update, once per run

export interface AptUpdateResult {
  ok: boolean;
  /** `W:` / `E:` / `Err:` lines of the update. */
  problems: string[];
}

const updates = new WeakMap<ApplyContext, Promise<AptUpdateResult>>();

const APT_OPTS = ['-o', 'DPkg::Lock::Timeout=300', '-o', 'Dpkg::Options::=--force-confdef', '-o', 'Dpkg::Options::=--force-confold'];

function problemLines(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => /^(W|E): /.test(l) || /^Err:\d+/.test(l));
}

async function runUpdate(ctx: ApplyContext, extra: string[] = []): Promise<AptUpdateResult> {
  const r = await runInTarget(ctx, ['apt-get', ...APT_OPTS, ...extra, 'update']);
  const problems = problemLines(`${r.stdout}\n${r.stderr}`);
  const failed = r.code !== 0 || problems.some((l) => /^E: /.test(l) || /^Err:/.test(l) || /^W: (Failed to fetch|GPG error)/.test(l));
  return { ok: !failed, problems };
}

/**
 * `apt-get update` in the target, once per run (per ApplyContext object).
 * `force` runs it again (after the sources changed).
 */
export function aptUpdate(ctx: ApplyContext, opts: { force?: boolean } = {}): Promise<AptUpdateResult> {
  const cached = updates.get(ctx);
  if (cached && !opts.force) return cached;
  const p = runUpdate(ctx).catch((e: unknown) => {
    updates.delete(ctx);
    throw e;
  });
  updates.set(ctx, p);
  return p;
}

// ---------------------------------------------------------------------------
// availability

/** Debian package name, optionally with `:arch`. Anything else never reaches apt (no regex/glob expansion, no options). */
export const PACKAGE_NAME = /^[a-z0-9][a-z0-9+.-]+(:[a-z0-9-]+)?$/;

/**
 * `apt-cache policy` output → name → candidate version (null for
 * `Candidate: (none)`). Names apt did not know have no block at all. Blocks
 * of other packages (regex matches) are returned too; callers look up the
 * exact names they asked for.
 */
export function parseAptCachePolicy(text: string): Map<string, string | null> {
  const out = new Map<string, string | null>();
  let current: string | undefined;
  for (const line of text.split('\n')) {
    const head = /^(\S+):$/.exec(line);
    if (head) {
      current = head[1]!;
      if (!out.has(current)) out.set(current, null);
      continue;
    }
    const cand = /^\s+Candidate:\s*(.+?)\s*$/.exec(line);
    if (cand && current !== undefined) out.set(current, cand[1] === '(none)' ? null : cand[1]!);
  }
  return out;
}

// ---------------------------------------------------------------------------
// aptInstall

export interface AptInstallOptions {
  /** `--no-install-recommends` (for helper packages such as tzdata, locales). */
  noRecommends?: boolean;
}

export interface AptInstallResult {
  /** Installed by this call. */
  installed: string[];
  /** Already installed before. */
  present: string[];
  /** Not in the target's archives (or not a valid package name). */
  missing: string[];
  /** In the archives, but could not be installed. */
  failed: string[];
  /** One line per missing/failed package (and apt problems worth knowing). */
  details: string[];
}

/**
 * Installs `packages` in the target (see the file header). Never throws for
 * a package; only the chroot itself failing (setup, abort) throws.
 */
export async function aptInstall(ctx: ApplyContext, packages: readonly string[], progress?: Progress, opts: AptInstallOptions = {}): Promise<AptInstallResult> {
  const res: AptInstallResult = { installed: [], present: [], missing: [], failed: [], details: [] };
  const wanted: string[] = [];
  for (const p of new Set(packages)) {
    if (PACKAGE_NAME.test(p)) wanted.push(p);
    else {
      res.missing.push(p);
      res.details.push(`${p}: not a valid package name`);
    }
  }
  let done = 0;
  const tick = () => progress?.({ bytes: 0, items: done });

  const present = await installedPackages(ctx, wanted);
  res.present.push(...wanted.filter((p) => present.has(p)));
  done += res.present.length;
  tick();
  const todo = wanted.filter((p) => !present.has(p));

  if (todo.length > 0) {
    const upd = await aptUpdate(ctx);
    if (!upd.ok) res.details.push(`apt-get update had problems: ${upd.problems.slice(0, 3).join(' | ') || 'failed'}`);

    const policy = await runInTarget(ctx, ['apt-cache', 'policy', ...todo]);
    const candidates = parseAptCachePolicy(policy.stdout);
    const available: string[] = [];
    for (const p of todo) {
      if (candidates.get(p)) available.push(p);
      else {
        res.missing.push(p);
        res.details.push(candidates.has(p) ? `${p}: no installation candidate in the target's archives` : `${p}: not in the target's archives`);
      }
    }

    if (available.length > 0) {
      const pending = new Set(available);
      const onLine = (line: string) => {
        const m = /^Setting up ([^\s:]+)(?::\S+)? \(/.exec(line);
        if (m && pending.delete(m[1]!)) {
          done += 1;
          tick();
        }
      };
      const base = ['apt-get', ...APT_OPTS, 'install', '-y', '--no-remove', ...(opts.noRecommends ? ['--no-install-recommends'] : [])];
      const batch = await runInTarget(ctx, [...base, ...available], { onLine });
      let nowInstalled = await installedPackages(ctx, available);
      if (batch.code !== 0) {
        const why = errorSummary(batch);
        ctx.log(`apt-get install of ${available.length} packages failed (${why}); installing one by one`);
        // Leave dpkg consistent before going on (a half-configured package
        // would make every next apt-get refuse).
        await runInTarget(ctx, ['dpkg', '--configure', '-a']);
        await runInTarget(ctx, [...base, '-f']);
        nowInstalled = await installedPackages(ctx, available);
        for (const p of available) {
          if (nowInstalled.has(p)) continue;
          const one = await runInTarget(ctx, [...base, p], { onLine });
          if (one.code === 0) nowInstalled.add(p);
          else {
            res.failed.push(p);
            res.details.push(`${p}: install failed: ${errorSummary(one)}`);
            await runInTarget(ctx, ['dpkg', '--configure', '-a']);
          }
        }
        nowInstalled = await installedPackages(ctx, available);
      }
      for (const p of available) {
        if (nowInstalled.has(p)) {
          res.installed.push(p);
          if (pending.delete(p)) done += 1;
        } else if (!res.failed.includes(p)) {
          res.failed.push(p);
          res.details.push(`${p}: not installed after apt-get install: ${errorSummary(batch)}`);
        }
      }
      tick();
    }
  }

  const manual = [...res.present, ...res.installed];
  if (manual.length > 0) {
    const mark = await runInTarget(ctx, ['apt-mark', 'manual', ...manual]);
    if (mark.code !== 0) res.details.push(`apt-mark manual failed: ${errorSummary(mark)}`);
  }
  return res;
}

/** A StepOutcome from an aptInstall result: failed > skipped (missing) > done. */
export function aptOutcome(r: AptInstallResult, noun = 'packages'): StepOutcome {
  const parts = [`${r.installed.length} ${noun} installed`, `${r.present.length} already present`];
  if (r.missing.length) parts.push(`${r.missing.length} not in the target's archives`);
  if (r.failed.length) parts.push(`${r.failed.length} failed`);
  const status = r.failed.length ? 'failed' : r.missing.length ? 'skipped' : 'done';
  return { status, message: parts.join(', '), ...(r.details.length ? { details: r.details } : {}) };
}

// ---------------------------------------------------------------------------
// apt.install

export const applyAptInstall: StepApplier = async (_step, ctx, progress) => {
  const pkgs = ctx.manifest.apps?.apt ?? [];
  if (pkgs.length === 0) return { status: 'done', message: 'no apt packages' };
  return aptOutcome(await aptInstall(ctx, pkgs, progress));
};

// ---------------------------------------------------------------------------
// release codenames

/** Debian codenames, oldest first. */
export const DEBIAN_CODENAMES = ['buzz', 'rex', 'bo', 'hamm', 'slink', 'potato', 'woody', 'sarge', 'etch', 'lenny', 'squeeze', 'wheezy', 'jessie', 'stretch', 'buster', 'bullseye', 'bookworm', 'trixie', 'forky', 'duke'];
/** Ubuntu codenames, oldest first. */
export const UBUNTU_CODENAMES = ['warty', 'hoary', 'breezy', 'dapper', 'edgy', 'feisty', 'gutsy', 'hardy', 'intrepid', 'jaunty', 'karmic', 'lucid', 'maverick', 'natty', 'oneiric', 'precise', 'quantal', 'raring', 'saucy', 'trusty', 'utopic', 'vivid', 'wily', 'xenial', 'yakkety', 'zesty', 'artful', 'bionic', 'cosmic', 'disco', 'eoan', 'focal', 'groovy', 'hirsute', 'impish', 'jammy', 'kinetic', 'lunar', 'mantic', 'noble', 'oracular', 'plucky', 'questing'];
const DEBIAN_BY_MAJOR: Record<string, string> = { '8': 'jessie', '9': 'stretch', '10': 'buster', '11': 'bullseye', '12': 'bookworm', '13': 'trixie', '14': 'forky', '15': 'duke' };

export interface TargetRelease {
  debian?: string;
  ubuntu?: string;
}

/** `KEY=value` pairs of an os-release file. */
export function parseOsRelease(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (!m) continue;
    let v = m[2]!;
    if (/^".*"$/.test(v) || /^'.*'$/.test(v)) v = v.slice(1, -1);
    out[m[1]!] = v.replace(/\\(.)/g, '$1');
  }
  return out;
}

/** The target's Debian and/or Ubuntu codename, from its os-release (and debian_version). */
export async function targetRelease(root: string): Promise<TargetRelease> {
  const os = parseOsRelease((await readTargetText(root, '/etc/os-release')) ?? (await readTargetText(root, '/usr/lib/os-release')) ?? '');
  const names = [os.VERSION_CODENAME, os.DEBIAN_CODENAME, os.UBUNTU_CODENAME].filter((x): x is string => !!x).map((x) => x.toLowerCase());
  const rel: TargetRelease = {};
  const deb = names.find((n) => DEBIAN_CODENAMES.includes(n));
  const ubu = names.find((n) => UBUNTU_CODENAMES.includes(n));
  if (deb) rel.debian = deb;
  if (ubu) rel.ubuntu = ubu;
  if (!rel.debian && !rel.ubuntu) {
    const dv = (await readTargetText(root, '/etc/debian_version'))?.trim() ?? '';
    const byName = DEBIAN_CODENAMES.find((n) => dv.startsWith(`${n}/`));
    const byMajor = DEBIAN_BY_MAJOR[dv.split('.')[0] ?? ''];
    if (byName) rel.debian = byName;
    else if (byMajor) rel.debian = byMajor;
  }
  return rel;
}

/** A suite (`bullseye`, `bullseye-updates`, `bullseye/updates`) under the target's release, if it names an older one. */
export function rewriteSuite(suite: string, rel: TargetRelease): string {
  const m = /^([a-z]+)([-/].*)?$/.exec(suite);
  if (!m) return suite;
  const [, code, rest = ''] = m;
  for (const [list, target] of [[DEBIAN_CODENAMES, rel.debian], [UBUNTU_CODENAMES, rel.ubuntu]] as const) {
    if (!target) continue;
    const i = list.indexOf(code!);
    const t = list.indexOf(target);
    if (i >= 0 && t >= 0 && i < t) {
      // Debian's old security layout (`buster/updates`) became `-security`.
      const tail = list === DEBIAN_CODENAMES && rest === '/updates' ? '-security' : rest;
      return `${target}${tail}`;
    }
  }
  return suite;
}

/**
 * Rewrites every `Suites:` field of a deb822 text (field names are
 * case-insensitive; continuation lines belong to the field). Returns the new
 * text and the rewrites done.
 */
export function rewriteSuites(deb822: string, rel: TargetRelease): { text: string; rewrites: Array<[string, string]> } {
  const rewrites: Array<[string, string]> = [];
  const lines = deb822.split('\n');
  let inSuites = false;
  const out = lines.map((line) => {
    const field = /^([A-Za-z0-9-]+):(.*)$/.exec(line);
    if (field) {
      inSuites = field[1]!.toLowerCase() === 'suites';
      if (!inSuites) return line;
      return `${field[1]}:${rewriteWords(field[2]!, rel, rewrites)}`;
    }
    if (inSuites && /^[ \t]/.test(line) && line.trim() !== '' && line.trim() !== '.') return rewriteWords(line, rel, rewrites);
    if (!/^[ \t]/.test(line)) inSuites = false;
    return line;
  });
  return { text: out.join('\n'), rewrites };
}

function rewriteWords(s: string, rel: TargetRelease, rewrites: Array<[string, string]>): string {
  return s.replace(/[^\s]+/g, (w) => {
    const r = rewriteSuite(w, rel);
    if (r !== w) rewrites.push([w, r]);
    return r;
  });
}

/** The `URIs:` of a deb822 text. */
export function deb822Uris(deb822: string): string[] {
  const out: string[] = [];
  for (const m of deb822.matchAll(/^URIs:(.*)$/gim)) out.push(...m[1]!.trim().split(/\s+/).filter(Boolean));
  return out.map((u) => u.replace(/\/+$/, ''));
}

// ---------------------------------------------------------------------------
// apt.sources

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
    const r = await runUpdate(ctx, ['-o', `Dir::Etc::SourceList=${file}`, '-o', 'Dir::Etc::SourceParts=/nonexistent', '-o', 'APT::Get::List-Cleanup=0']);
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

/** The apt appliers by step kind. */
export const aptAppliers = { 'apt.sources': applyAptSources, 'apt.install': applyAptInstall } as const;
