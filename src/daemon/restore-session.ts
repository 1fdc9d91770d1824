/**
 * One restore: the restore machine with its real actors (device login,
 * drive, chain verification, vault, appliers), persisted to a state dir after
 * every transition, and projected to UiState for the wizard. The daemon and
 * the CLI both drive a RestoreSession; only they differ in who sends events.
 *
 * State dir (0700): actor.json (the machine, no secrets), manifest.json (the
 * folded, verified manifest of the chosen snapshot), journal.json (finished
 * apply steps). Secrets (passphrase, opened identity) live in memory only: a
 * restarted daemon that had them says the vault is locked again. Whose
 * storage the blobs, keys and manifests come from (the owner of a snapshot
 * shared with me) is part of the machine's choice, so it is persisted too.
 * A chain is fetched and verified once per session (details and prepare).
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createActor, fromCallback, fromPromise, type Actor, type EventObject } from 'xstate';
import { restoreMachine, toMachineError, type ApplyInput, type PrepareInput } from '../restore-machine/machine.ts';
import { planRestore } from '../restore-machine/plan.ts';
import type { Prepared, RestoreEvent, RestoreReport, SnapshotSummary, TargetInfo } from '../restore-machine/types.ts';
import type { Manifest } from '../manifest/index.ts';
import { snapshotDetails, VerifiedChains } from './verified-chains.ts';
import { AuthSession } from '../auth/session.ts';
import { startDeviceLogin } from '../auth/device-flow.ts';
import { saveTokens, saveConfig, loadConfig } from '../auth/token-store.ts';
import { qrSvg } from '../util/qr.ts';
import { DriveClient } from '../drive/client.ts';
import { exportSource, serverSource, type RestoreSource } from './restore-source.ts';
import { LocalRepo } from '../export/local-repo.ts';
import { findExports, type FoundExport } from '../export/find.ts';
import { CodedError } from '../util/coded-error.ts';
import { openVault } from '../keys/vault.ts';
import { openShareKeys } from '../store/share-keys.ts';
import type { Identity } from '../keys/identity.ts';
import { runPlan } from '../chroot-appliers/run-plan.ts';
import { openAhead } from '../chroot-appliers/ahead.ts';
import { LocalDebs } from '../chroot-appliers/apt-local-debs.ts';
import { resolveTarget } from '../chroot-appliers/target.ts';
import { startAptUpdate, type AptUpdateResult } from '../chroot-appliers/apt.ts';
import type { ApplierTable, StagerTable } from '../chroot-appliers/applier.ts';
import { defaultStagers } from '../chroot-appliers/index.ts';
import { writeFileAtomic } from '../util/atomic-write.ts';
import { projectUi } from './project.ts';
import { EtaEstimator } from './eta.ts';
import type { SnapshotDetails, UiEvent, UiState } from './ui-state.ts';

export interface RestoreSessionConfig {
  server: string;
  stateDir: string;
  mode: 'installer' | 'standalone';
  defaults: { hostname: string; targetUser: string };
  appliers: ApplierTable;
  /** Standalone: where CONFIRM restores to. */
  target?: TargetInfo;
  env?: NodeJS.ProcessEnv;
  host?: { gpuVendors?: string[] };
  uiLocales?: string;
  log?: (line: string) => void;
  /**
   * Where to look for exports on mounted drives while Welcome shows (the
   * installer: export/find.ts MOUNT_ROOTS); none when absent.
   */
  exportRoots?: readonly string[];
  /** false: no fetch-ahead (every step reads its data when it runs). */
  fetchAhead?: boolean;
  /**
   * The person said yes before the snapshot was chosen (the CLI without
   * --dry-run): the target's `apt-get update` starts in prepare, beside the
   * vault's key derivation, instead of after it (apt.ts startAptUpdate).
   */
  aptUpdateEarly?: boolean;
  /** What the fetch-ahead stages ahead of its step (default: chroot-appliers' defaultStagers; {} for none). */
  stagers?: StagerTable;
}

type Listener = (ui: UiState) => void;

