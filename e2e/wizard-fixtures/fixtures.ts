/**
 * Fixture UiStates for the wizard, one (or more) per screen, built from a
 * realistic folded manifest with the real planner (planRestore), so the
 * summary, progress and report screens show what the daemon would send.
 */
import { categorySizes, planRestore, type PlanStep, type RestoreChoice } from '../../src/restore-machine/plan.ts';
import { PRIOR_RATES, guessedWork } from '../../src/daemon/eta.ts';
import type { Manifest } from '../../src/manifest/types.ts';
import type { RestoreReport, SnapshotSummary, StepResult } from '../../src/restore-machine/types.ts';
import type { SnapshotDetails, StepView, UiState } from '../../src/daemon/ui-state.ts';
import { generate } from 'lean-qr';
import { toSvgSource } from 'lean-qr/extras/svg';

export const ME = 'usr_7f3a9c21e4';
const SHA = (i: number) => `sha256:${i.toString(16).padStart(64, '0')}` as const;
const GB = 1024 ** 3;
const MB = 1024 ** 2;

interface Shape {
  hostname: string;
  apt: number;
  flatpakSystem: number;
  flatpakUser: number;
  snaps: number;
  kpkg: number;
  repos: number;
  sshRepos: number;
  secrets: number;
  files: [string, number][];
}

function manifestOf(s: Shape): Manifest {
  return {
    snapshot: { version: 1, hostname: s.hostname, created_at: '2026-05-12T18:42:00Z', koder_user_id: ME },
    system: {
      timezone: 'America/Sao_Paulo',
      locale: 'pt_BR.UTF-8',
      keyboard: 'br(abnt2)',
      gpu_driver: 'amdgpu',
      gsettings: { 'org.gnome.desktop.interface': { 'color-scheme': "'prefer-dark'", 'clock-show-weekday': 'true' }, 'org.gnome.desktop.peripherals.touchpad': { 'tap-to-click': 'true' } },
    },
    apps: {
      apt: Array.from({ length: s.apt }, (_, i) => `pkg-${i}`),
      apt_sources: [
        { name: 'vscode', deb822: 'Types: deb\nURIs: https://packages.microsoft.com/repos/code\nSuites: stable\nComponents: main\n' },
        { name: 'docker', deb822: 'Types: deb\nURIs: https://download.docker.com/linux/debian\nSuites: bookworm\nComponents: stable\n' },
        { name: 'koder', deb822: 'Types: deb\nURIs: https://apt.koder.dev\nSuites: stable\nComponents: main\n' },
      ],
      flatpak: [
        ...['org.gnome.Boxes', 'org.inkscape.Inkscape', 'org.gimp.GIMP', 'com.obsproject.Studio', 'org.telegram.desktop', 'md.obsidian.Obsidian'].slice(0, s.flatpakSystem).map((id) => ({ ref: `app/${id}/x86_64/stable`, origin: 'flathub', scope: 'system' as const })),
        ...['com.spotify.Client', 'org.signal.Signal'].slice(0, s.flatpakUser).map((id) => ({ ref: `app/${id}/x86_64/stable`, origin: 'flathub', scope: 'user' as const })),
      ],
      snap: [
        { name: 'postman', channel: 'latest/stable' },
        { name: 'code-insiders', channel: 'latest/stable', classic: true },
      ].slice(0, s.snaps),
      kpkg: ['koder-cli', 'koder-fonts', 'koder-themes', 'kdev'].slice(0, s.kpkg),
    },
    repos: {
      entry: [
        ...Array.from({ length: s.repos - s.sshRepos }, (_, i) => {
          const slug = ['koder/snapshots', 'koder/site', 'ana/dotfiles', 'ana/tcc', 'ana/receitas', 'koder/design-system', 'koder/infra'][i % 7]! + (i >= 7 ? `-${i}` : '');
          return { slug, url: `https://git.koder.dev/${slug}.git`, path: `~/src/${slug.split('/')[1]}`, branch: 'main', bundle: SHA(100 + i), bundle_size: 3 * MB + i * 1_700_000 };
        }),
        ...Array.from({ length: s.sshRepos }, (_, i) => ({ slug: `ana/private-${i + 1}`, url: `git@github.com:ana/private-${i + 1}.git`, path: `~/src/private-${i + 1}`, branch: 'main' })),
      ],
    },
    secrets: Object.fromEntries(
      ['ssh/id_ed25519', 'ssh/id_ed25519_work', 'ssh/config', 'gnupg', 'netrc', 'rclone.conf', 'git-credentials', 'npmrc', 'docker-config'].slice(0, s.secrets).map((n) => [n, { path: `~/.${n}`, mode: '0600', sealed: 'AAAA' }]),
    ),
    files: { entry: s.files.map(([p, size], i) => ({ local_path: p, blob: SHA(500 + i), sha256: 'a'.repeat(64), size: Math.round(size * 1.15), stored_size: size })) },
  };
}

