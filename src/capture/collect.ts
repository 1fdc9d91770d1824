/**
 * Runs the collectors, in this order, and assembles the manifest's sections:
 *
 *   system (timezone, locale, keyboard, GPU, gsettings)
 *   apps   (apt packages, apt sources + keyrings, snaps, flatpaks, kpkg)
 *   repos  (git repositories; bundles for work not on a remote)
 *   secrets (sealed)
 *   files  (folder archives; after repos, whose .git they leave out)
 *   skips  (the patterns used, always)
 *
 * `only` limits which run; a missing tool gives an empty list, never an error.
 */
import type { AppsSection, Manifest } from '../manifest/types.ts';
import type { Category } from '../restore-machine/plan.ts';
import type { CollectContext } from './context.ts';
import { collectApt } from './collectors/apt.ts';
import { collectAptSources } from './collectors/apt-sources.ts';
import { collectFiles } from './collectors/files.ts';
import { collectFlatpaks } from './collectors/flatpak.ts';
import { collectKpkg } from './collectors/kpkg.ts';
import { collectRepos } from './collectors/repos.ts';
import { collectSecrets } from './collectors/secrets.ts';
import { collectSnaps } from './collectors/snap.ts';
import { collectSystem } from './collectors/system.ts';

export type Sections = Omit<Manifest, 'snapshot' | 'removed'>;

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

export async function collect(ctx: CollectContext, only: readonly Category[]): Promise<Sections> {
  const out: Sections = {};
  const step = async <T>(name: Category, run: () => Promise<T>, summary: (r: T) => string): Promise<void> => {
    if (!only.includes(name)) return;
    ctx.signal?.throwIfAborted();
    const t0 = Date.now();
    ctx.emit({ type: 'collector.start', name });
    const r = await run();
    ctx.emit({ type: 'collector.done', name, summary: summary(r), ms: Date.now() - t0 });
  };

  await step(
    'system',
    async () => {
      const sys = await collectSystem(ctx);
      if (Object.keys(sys).length) out.system = sys;
      return sys;
    },
    (s) => {
      const parts = (['timezone', 'locale', 'keyboard', 'gpu_driver'] as const).filter((k) => s[k]).map((k) => `${k} ${s[k]}`);
      const gs = Object.values(s.gsettings ?? {}).reduce((n, keys) => n + Object.keys(keys).length, 0);
      return [...parts, plural(gs, 'desktop setting')].join(', ');
    },
  );

  await step(
    'apps',
    async () => {
      const apt = await collectApt(ctx);
      const apps: AppsSection = {};
      if (apt.packages.length) apps.apt = apt.packages;
      const sources = await collectAptSources(ctx);
      if (sources.length) apps.apt_sources = sources;
      const snap = await collectSnaps(ctx);
      if (snap.length) apps.snap = snap;
      const flatpak = await collectFlatpaks(ctx);
      if (flatpak.length) apps.flatpak = flatpak;
      const kpkg = await collectKpkg(ctx);
      if (kpkg.length) apps.kpkg = kpkg;
      if (Object.keys(apps).length) out.apps = apps;
      return { apps, base: apt.base };
    },
    ({ apps, base }) =>
      `${plural(apps.apt?.length ?? 0, 'apt package')}${base ? ` (base list ${base})` : ' (no base list)'}, ${plural(apps.apt_sources?.length ?? 0, 'apt source')}, ` +
      `${plural(apps.snap?.length ?? 0, 'snap')}, ${plural(apps.flatpak?.length ?? 0, 'flatpak')}, ${apps.kpkg?.length ?? 0} kpkg`,
  );

  await step(
    'repos',
    async () => {
      const entry = await collectRepos(ctx);
      if (entry.length) out.repos = { entry };
      return entry;
    },
    (e) => `${e.length} ${e.length === 1 ? 'repository' : 'repositories'}, ${e.filter((r) => r.bundle).length} as bundles`,
  );

  await step(
    'secrets',
    async () => {
      const secrets = await collectSecrets(ctx);
      if (Object.keys(secrets).length) out.secrets = secrets;
      return secrets;
    },
    (s) => `${plural(Object.keys(s).length, 'secret')} sealed`,
  );

  await step(
    'files',
    async () => {
      const entry = await collectFiles(ctx);
      if (entry.length) out.files = { entry };
      return entry;
    },
    (e) => `${plural(e.length, 'folder')}`,
  );

  if (ctx.config.skips.patterns.length) out.skips = { patterns: [...new Set(ctx.config.skips.patterns)] };
  return out;
}