export class RestoreSession {
  private actor!: Actor<typeof restoreMachine>;
  private listeners = new Set<Listener>();
  private secret?: { passphrase: string } | { recoveryKey: string };
  private identity?: Identity;
  private treeKeys?: Map<string, Uint8Array>;
  /** The target's apt-get update begun in prepare (cfg.aptUpdateEarly); a cache, not state: a restarted process updates in the apply. */
  private aptLists?: Promise<AptUpdateResult>;
  private drive?: DriveClient;
  private exported?: { dir: string; source: RestoreSource };
  private exports?: FoundExport[];
  private scanning?: ReturnType<typeof setTimeout>;
  private qr?: { url: string; svg: string };
  private confirmed = false;
  private applyStartedAt?: number;
  private eta = new EtaEstimator();
  private persistQueue: Promise<void> = Promise.resolve();
  private lastPersistKey = '';
  private lastPersistAt = 0;
  /** Chains fetched and verified once (details and prepare share them). */
  private verified = new VerifiedChains(async () => ({ name: this.actor.getSnapshot().context.source?.dir ?? '', source: await this.source() }));
  private reportWaiters = new Set<(r: { report?: RestoreReport; error?: Error }) => void>();

  private constructor(readonly cfg: RestoreSessionConfig) {}

  static async open(cfg: RestoreSessionConfig): Promise<RestoreSession> {
    await mkdir(cfg.stateDir, { recursive: true, mode: 0o700 });
    const s = new RestoreSession(cfg);
    const saved = await readFile(join(cfg.stateDir, 'actor.json'), 'utf8').then(JSON.parse, () => undefined);
    s.confirmed = Boolean(await readFile(join(cfg.stateDir, 'confirmed'), 'utf8').catch(() => ''));
    s.actor = createActor(s.machine(), saved ? { snapshot: saved } : {});
    s.actor.subscribe({ next: () => s.changed(), error: (e) => cfg.log?.(`restore actor error: ${(e as Error).message}`) });
    s.actor.start();
    s.changed();
    return s;
  }

  /** The machine with this session's actors. */
  private machine() {
    return restoreMachine.provide({
      actors: {
        login: fromCallback<EventObject, { retry: number }>(({ sendBack }) => {
          const abort = new AbortController();
          this.login(sendBack, abort.signal).catch((e) => sendBack({ type: 'LOGIN.FAILED', error: toMachineError(e) }));
          return () => abort.abort();
        }),
        listSnapshots: fromPromise(async () => this.listSnapshots()),
        prepare: fromPromise<Prepared, PrepareInput>(async ({ input }) => this.prepare(input)),
        apply: fromCallback<EventObject, ApplyInput>(({ input, sendBack }) => {
          const abort = new AbortController();
          this.applyStartedAt = Date.now();
          this.eta = new EtaEstimator();
          this.apply(input, sendBack, abort.signal).then(
            (report) => sendBack({ type: 'APPLY.DONE', report }),
            (e) => { if (!abort.signal.aborted) sendBack({ type: 'APPLY.FAILED', error: toMachineError(e) }); },
          );
          return () => abort.abort();
        }),
      },
    });
  }

  // ── actors ────────────────────────────────────────────────────────────────
  private async client(): Promise<DriveClient> {
    if (!this.drive) {
      const session = await AuthSession.load(this.cfg.server, { env: this.cfg.env });
      this.drive = new DriveClient({ server: session.server, tokens: session });
    }
    return this.drive;
  }

