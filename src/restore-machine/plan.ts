/**
 * The restore plan: one list of steps with sizes, computed from the folded
 * manifest and the person's choices before anything is written. It drives
 * `--dry-run`, the wizard's summary and progress (bytes + items, ETA), and
 * the apply loop. Pure.
 *
 * Step order follows ARCHITECTURE.md: system → apt sources + apt → flatpak →
 * kpkg → files → repos → secrets → first-boot tasks. Steps marked `ahead`
 * (whole folders, bundled repositories) have their data fetched while the
 * steps before them run; they still run in this order. Each step names the
 * manifest entry it restores by key, so a step id is stable across runs and a
 * finished step is recognised after a restart.
 */
import { isV2Files, type Manifest } from '../manifest/types.ts';

export const CATEGORIES = ['system', 'apps', 'repos', 'secrets', 'files'] as const;
export type Category = (typeof CATEGORIES)[number];

export type StepKind =
  | 'system.hostname' | 'system.timezone' | 'system.locale' | 'system.keyboard' | 'system.gpu' | 'system.gsettings'
  | 'apt.sources' | 'apt.install' | 'flatpak.system' | 'kpkg.install'
  | 'files.restore' | 'repo.restore' | 'secrets.restore'
  | 'firstboot.install';

export interface PlanStep {
  /** Stable id: kind plus the manifest entry key, e.g. `files.restore:~/Documentos`. */
  id: string;
  kind: StepKind;
  category: Category | 'firstboot';
  /** Human label (not translated; the wizard derives its own from kind + key). */
  label: string;
  /** The manifest entry this step restores, by key (for steps on one entry). */
  key?: string;
  /** Bytes this step moves (downloads or writes); 0 when negligible. */
  bytes: number;
  /** Items this step handles (packages, files, secrets…). */
  items: number;
  /** files.restore of a data v2 folder: only this path inside it (`/`-separated, relative to the folder). */
  select?: string;
  /**
   * Its blobs (packs, archives, bundles) can be fetched ahead, while the
   * steps before it run (chroot-appliers/ahead.ts): it reads them whole and
   * depends on nothing an earlier step does but the target and its user.
   */
  ahead?: true;
}

export type DeferredKind = 'snap' | 'flatpak.user' | 'repo.ssh' | 'kpkg' | 'gsettings';

/** Work that cannot run in a chroot; done once by the first-boot service. */
export interface DeferredTask {
  id: string;
  kind: DeferredKind;
  label: string;
  /** Run as the restored user (true) or as root. */
  asUser: boolean;
  /** What the first-boot runner needs, JSON. */
  args: Record<string, unknown>;
}

export interface RestoreChoice {
  snapshotId: string;
  /**
   * The owner's user id when the snapshot was shared with me (absent for my
   * own). Set by the machine from the listing at CHOOSE, never by the event.
   */
  owner?: string;
  hostname: string;
  /** Login name of the user in the target that receives `~` paths. */
  targetUser: string;
  categories: Category[];
  /**
   * Restore only these files or folders (manifest paths, `~/…` or `/…`),
   * from the folders of the snapshot that hold them (`restore --path`).
   * Only data v2 folders can give part of themselves; a version 1 folder is
   * restored whole.
   */
  paths?: string[];
}

export interface RestorePlan {
  snapshotId: string;
  steps: PlanStep[];
  deferred: DeferredTask[];
  totals: { bytes: number; items: number; steps: number };
  /** Bytes and items per category, for the configure and summary screens. */
  byCategory: Record<Category, { bytes: number; items: number }>;
}

