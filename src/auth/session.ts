/**
 * A logged-in session with one server: hands out a valid access token,
 * refreshing it (refresh_token grant, rotated tokens saved back to the 0600
 * file) when it is about to expire or when the API said 401; logout revokes
 * the refresh token and deletes the file. Concurrent callers share one
 * refresh.
 */
import * as client from 'openid-client';
import { AuthError } from './errors.ts';
import { discover } from './oidc-config.ts';
import { serverKey } from './secure-url.ts';
import { deleteTokens, loadConfig, loadTokens, saveTokens, type StoredTokens } from './token-store.ts';
import { toStored } from './device-flow.ts';

export interface SessionOptions {
  env?: NodeJS.ProcessEnv;
  /** Save refreshed tokens to the token file (default true). */
  persist?: boolean;
}

/** Refresh this long before the access token's expiry. */
const EARLY_MS = 30_000;

export class AuthSession {
  private config?: Promise<client.Configuration>;
  private refreshing?: Promise<void>;

  constructor(
    public tokens: StoredTokens,
    private opts: SessionOptions = {},
  ) {}

  /** The session saved for `server` (or the default server of the config). */
  static async load(server: string | undefined, opts: SessionOptions = {}): Promise<AuthSession> {
    const env = opts.env ?? process.env;
    const url = server ?? env.KODER_SNAPSHOT_SERVER ?? (await loadConfig(env)).server;
    if (!url) throw new AuthError('not_logged_in', 'no server: log in first with `koder-snapshot login --server URL`');
    const tokens = await loadTokens(url, env);
    if (!tokens) throw new AuthError('not_logged_in', `not logged in to ${serverKey(url)}: run \`koder-snapshot login --server ${serverKey(url)}\``);
    return new AuthSession(tokens, opts);
  }

  get server(): string {
    return this.tokens.server;
  }

  /** A valid access token (refreshed first if it expires within 30 s). */
  async accessToken(): Promise<string> {
    if (this.tokens.expires_at - EARLY_MS <= Date.now()) await this.refresh();
    return this.tokens.access_token;
  }

  /** Uses the refresh token now (after a 401, or when expired). */
  refresh(): Promise<void> {
    this.refreshing ??= this.doRefresh().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  private configuration(): Promise<client.Configuration> {
    this.config ??= discover(this.tokens.server, this.tokens.client_id);
    return this.config;
  }

  private async doRefresh(): Promise<void> {
    const rt = this.tokens.refresh_token;
    if (!rt) throw new AuthError('refresh_failed', 'the access token expired and there is no refresh token: log in again');
    const config = await this.configuration();
    let t;
    try {
      t = await client.refreshTokenGrant(config, rt);
    } catch (e) {
      const msg = e instanceof client.ResponseBodyError ? `${e.error}${e.error_description ? `: ${e.error_description}` : ''}` : (e as Error).message;
      throw new AuthError('refresh_failed', `the session could not be renewed (${msg}): log in again`, { cause: e });
    }
    this.tokens = toStored(config, this.tokens.server, t, this.tokens);
    if (this.opts.persist !== false) await saveTokens(this.tokens, this.opts.env);
  }

  /** Revokes the refresh token (best effort) and forgets the tokens. */
  async logout(): Promise<void> {
    try {
      const config = await this.configuration();
      if (this.tokens.refresh_token) await client.tokenRevocation(config, this.tokens.refresh_token, { token_type_hint: 'refresh_token' });
    } catch {
      // the server may be gone; forgetting locally is what matters
    }
    if (this.opts.persist !== false) await deleteTokens(this.tokens.server, this.opts.env);
  }
}