const SHAPES: Record<string, Shape> = {
  thinkpad: {
    hostname: 'ana-thinkpad', apt: 1843, flatpakSystem: 6, flatpakUser: 2, snaps: 2, kpkg: 4, repos: 27, sshRepos: 3, secrets: 9,
    files: [['~/Documentos', 2.1 * GB], ['~/Imagens', 1.2 * GB], ['~/Música', 640 * MB], ['~/.config/Code/User', 2.4 * MB], ['~/Modelos', 18 * MB], ['~/.local/share/fonts', 96 * MB]],
  },
  desktop: {
    hostname: 'ana-desktop', apt: 2410, flatpakSystem: 4, flatpakUser: 0, snaps: 1, kpkg: 2, repos: 12, sshRepos: 0, secrets: 6,
    files: [['~/Documentos', 5.3 * GB], ['~/Vídeos', 6.8 * GB]],
  },
  lab: {
    hostname: 'lab-workstation', apt: 960, flatpakSystem: 2, flatpakUser: 0, snaps: 0, kpkg: 1, repos: 5, sshRepos: 1, secrets: 0,
    files: [['/srv/datasets', 7.9 * GB]],
  },
};

/** The snapshot list: mine (old-laptop's chain fails verification), and two shared with me. */
export const SNAPSHOTS: SnapshotSummary[] = [
  { id: 'a1'.repeat(32), hostname: 'ana-thinkpad', createdAt: '2026-04-28T09:15:00Z', owner: ME, shared: false, chainDepth: 3, bytes: 240 * MB },
  { id: 'b2'.repeat(32), hostname: 'ana-desktop', createdAt: '2026-03-02T21:03:00Z', owner: ME, shared: false, chainDepth: 1, bytes: 12.4 * GB },
  { id: 'c3'.repeat(32), hostname: 'lab-workstation', createdAt: '2026-05-01T14:30:00Z', owner: 'usr_b81e04d2aa', shared: true, chainDepth: 2, bytes: 8.1 * GB },
  { id: 'd4'.repeat(32), hostname: 'ana-thinkpad', createdAt: '2026-05-12T18:42:00Z', owner: ME, shared: false, chainDepth: 4, bytes: 180 * MB },
  { id: 'e5'.repeat(32), hostname: 'old-laptop', createdAt: '2025-11-20T07:55:00Z', owner: ME, shared: false, chainDepth: 1, bytes: 920 * MB },
  { id: 'f6'.repeat(32), hostname: 'familia-pc', createdAt: '2026-02-14T19:20:00Z', owner: 'usr_0c55aa10f3', shared: true, chainDepth: 1, bytes: 1.6 * GB },
];
/** A snapshot of mine whose chain fails verification (the daemon's details answer 422 MANIFEST_VERIFY). */
export const REFUSED = 'e5'.repeat(32);
export const REFUSED_REASON = 'snapshot e5e5…e5: Ed25519 signature does not verify (key 8f02…a1 is not one of your keys)';
/** The newest of mine: what the keyboard walk picks. */
export const NEWEST = 'd4'.repeat(32);