  private async login(sendBack: (e: RestoreEvent) => void, signal: AbortSignal) {
    // Already logged in (a saved, refreshable session)? Then no code to show.
    try {
      const me = await (await this.client()).me();
      sendBack({ type: 'LOGIN.DONE', user: { id: me.id } });
      return;
    } catch {
      this.drive = undefined;
    }
    const login = await startDeviceLogin({ server: this.cfg.server, ...(this.cfg.uiLocales ? { uiLocales: this.cfg.uiLocales } : {}) });
    sendBack({
      type: 'LOGIN.CODE',
      code: { userCode: login.user_code, verificationUri: login.verification_uri, verificationUriComplete: login.verification_uri_complete, expiresAt: Date.now() + login.expires_in * 1000 },
    });
    const outcome = await login.wait({ signal });
    switch (outcome.status) {
      case 'approved': {
        await saveTokens(outcome.tokens, this.cfg.env);
        const config = await loadConfig(this.cfg.env);
        await saveConfig({ ...config, server: outcome.tokens.server }, this.cfg.env);
        const me = await (await this.client()).me();
        sendBack({ type: 'LOGIN.DONE', user: { id: me.id } });
        return;
      }
      case 'denied':
        sendBack({ type: 'LOGIN.FAILED', error: { code: 'DENIED', message: outcome.description ?? 'the sign-in was denied' } });
        return;
      case 'expired':
        sendBack({ type: 'LOGIN.FAILED', error: { code: 'EXPIRED', message: 'the code expired' } });
        return;
      case 'aborted':
        return;
      case 'failed':
        sendBack({ type: 'LOGIN.FAILED', error: toMachineError(outcome.error) });
    }
  }

  /** Where this restore's snapshots come from: an export on a drive (the machine's `source`), else the server. */
  private async source(): Promise<RestoreSource> {
    const ref = this.actor.getSnapshot().context.source;
    if (!ref) return serverSource(await this.client());
    if (this.exported?.dir !== ref.dir) this.exported = { dir: ref.dir, source: exportSource(await LocalRepo.open(ref.dir)) };
    return this.exported.source;
  }

  private async listSnapshots(): Promise<SnapshotSummary[]> {
    return (await this.source()).listSnapshots();
  }

  /** The owner of a listed snapshot that was shared with me (undefined: mine, or not listed). */
  private ownerOf(snapshotId: string): string | undefined {
    const s = this.actor.getSnapshot().context.snapshots?.find((x) => x.id === snapshotId);
    return s?.shared ? s.owner : undefined;
  }

  async details(snapshotId: string): Promise<SnapshotDetails> {
    const { folded } = await this.verified.get(snapshotId, this.ownerOf(snapshotId));
    return snapshotDetails(snapshotId, folded);
  }

  /** The data v2 keys a share of `snapshotId` hands me, opened with my vault; undefined without vault or keys. */
  private async openShare(snapshotId: string, owner: string): Promise<Map<string, Uint8Array> | undefined> {
    const me = await this.unlockVault();
    if (!me) return undefined;
    const sealed = await (await this.source()).shareKeys(owner, snapshotId);
    return sealed ? openShareKeys(sealed, snapshotId, me.sealing) : new Map();
  }

  /** Opens the person's key vault with the secret held in memory; undefined when there is no vault. */
  private async unlockVault(): Promise<Identity | undefined> {
    const src = await this.source();
    const stored = await src.vault();
    if (!stored) return undefined;
    const identity = await openVault(stored as Parameters<typeof openVault>[0], this.secret!);
    // A drive's key list is believed only once the identity the secret opened signed it.
    await src.trust(identity);
    return identity;
  }

  private async prepare(input: PrepareInput): Promise<Prepared> {
    const src = await this.source();
    if (src.needsSecret && !(input.unlock && this.secret)) {
      throw new CodedError('export_needs_secret', 'a restore from a drive needs the passphrase or recovery key: it is what tells your export from one made to look like it, and what opens your files');
    }
    const { folded, chain } = await this.verified.get(input.choice.snapshotId, input.choice.owner);
    const plan = planRestore(folded, input.choice);
    // Said yes already: apt reads its lists while Argon2id runs (1.3 s at the default KDF).
    if (this.cfg.aptUpdateEarly && this.cfg.target && !src.debsDir() && plan.steps.some((st) => st.kind === 'apt.install')) {
      const { root, user } = this.cfg.target;
      this.aptLists ??= resolveTarget(root, user).then((t) => startAptUpdate(t, (l) => this.cfg.log?.(l)));
      this.aptLists.catch(() => undefined);
    }
    let vault: Prepared['vault'] = 'locked';
    this.identity = undefined;
    this.treeKeys = undefined;
    if (input.unlock && this.secret && !input.choice.owner) {
      this.identity = await this.unlockVault();
      vault = this.identity ? 'unlocked' : 'absent';
      if (!this.identity && src.needsSecret) throw new CodedError('export_format', 'the export has no vault: it cannot be trusted nor opened');
    } else if (input.unlock && this.secret && input.choice.owner) {
      // A shared snapshot's secrets are sealed to its owner's keys, not to mine; its
      // folders open with the tree keys the share sealed to my key (data v2).
      this.treeKeys = await this.openShare(input.choice.snapshotId, input.choice.owner);
      vault = this.treeKeys ? 'unlocked' : 'absent';
    }
    await writeFileAtomic(join(this.cfg.stateDir, 'manifest.json'), JSON.stringify(folded), { mode: 0o600 });
    return { plan, vault, chain };
  }

