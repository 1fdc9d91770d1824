/**
 * The Backup app's session in the daemon (app mode): one person, the one
 * running it, on their own desktop. It owns the sign-in (device flow, the
 * same as the CLI's login: tokens saved in their config folder), this
 * computer's keys (the identity `koder-snapshot init` keeps, brought here or
 * made by the app's setup), the drive client, and the two long operations
 * (job.ts): a backup and a restore of files. What the page is shown is
 * AppState (contract.ts), pushed to every listener on each change.
 *
 * Secrets typed in the page (the vault passphrase, a new one) are used for
 * the one request they came with and never kept.
 */
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { AuthSession } from '../../auth/session.ts';
import { AuthError } from '../../auth/errors.ts';
import { CaptureError } from '../../capture/errors.ts';
import { startDeviceLogin } from '../../auth/device-flow.ts';
import { loadConfig as loadClientConfig, saveConfig as saveClientConfig, saveTokens } from '../../auth/token-store.ts';
import { capture, captureHostname, expandHome, initIdentity, loadConfig, type CaptureConfig } from '../../capture/index.ts';
import { DriveClient } from '../../drive/client.ts';
import { DriveError } from '../../drive/errors.ts';
import { fingerprint } from '../../keys/fingerprint.ts';
import { loadIdentity, PRIVATE_FILE, type Identity } from '../../keys/identity.ts';
import { KeyError } from '../../keys/errors.ts';
import { parseVault, type KdfStrength } from '../../keys/vault.ts';
import type { Systemctl } from '../../capture/schedule.ts';
import { qrSvg as makeQrSvg } from '../../util/qr.ts';
import { CodedError, ERROR_CODES, type CodeInfo } from '../../util/coded-error.ts';
import { errMessage } from '../../util/fs.ts';
import { VerifiedChains } from '../verified-chains.ts';
import { BackupProgressModel } from './backup-progress.ts';
import type { AccountView, AppState, BackupProgress, BackupResult, ErrorView, KeysView, RecoveryKeyView, RestoreProgress, RestoreResult } from './contract.ts';
import { Job } from './job.ts';
import { isV2Files } from '../../manifest/types.ts';
import { mkdir, stat } from 'node:fs/promises';

export interface AppSessionConfig {
  /** The Koder ID + Drive server. */
  server: string;
  /** Where the app keeps its jobs' last outcome (0700). */
  stateDir: string;
  /** The person's environment: HOME, XDG folders (tokens, config.toml, identity, cache). */
  env: NodeJS.ProcessEnv;
  /** Root of the system files a backup reads (default `/`; tests: a fixture root). */
  root?: string;
  /** Argon2id strength of passphrase slots the app makes (default: the vault's default). */
  kdf?: KdfStrength;
  /** `ui_locales` for the provider's pages ("pt-BR en"). */
  uiLocales?: string;
  /** systemctl --user (tests give their own). */
  systemctl?: Systemctl;
  log?: (line: string) => void;
}

type Listener = (s: AppState) => void;

/** An error as the page is shown it: a stable code and the message (data, not translated). */
export function errorView(e: unknown): ErrorView {
  const code = (e as { code?: unknown })?.code;
  return { code: typeof code === 'string' ? code : 'error', message: errMessage(e) };
}

export class AppSession {
  private listeners = new Set<Listener>();
  private account: AccountView = { state: 'checking' };
  private keysView: KeysView = { state: 'unknown' };
  private revision = 1;
  private auth?: AuthSession;
  private drive?: DriveClient;
  private me?: { id: string; name: string };
  private ident?: Identity;
  private login?: AbortController;
  private hostname = '';
  readonly chains = VerifiedChains.ofServer(() => this.client());
  readonly user = userInfo().username;
  readonly uid = process.getuid?.() ?? 0;
  readonly gid = process.getgid?.() ?? 0;
  backup!: Job<BackupProgress, BackupResult>;
  restore!: Job<RestoreProgress, RestoreResult>;

  private constructor(readonly cfg: AppSessionConfig) {}