function shapeOf(id: string): Shape {
  const s = SNAPSHOTS.find((x) => x.id === id);
  if (s?.hostname === 'ana-desktop' || s?.hostname === 'familia-pc') return SHAPES.desktop!;
  if (s?.hostname === 'lab-workstation') return SHAPES.lab!;
  return { ...SHAPES.thinkpad!, hostname: s?.hostname ?? 'ana-thinkpad' };
}

export function detailsOf(id: string): SnapshotDetails | undefined {
  if (!SNAPSHOTS.some((x) => x.id === id)) return undefined;
  const shape = shapeOf(id);
  const m = manifestOf(shape);
  return {
    id,
    hostname: shape.hostname,
    byCategory: categorySizes(m),
    counts: { apt: shape.apt, snap: shape.snaps, flatpak: shape.flatpakSystem + shape.flatpakUser, repos: shape.repos, files: shape.files.length, secrets: shape.secrets },
  };
}

export const DEFAULT_CHOICE: RestoreChoice = { snapshotId: NEWEST, hostname: 'ana-thinkpad', targetUser: 'ana', categories: ['system', 'apps', 'repos', 'secrets', 'files'] };

function planOf(choice: RestoreChoice) {
  return planRestore(manifestOf(shapeOf(choice.snapshotId)), choice);
}

function stepViews(choice: RestoreChoice, status: (i: number, n: number) => StepView['status'], partial?: { index: number; fraction: number }): StepView[] {
  const steps = planOf(choice).steps;
  return steps.map((s, i) => {
    const st = status(i, steps.length);
    const done = st === 'done' || st === 'skipped' || st === 'failed';
    const f = partial && partial.index === i ? partial.fraction : done ? 1 : 0;
    return { ...s, status: st, doneBytes: Math.round(s.bytes * f), doneItems: Math.round(s.items * f) };
  });
}

export interface FixtureContext {
  now: number;
  choice?: RestoreChoice;
}

type Fixture = (ctx: FixtureContext) => UiState;

const base = (phase: UiState['phase'], extra: Partial<UiState> = {}): UiState => ({
  phase,
  mode: 'standalone',
  defaults: { hostname: '', targetUser: 'ana' },
  ...extra,
});
const listed = (phase: UiState['phase'], extra: Partial<UiState> = {}) => base(phase, { user: { id: ME }, snapshots: SNAPSHOTS, ...extra });

const VERIFY_URI = 'https://id.koder.dev/device';
const USER_CODE = 'WDJB-MJHT';
/** As the daemon draws it (dark on light, quiet zone). */
const QR = toSvgSource(generate(`${VERIFY_URI}?user_code=${USER_CODE}`), { on: '#000', off: '#fff', pad: 4, xmlDeclaration: false });

function ready(ctx: FixtureContext, extra: Partial<UiState> = {}): UiState {
  const choice = ctx.choice ?? DEFAULT_CHOICE;
  const plan = planOf(choice);
  return listed('ready', {
    choice,
    plan: { steps: stepViews(choice, () => 'pending'), deferred: plan.deferred, vault: choice.categories.includes('secrets') ? 'unlocked' : 'locked' },
    ...extra,
  });
}

/**
 * Applying: the steps before `at` done, the one at `at` running (`share` of
 * it done, in `phase` on `detail`), the rest pending; shares, seconds, the
 * whole share and the time left as the daemon's ETA model gives them
 * (seconds of each step from its guessed work at the prior rates).
 */