  private async apply(input: ApplyInput, sendBack: (e: EventObject) => void, signal: AbortSignal): Promise<RestoreReport> {
    const manifest = JSON.parse(await readFile(join(this.cfg.stateDir, 'manifest.json'), 'utf8')) as Manifest;
    const target = await resolveTarget(input.target.root, input.target.user);
    const src = await this.source();
    // Resumed after a restart: the opened keys died with the old process; reopen them if the secret was given again.
    if (this.secret && input.prepared.vault === 'unlocked') {
      if (input.choice.owner) this.treeKeys ??= await this.openShare(input.choice.snapshotId, input.choice.owner);
      else this.identity ??= await this.unlockVault();
    }
    const plan = input.prepared.plan;
    const source = src.blobs(input.choice.owner, signal);
    // The data of later steps comes to the target's disk while the first ones (apt) run.
    const ahead = this.cfg.fetchAhead === false ? undefined : await openAhead(target, plan, source, signal, (l) => this.cfg.log?.(l), (p) => sendBack({ type: 'AHEAD.PROGRESS', ...p }));
    return runPlan({
      plan,
      appliers: this.cfg.appliers,
      journalPath: join(this.cfg.stateDir, 'journal.json'),
      retryOnly: input.retryOnly,
      onEvent: (e) => sendBack(e),
      ...(ahead ? { ahead, stagers: this.cfg.stagers ?? defaultStagers } : {}),
      ctx: {
        target,
        manifest,
        choice: input.choice,
        plan,
        blobs: ahead ? ahead.blobs() : source,
        identity: this.identity,
        ...(this.treeKeys ? { treeKeys: this.treeKeys } : {}),
        deferred: [],
        ...(src.debsDir() ? { localDebs: new LocalDebs(src.debsDir()!) } : {}),
        ...(this.aptLists ? { aptLists: this.aptLists } : {}),
        signal,
        log: (l) => this.cfg.log?.(l),
        host: this.cfg.host,
      },
    });
  }

  // ── events, state, persistence ────────────────────────────────────────────
  /**
   * The vault secret, given before the restore starts (the CLI's
   * --passphrase-stdin): used to reopen the vault when a killed restore resumes.
   */
  provideSecret(secret: { passphrase: string } | { recoveryKey: string } | undefined): void {
    this.secret = secret;
  }

  /** A wizard event. The passphrase or recovery key stays in this object's memory. */
  send(e: UiEvent): void {
    switch (e.type) {
      case 'START_EXPORT': {
        // A folder the person pointed to, or one the scan found: an absolute path, nothing else.
        const dir = typeof e.dir === 'string' ? e.dir.replace(/\/+$/, '') : '';
        if (!dir.startsWith('/') || dir.length > 4096 || dir.includes('\0')) return;
        this.actor.send({ type: 'START_EXPORT', dir });
        return;
      }
      case 'CHOOSE': {
        this.secret = e.passphrase ? { passphrase: e.passphrase } : e.recoveryKey ? { recoveryKey: e.recoveryKey } : undefined;
        this.actor.send({ type: 'CHOOSE', choice: e.choice, unlock: this.secret !== undefined });
        return;
      }
      case 'CONFIRM': {
        if (!this.actor.getSnapshot().matches('waitTarget')) return;
        if (this.cfg.mode === 'standalone') {
          if (this.cfg.target) this.actor.send({ type: 'TARGET', target: this.cfg.target });
        } else {
          this.confirmed = true;
          void writeFileAtomic(join(this.cfg.stateDir, 'confirmed'), '1', { mode: 0o600 }).then(() => this.changed());
        }
        return;
      }
      default:
        this.actor.send(e);
    }
  }