  static async open(cfg: AppSessionConfig): Promise<AppSession> {
    await mkdir(cfg.stateDir, { recursive: true, mode: 0o700 });
    const s = new AppSession(cfg);
    s.backup = await Job.open(cfg.stateDir, 'backup', () => s.changed(), errorView);
    s.restore = await Job.open(cfg.stateDir, 'restore', () => s.changed(), errorView);
    s.hostname = await captureHostname((await s.config()).config, s.root).catch(() => '');
    await s.resume();
    return s;
  }

  get home(): string {
    return this.cfg.env.HOME ?? '/';
  }

  get root(): string {
    return this.cfg.root ?? '/';
  }

  get env(): NodeJS.ProcessEnv {
    return this.cfg.env;
  }

  // ── state ─────────────────────────────────────────────────────────────────
  state(): AppState {
    const s: AppState = {
      revision: this.revision,
      server: this.auth?.server ?? this.cfg.server,
      host: { hostname: this.hostname, user: this.user, home: this.home },
      account: this.account,
      keys: this.keysView,
    };
    if (this.backup.view) s.backup = this.backup.view;
    if (this.restore.view) s.restore = this.restore.view;
    return s;
  }

  subscribe(l: Listener): () => void {
    this.listeners.add(l);
    l(this.state());
    return () => this.listeners.delete(l);
  }

  /** Something the page lists may have changed: it asks again. */
  bump(): void {
    this.revision++;
    this.changed();
  }

  private changed(): void {
    const s = this.state();
    for (const l of this.listeners) l(s);
  }

  // ── account ───────────────────────────────────────────────────────────────
  /** A saved login for this server that still works: signed in, without showing a code. */
  private async resume(): Promise<void> {
    try {
      const auth = await AuthSession.load(this.cfg.server, { env: this.cfg.env });
      await this.signedIn(auth);
    } catch {
      this.account = { state: 'signed-out' };
      this.changed();
    }
  }

  private async signedIn(auth: AuthSession): Promise<void> {
    const drive = new DriveClient({ server: auth.server, tokens: auth });
    const me = await drive.me();
    this.auth = auth;
    this.drive = drive;
    this.me = { id: me.id, name: me.name };
    this.chains.clear();
    await this.checkKeys().catch((e) => {
      this.keysView = { state: 'unknown', message: errMessage(e) };
    });
    // Signed in once the keys are known: the page (and a poller) never sees signed-in with the keys still unknown.
    this.account = { state: 'signed-in', user: this.me, eraseAfter: me.erase_after };
    this.bump();
  }

  /** Starts the device flow (a code and its QR on the state stream); approval signs in. */
  signIn(): boolean {
    if (this.account.state === 'signed-in' || this.login) return false;
    const abort = new AbortController();
    this.login = abort;
    this.account = { state: 'signing-in' };
    this.changed();
    void this.runLogin(abort.signal)
      .catch((e) => {
        if (!abort.signal.aborted) this.account = { state: 'sign-in-failed', error: errorView(e) };
      })
      .finally(() => {
        if (this.login === abort) this.login = undefined;
        this.changed();
      });
    return true;
  }

  private async runLogin(signal: AbortSignal): Promise<void> {
    const login = await startDeviceLogin({ server: this.cfg.server, ...(this.cfg.uiLocales ? { uiLocales: this.cfg.uiLocales } : {}) });
    if (signal.aborted) return;
    this.account = {
      state: 'signing-in',
      login: { userCode: login.user_code, verificationUri: login.verification_uri, verificationUriComplete: login.verification_uri_complete, expiresAt: Date.now() + login.expires_in * 1000, qrSvg: makeQrSvg(login.verification_uri_complete) },
    };
    this.changed();
    const outcome = await login.wait({ signal });
    switch (outcome.status) {
      case 'approved': {
        await saveTokens(outcome.tokens, this.cfg.env);
        await saveClientConfig({ ...(await loadClientConfig(this.cfg.env)), server: outcome.tokens.server }, this.cfg.env);
        await this.signedIn(new AuthSession(outcome.tokens, { env: this.cfg.env }));
        return;
      }
      case 'denied':
        this.account = { state: 'sign-in-failed', error: { code: 'DENIED', message: outcome.description ?? 'the sign-in was denied' } };
        return;
      case 'expired':
        this.account = { state: 'sign-in-failed', error: { code: 'EXPIRED', message: 'the code expired' } };
        return;
      case 'aborted':
        return;
      case 'failed':
        throw outcome.error;
    }
  }