function applying(ctx: FixtureContext, phase: 'applying' | 'apply-failed', extra: Partial<UiState> = {}, at: (steps: PlanStep[]) => number = filesStep, running: { share: number; phase?: string; detail?: string } = { share: 0.46 }): UiState {
  const choice = ctx.choice ?? DEFAULT_CHOICE;
  const plan = planOf(choice);
  const cut = at(plan.steps);
  const steps = stepViews(choice, (i) => (i < cut ? 'done' : i === cut ? 'running' : 'pending'), { index: cut, fraction: running.share });
  for (const [i, st] of steps.entries()) {
    st.seconds = Math.round(guessedWork(st).parts.reduce((n, p) => n + p.total / PRIOR_RATES[p.rate], 0));
    st.share = i < cut ? 1 : i === cut ? running.share : 0;
    if (i === cut && running.phase) Object.assign(st, { phase: running.phase, ...(running.detail ? { detail: running.detail } : {}) });
  }
  const totalBytes = steps.reduce((n, s) => n + s.bytes, 0);
  const doneBytes = steps.reduce((n, s) => n + s.doneBytes, 0);
  const all = steps.reduce((n, s) => n + s.seconds!, 0);
  const done = steps.reduce((n, s) => n + s.seconds! * s.share!, 0);
  return listed(phase, {
    choice,
    plan: { steps, deferred: plan.deferred, vault: 'unlocked' },
    progress: {
      current: phase === 'applying' ? steps[cut]?.id : undefined,
      ...(phase === 'applying' && running.phase ? { phase: running.phase, ...(running.detail ? { detail: running.detail } : {}) } : {}),
      totalBytes,
      doneBytes,
      totalItems: steps.reduce((n, s) => n + s.items, 0),
      doneItems: steps.reduce((n, s) => n + s.doneItems, 0),
      fraction: done / all,
      startedAt: ctx.now - 4 * 60_000,
      etaSeconds: Math.round(all - done),
      etaAt: ctx.now,
    },
    ...extra,
  });
}
/** System and apps done, files under way: the first files step. */
const filesStep = (steps: PlanStep[]) => {
  const i = steps.findIndex((s) => s.kind === 'files.restore');
  return i < 0 ? Math.floor(steps.length / 2) : i;
};
const aptStep = (steps: PlanStep[]) => steps.findIndex((s) => s.kind === 'apt.install');

function report(ctx: FixtureContext, status: RestoreReport['status']): UiState {
  const choice = ctx.choice ?? DEFAULT_CHOICE;
  const plan = planOf(choice);
  const results: StepResult[] = plan.steps.map((s): StepResult => {
    if (status === 'failed' && (s.category === 'files' || s.category === 'repos' || s.category === 'secrets' || s.category === 'firstboot')) {
      return { stepId: s.id, status: 'failed', message: 'connection to drive.koder.dev lost (ECONNRESET) after 5 retries' };
    }
    if (status !== 'done' && s.kind === 'apt.install') {
      return { stepId: s.id, status: 'done', message: '1,839 of 1,843 packages installed; 4 are not in the Koder Linux archives', details: ['zoom', 'google-chrome-stable', 'slack-desktop', 'teamviewer'] };
    }
    if (status === 'partial' && s.id === 'repo.restore:~/src/tcc') {
      return { stepId: s.id, status: 'failed', message: 'git bundle: checksum mismatch (expected 3f9a…, got 77c1…)' };
    }
    if (status === 'partial' && s.kind === 'system.gpu') {
      return { stepId: s.id, status: 'skipped', message: 'no AMD GPU on this machine' };
    }
    if (status === 'partial' && s.id === 'files.restore:~/Música') {
      return { stepId: s.id, status: 'failed', message: 'not enough space on the target disk (needs 736 MB, 512 MB free)' };
    }
    return { stepId: s.id, status: 'done' };
  });
  const steps = stepViews(choice, (i) => results[i]!.status);
  steps.forEach((s, i) => Object.assign(s, results[i]!.message ? { message: results[i]!.message } : {}, results[i]!.details ? { details: results[i]!.details } : {}));
  const finished = ctx.now - 30_000;
  return listed('report', {
    choice,
    plan: { steps, deferred: plan.deferred, vault: 'unlocked' },
    report: { status, snapshotId: choice.snapshotId, results, deferred: plan.deferred, startedAt: new Date(finished - 14 * 60_000 - 25_000).toISOString(), finishedAt: new Date(finished).toISOString() },
  });
}