  /** Installer API: a better default for the configure screen (the installer's own hostname). */
  setDefaults(d: Partial<RestoreSessionConfig['defaults']>): void {
    this.cfg.defaults = { ...this.cfg.defaults, ...d };
    this.changed();
  }

  /** Installer API: restore into `target` now; resolves with the report (or rejects). */
  applyTo(target: TargetInfo): Promise<RestoreReport> {
    return new Promise((resolve, reject) => {
      const waiter = (r: { report?: RestoreReport; error?: Error }) => (r.report ? resolve(r.report) : reject(r.error));
      this.reportWaiters.add(waiter);
      const snap = this.actor.getSnapshot();
      if (snap.matches('waitTarget')) this.actor.send({ type: 'TARGET', target });
      else if (!snap.matches('apply')) {
        this.reportWaiters.delete(waiter);
        reject(Object.assign(new Error(`no restore is ready to apply (state: ${JSON.stringify(snap.value)})`), { code: 'NOT_READY' }));
      }
    });
  }

  ui(): UiState {
    const snap = this.actor.getSnapshot();
    const url = snap.context.login?.verificationUriComplete;
    if (url && this.qr?.url !== url) this.qr = { url, svg: qrSvg(url) };
    return projectUi(snap, {
      mode: this.cfg.mode,
      defaults: this.cfg.defaults,
      qrSvg: url ? this.qr?.svg : undefined,
      confirmed: this.confirmed,
      applyStartedAt: this.applyStartedAt,
      eta: this.eta,
      ...(this.exports ? { exports: this.exports } : {}),
    });
  }

  /** While Welcome shows (and someone watches), the mounted drives are looked at every 3 s for exports. */
  private scanExports(): void {
    const roots = this.cfg.exportRoots;
    if (!roots?.length || this.scanning) return;
    const tick = async () => {
      if (!this.listeners.size || !this.actor.getSnapshot().matches('welcome')) {
        this.scanning = undefined;
        return;
      }
      const found = await findExports(roots).catch(() => []);
      if (JSON.stringify(found) !== JSON.stringify(this.exports ?? [])) {
        this.exports = found;
        this.changed();
      }
      this.scanning = setTimeout(() => void tick(), 3000);
      this.scanning.unref?.();
    };
    this.scanning = setTimeout(() => void tick(), 0);
  }

  subscribe(l: Listener): () => void {
    this.listeners.add(l);
    this.scanExports();
    l(this.ui());
    return () => this.listeners.delete(l);
  }

  private changed() {
    const snap = this.actor.getSnapshot();
    // Persist every transition and every finished step at once; progress at most once a second.
    const key = JSON.stringify([snap.value, snap.context.results.length, snap.context.error?.code, snap.context.login?.userCode]);
    const now = Date.now();
    if (key !== this.lastPersistKey || now - this.lastPersistAt > 1000) {
      this.lastPersistKey = key;
      this.lastPersistAt = now;
      const data = JSON.stringify(this.actor.getPersistedSnapshot());
      this.persistQueue = this.persistQueue
        .then(() => writeFileAtomic(join(this.cfg.stateDir, 'actor.json'), data, { mode: 0o600 }))
        .catch((e) => this.cfg.log?.(`could not persist the restore state: ${(e as Error).message}`));
    }
    if (snap.matches('report') || snap.matches({ apply: 'failed' })) {
      for (const w of this.reportWaiters) w(snap.context.report ? { report: snap.context.report } : { error: Object.assign(new Error(snap.context.error?.message ?? 'restore failed'), { code: snap.context.error?.code }) });
      this.reportWaiters.clear();
    }
    if (snap.matches('welcome')) this.scanExports();
    const ui = this.ui();
    for (const l of this.listeners) l(ui);
  }

  /** Waits for pending state writes, then stops the actor (a later open resumes). */
  async close(): Promise<void> {
    clearTimeout(this.scanning);
    this.actor.stop();
    await this.persistQueue;
  }
}