  cancelSignIn(): boolean {
    if (!this.login) {
      if (this.account.state === 'sign-in-failed') {
        this.account = { state: 'signed-out' };
        this.changed();
        return true;
      }
      return false;
    }
    this.login.abort();
    this.login = undefined;
    this.account = { state: 'signed-out' };
    this.changed();
    return true;
  }

  /** Revokes the refresh token, forgets the tokens and the keys in memory; the identity file stays. */
  async signOut(): Promise<boolean> {
    if (this.backup.busy || this.restore.busy) throw new CodedError('app_job_running', 'a backup or a restore is running: cancel it first');
    const auth = this.auth;
    this.auth = undefined;
    this.drive = undefined;
    this.me = undefined;
    this.ident = undefined;
    this.chains.clear();
    this.account = { state: 'signed-out' };
    this.keysView = { state: 'unknown' };
    await auth?.logout();
    this.bump();
    return auth !== undefined;
  }

  /** The drive client of the signed-in account. */
  async client(): Promise<DriveClient> {
    if (!this.drive) throw new CodedError('app_not_signed_in', 'sign in with Koder ID first');
    return this.drive;
  }

  /** My user id. */
  myId(): string {
    if (!this.me) throw new CodedError('app_not_signed_in', 'sign in with Koder ID first');
    return this.me.id;
  }

  /** Reads the account again (after an erasure was asked for or cancelled). */
  async refreshAccount(): Promise<void> {
    const me = await (await this.client()).me();
    this.me = { id: me.id, name: me.name };
    this.account = { state: 'signed-in', user: this.me, eraseAfter: me.erase_after };
    this.bump();
  }

  // ── keys ──────────────────────────────────────────────────────────────────
  async config(): Promise<{ config: CaptureConfig; file?: string }> {
    return loadConfig({ env: this.cfg.env });
  }

  async identityDir(): Promise<string> {
    return expandHome((await this.config()).config.snapshot.identity, this.home);
  }

  /** This computer's identity; undefined when there is none (a damaged one is an error, said as such). */
  private async localIdentity(): Promise<Identity | undefined> {
    const dir = await this.identityDir();
    if (!(await stat(join(dir, PRIVATE_FILE)).catch(() => undefined))) return undefined;
    return loadIdentity(dir);
  }

  /** Where this computer's keys stand against the account's vault. */
  async checkKeys(): Promise<void> {
    const [local, stored] = await Promise.all([this.localIdentity(), (await this.client()).getVault()]);
    const vault = stored ? parseVault(stored.doc) : undefined;
    this.ident = undefined;
    if (local && vault && local.keyId !== vault.key_id) {
      this.keysView = { state: 'conflict', keyId: local.keyId, message: `this computer's identity (${local.keyId.slice(0, 16)}…, in ${await this.identityDir()}) is not the one in your account's vault (${vault.key_id.slice(0, 16)}…)` };
    } else if (local && vault) {
      this.ident = local;
      this.keysView = { state: 'ready', keyId: local.keyId, fingerprint: fingerprint(local.sealing.publicKey) };
    } else {
      this.keysView = { state: vault ? 'fetch' : 'create' };
    }
    this.changed();
  }

  /** This computer's identity (ready keys), else app_keys_not_ready. */
  identity(): Identity {
    if (!this.ident) throw new CodedError('app_keys_not_ready', 'set up this computer first: your vault passphrase brings your keys here');
    return this.ident;
  }