const isSshUrl = (url: string) => /^(ssh:\/\/|[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:)/.test(url);

/** Sizes per category of a folded manifest, whatever is chosen (configure screen). */
export function categorySizes(m: Manifest): Record<Category, { bytes: number; items: number }> {
  return planRestore(m, { snapshotId: '', hostname: m.snapshot.hostname, targetUser: 'user', categories: [...CATEGORIES] }).byCategory;
}

export function planRestore(m: Manifest, choice: RestoreChoice): RestorePlan {
  const want = new Set(choice.categories);
  const steps: PlanStep[] = [];
  const deferred: DeferredTask[] = [];
  const step = (s: Omit<PlanStep, 'id'>) => steps.push({ ...s, id: s.key === undefined ? s.kind : `${s.kind}:${s.key}` });

  if (want.has('system')) {
    // The hostname is a system setting: restored only when "system" is chosen,
    // like the timezone. It is typed per install (the wizard's field, the
    // CLI's --hostname, by default the snapshot's name), but a person who left
    // "System settings" out was promised that nothing they did not choose is
    // touched: the installer's own name for the machine stays. (Writing it
    // "only when it differs" would still rename such a target whenever the
    // snapshot's name differs — a change nobody chose.)
    step({ kind: 'system.hostname', category: 'system', label: `hostname ${choice.hostname}`, bytes: 0, items: 1 });
  }
  if (want.has('system') && m.system) {
    const s = m.system;
    if (s.timezone) step({ kind: 'system.timezone', category: 'system', label: `timezone ${s.timezone}`, bytes: 0, items: 1 });
    if (s.locale) step({ kind: 'system.locale', category: 'system', label: `locale ${s.locale}`, bytes: 0, items: 1 });
    if (s.keyboard) step({ kind: 'system.keyboard', category: 'system', label: `keyboard ${s.keyboard}`, bytes: 0, items: 1 });
    if (s.gpu_driver) step({ kind: 'system.gpu', category: 'system', label: `GPU driver ${s.gpu_driver}`, bytes: 0, items: 1 });
    const gs = Object.entries(s.gsettings ?? {});
    if (gs.length) {
      deferred.push({ id: 'gsettings', kind: 'gsettings', label: `${gs.reduce((n, [, k]) => n + Object.keys(k).length, 0)} desktop settings`, asUser: true, args: { gsettings: s.gsettings } });
    }
  }
  if (want.has('apps') && m.apps) {
    const a = m.apps;
    const sources = a.apt_sources ?? [];
    if (sources.length) step({ kind: 'apt.sources', category: 'apps', label: `${sources.length} apt sources`, bytes: 0, items: sources.length });
    if (a.apt?.length) step({ kind: 'apt.install', category: 'apps', label: `${a.apt.length} apt packages`, bytes: 0, items: a.apt.length });
    const system = (a.flatpak ?? []).filter((f) => f.scope === 'system');
    if (system.length) step({ kind: 'flatpak.system', category: 'apps', label: `${system.length} flatpaks (system)`, bytes: 0, items: system.length });
    for (const f of (a.flatpak ?? []).filter((f) => f.scope === 'user')) {
      deferred.push({ id: `flatpak.user:${f.ref}`, kind: 'flatpak.user', label: `flatpak ${f.ref} (user)`, asUser: true, args: { ref: f.ref, origin: f.origin, origin_url: f.origin_url } });
    }
    for (const s of a.snap ?? []) {
      deferred.push({ id: `snap:${s.name}`, kind: 'snap', label: `snap ${s.name}`, asUser: false, args: { name: s.name, channel: s.channel, classic: s.classic ?? false } });
    }
    if (a.kpkg?.length) step({ kind: 'kpkg.install', category: 'apps', label: `${a.kpkg.length} kpkg packages`, bytes: 0, items: a.kpkg.length });
  }
  if (want.has('files')) {
    for (const f of m.files?.entry ?? []) {
      const bytes = isV2Files(f) ? f.size : (f.stored_size ?? f.size);
      const items = isV2Files(f) ? f.files : 1;
      if (!choice.paths) {
        step({ kind: 'files.restore', category: 'files', key: f.local_path, label: f.local_path, bytes, items, ahead: true });
        continue;
      }
      for (const p of choice.paths) {
        const whole = p === f.local_path || f.local_path.startsWith(`${p}/`);
        const inside = p.startsWith(`${f.local_path}/`);
        if (whole || (inside && !isV2Files(f))) {
          step({ kind: 'files.restore', category: 'files', key: f.local_path, label: f.local_path, bytes, items, ahead: true });
          break;
        }
        if (inside) steps.push({ id: `files.restore:${p}`, kind: 'files.restore', category: 'files', key: f.local_path, select: p.slice(f.local_path.length + 1), label: p, bytes, items: 1 });
      }
    }
  }
  if (want.has('repos')) {
    for (const r of m.repos?.entry ?? []) {
      if (!r.bundle && !r.bundle_tree && r.url && isSshUrl(r.url)) {
        deferred.push({ id: `repo.ssh:${r.path}`, kind: 'repo.ssh', label: `git clone ${r.url}`, asUser: true, args: { url: r.url, path: r.path, branch: r.branch } });
      } else {
        step({ kind: 'repo.restore', category: 'repos', key: r.path, label: `${r.slug} → ${r.path}`, bytes: r.bundle_size ?? 0, items: 1, ...(r.bundle || r.bundle_tree ? { ahead: true as const } : {}) });
      }
    }
  }
  if (want.has('secrets')) {
    const n = Object.keys(m.secrets ?? {}).length;
    if (n) step({ kind: 'secrets.restore', category: 'secrets', label: `${n} secrets`, bytes: 0, items: n });
  }
  if (deferred.length) step({ kind: 'firstboot.install', category: 'firstboot', label: `${deferred.length} first-boot tasks`, bytes: 0, items: deferred.length });

  const byCategory = Object.fromEntries(CATEGORIES.map((c) => [c, { bytes: 0, items: 0 }])) as RestorePlan['byCategory'];
  for (const s of steps) {
    if (s.category === 'firstboot') continue;
    byCategory[s.category].bytes += s.bytes;
    byCategory[s.category].items += s.items;
  }
  for (const d of deferred) {
    const c: Category = d.kind === 'repo.ssh' ? 'repos' : d.kind === 'gsettings' ? 'system' : 'apps';
    byCategory[c].items += 1;
  }
  const totals = { bytes: steps.reduce((n, s) => n + s.bytes, 0), items: steps.reduce((n, s) => n + s.items, 0), steps: steps.length };
  return { snapshotId: choice.snapshotId, steps, deferred, totals, byCategory };
}