export const FIXTURES = {
  welcome: () => base('welcome'),
  'welcome-installer': () => base('welcome', { mode: 'installer' }),
  'login-waiting': () => base('login'),
  login: (ctx) => base('login', { login: { userCode: USER_CODE, verificationUri: VERIFY_URI, verificationUriComplete: `${VERIFY_URI}?user_code=${USER_CODE}`, expiresAt: ctx.now + 9 * 60_000 + 12_000, qrSvg: QR } }),
  'login-expired': () => base('login-failed', { error: { code: 'EXPIRED', message: 'device code expired' } }),
  'login-denied': () => base('login-failed', { error: { code: 'DENIED', message: 'access_denied' } }),
  'login-error': () => base('login-failed', { error: { code: 'ERROR', message: 'getaddrinfo ENOTFOUND id.koder.dev' } }),
  loading: () => base('loading', { user: { id: ME } }),
  'list-failed': () => base('list-failed', { user: { id: ME }, error: { code: 'ERROR', message: 'GET /v1/me/snapshots: 503 Service Unavailable' } }),
  choose: () => listed('choose'),
  'choose-empty': () => listed('choose', { snapshots: [] }),
  'choose-wrong-secret': (ctx) => listed('choose', { choice: ctx.choice ?? DEFAULT_CHOICE, error: { code: 'WRONG_SECRET', message: 'the passphrase does not open the key vault' } }),
  preparing: (ctx) => listed('preparing', { choice: ctx.choice ?? DEFAULT_CHOICE }),
  'prepare-failed': (ctx) => listed('prepare-failed', { choice: ctx.choice ?? DEFAULT_CHOICE, error: { code: 'ERROR', message: 'GET /v1/blobs/sha256:9c1e…: connect ETIMEDOUT 203.0.113.7:443' } }),
  refused: (ctx) => listed('refused', { choice: ctx.choice ?? DEFAULT_CHOICE, error: { code: 'MANIFEST_VERIFY', message: 'snapshot d4d4…d4: Ed25519 signature does not verify (key 8f02…a1 is not one of your keys)' } }),
  ready: (ctx) => ready(ctx),
  'ready-installer': (ctx) => ready(ctx, { mode: 'installer' }),
  'ready-locked': (ctx) => {
    const r = ready(ctx, { mode: 'installer' });
    r.plan!.vault = 'locked';
    return r;
  },
  confirmed: (ctx) => ready(ctx, { mode: 'installer', confirmed: true }),
  applying: (ctx) => applying(ctx, 'applying'),
  'applying-installer': (ctx) => applying(ctx, 'applying', { mode: 'installer', confirmed: true }),
  'applying-apt': (ctx) => applying(ctx, 'applying', { mode: 'installer', confirmed: true }, aptStep, { share: 0.42, phase: 'install', detail: 'libreoffice-core' }),
  'apply-failed': (ctx) => applying(ctx, 'apply-failed', { error: { code: 'ERROR', message: 'target root /mnt/target disappeared (was it unmounted?)' } }),
  'report-done': (ctx) => report(ctx, 'done'),
  'report-partial': (ctx) => report(ctx, 'partial'),
  'report-failed': (ctx) => report(ctx, 'failed'),
  skipped: () => base('skipped', { mode: 'installer' }),
} satisfies Record<string, Fixture>;

export type FixtureName = keyof typeof FIXTURES;
export const FIXTURE_NAMES = Object.keys(FIXTURES) as FixtureName[];