  /**
   * The setup: the account's identity brought here with the vault passphrase
   * (fetch), or a new identity and vault made with a new passphrase (create;
   * the recovery key comes back once, with its QR code).
   */
  async setup(passphrase: string): Promise<{ kind: 'created' | 'fetched' | 'already'; recovery?: RecoveryKeyView }> {
    if (typeof passphrase !== 'string' || passphrase.length === 0) throw new CodedError('app_bad_request', 'give the passphrase');
    const r = await initIdentity({
      client: await this.client(),
      identityDir: await this.identityDir(),
      newPassphrase: async () => passphrase,
      existingPassphrase: async () => passphrase,
      ...(this.cfg.kdf ? { kdf: this.cfg.kdf } : {}),
    });
    await this.checkKeys();
    this.bump();
    return r.kind === 'created' ? { kind: 'created', recovery: { recoveryKey: r.recoveryKey, qrSvg: makeQrSvg(r.recoveryKey) } } : { kind: r.kind };
  }

  // ── jobs ──────────────────────────────────────────────────────────────────
  /** Backs this computer up now (a delta from its last snapshot), with the config's categories. */
  async startBackup(): Promise<string> {
    const client = await this.client();
    const identity = this.identity();
    const { config } = await this.config();
    const model = new BackupProgressModel(config.snapshot.categories);
    return this.backup.start(model.view(), async (signal, report) => {
      let last = 0;
      const r = await capture({
        config,
        home: this.home,
        root: this.root,
        client,
        identity,
        signal,
        onEvent: (e) => {
          model.apply(e);
          const t = Date.now();
          if (t - last >= 150 || e.type !== 'build.progress') {
            last = t;
            report(model.view(t));
          }
        },
      });
      report(model.view());
      this.bump();
      return {
        id: r.id,
        kind: r.kind,
        ...(r.parentId ? { parentId: r.parentId } : {}),
        uploadedBytes: r.uploadedBytes,
        folders: (r.full.files?.entry ?? []).map((f) => ({ label: f.local_path, size: f.size, ...(isV2Files(f) ? { files: f.files } : {}) })),
        warnings: r.warnings,
      };
    });
  }

  async stop(): Promise<void> {
    this.login?.abort();
    await Promise.all([this.backup.cancel(), this.restore.cancel()]);
    await Promise.all([this.backup.settled(), this.restore.settled()]);
  }
}

/** How an error the app's routes throw is answered: status, code, message. Every typed error is a CodedError: the code travels as the catalogue spells it. */
export function appErrorStatus(e: unknown): { status: number; code: string; message: string } | undefined {
  if (!(e instanceof CodedError)) return undefined;
  if (e instanceof DriveError) {
    if (e.status === 404) return { status: 404, code: 'not_found', message: e.message };
    if (e.status === 401) return { status: 401, code: 'app_not_signed_in', message: e.message };
    if (e.status === 412) return { status: 409, code: 'app_vault_changed', message: 'the vault changed meanwhile (another computer?): try again' };
    if (e.status === 409 || e.status === 422 || e.status === 413) return { status: e.status, code: e.code, message: e.message };
    return { status: 502, code: e.code, message: e.message };
  }
  if (e instanceof AuthError) return { status: 401, code: 'app_not_signed_in', message: e.message };
  if (e instanceof KeyError) {
    const status = e.code === 'wrong_secret' || e.code.startsWith('recovery_key') ? 422 : e.code === 'bad_argument' ? 400 : 500;
    return { status, code: e.code, message: e.message };
  }
  if (e instanceof CaptureError) {
    const status = e.code === 'init_conflict' || e.code === 'capture_locked' ? 409 : e.code === 'config_invalid' ? 400 : 500;
    return { status, code: e.code, message: e.message };
  }
  const info = ERROR_CODES[e.code] as CodeInfo;
  return { status: info.http ?? (info.exit === 2 ? 400 : 422), code: e.code, message: e.message };
}

export const APP_STATE_DIR = (env: NodeJS.ProcessEnv) => join(env.XDG_STATE_HOME?.startsWith('/') ? env.XDG_STATE_HOME : join(env.HOME ?? '/', '.local/state'), 'koder-snapshot', 'app');
