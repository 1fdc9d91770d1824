/**
 * A typed client for every /v1 route of a Koder Drive server. Requests carry
 * the access token of a TokenSource; a 401 triggers one refresh and one retry.
 * Idempotent requests (GET/HEAD/PUT/DELETE) are retried with backoff when no
 * response came or the server was temporarily unable; POSTs are not.
 * Plain http is refused except to this machine.
 */
import { checkServerUrl } from '../auth/secure-url.ts';
import { decodeManifest } from '../manifest/index.ts';
import { checkBlobHex, DriveError, errorFromResponse } from './errors.ts';
import { DEFAULT_RETRY, backoffMs, sleep, type RetryPolicy } from './retry.ts';
import type { AuditEntry, Me, PostedSnapshot, PublicKeyEntry, SharedSnapshot, ShareEntry, SnapshotSummary, TokenSource } from './types.ts';
import { downloadBlob, downloadBlobs, type DownloadOptions, type DownloadResult } from './download.ts';
import { uploadBlob, uploadBlobs, type UploadOptions, type UploadResult } from './upload.ts';

export interface DriveClientOptions {
  server: string;
  tokens: TokenSource | string;
  retry?: Partial<RetryPolicy>;
  /** Per-request timeout without any response, ms (default 60 000). */
  timeoutMs?: number;
}

export interface RequestInit2 {
  method?: string;
  headers?: Record<string, string>;
  body?: BodyInit | null;
  /** Set for streamed bodies. */
  duplex?: 'half';
  signal?: AbortSignal;
  /** Statuses returned as-is instead of thrown (e.g. 404 for HEAD). */
  accept?: number[];
  /** Whether a failed attempt may be repeated (default: not for POST). */
  idempotent?: boolean;
  /** Attempts after the first, overriding the client's policy (0: the caller retries). */
  retries?: number;
  /** A fresh body for each attempt (streams cannot be replayed). */
  bodyFactory?: () => BodyInit;
}

/** `owner` of shared objects: a user id, or undefined for mine. */
type Owner = string | undefined;

export class DriveClient {
  readonly base: string;
  readonly retry: RetryPolicy;
  /** Per-request timeout without any response, ms; for the blob PUTs (upload.ts), the longest idle time of the connection. */
  readonly timeoutMs: number;
  private tokens: TokenSource;

  constructor(o: DriveClientOptions) {
    const u = checkServerUrlAsDrive(o.server);
    this.base = `${u.origin}${u.pathname.replace(/\/+$/, '')}`;
    this.tokens = typeof o.tokens === 'string' ? { accessToken: async () => o.tokens as string } : o.tokens;
    this.retry = { ...DEFAULT_RETRY, ...o.retry };
    this.timeoutMs = o.timeoutMs ?? 60_000;
  }

  url(path: string): string {
    return `${this.base}${path}`;
  }

  /** Where this client's access tokens come from (for requests made outside `request`, e.g. the blob PUTs of upload.ts). */
  get tokenSource(): TokenSource {
    return this.tokens;
  }

  /** One authenticated request with the retry rules above; throws DriveError for non-accepted statuses. */
  async request(path: string, init: RequestInit2 = {}): Promise<Response> {
    const method = init.method ?? 'GET';
    const idempotent = init.idempotent ?? method !== 'POST';
    const retries = init.retries ?? this.retry.retries;
    let refreshed = false;
    for (let attempt = 0; ; attempt++) {
      const token = await this.tokens.accessToken();
      const timeout = AbortSignal.timeout(this.timeoutMs);
      const signal = init.signal ? AbortSignal.any([init.signal, timeout]) : timeout;
      let res: Response;
      try {
        res = await fetch(this.url(path), {
          method,
          headers: { authorization: `Bearer ${token}`, ...init.headers },
          body: init.bodyFactory ? init.bodyFactory() : init.body,
          signal,
          ...(init.duplex || init.bodyFactory ? { duplex: 'half' } : {}),
        } as RequestInit);
      } catch (e) {
        if (init.signal?.aborted) throw new DriveError(0, 'aborted', 'aborted', {}, { cause: e });
        const err = new DriveError(0, 'network', `${method} ${path}: ${(e as Error).message}`, {}, { cause: e });
        if (!idempotent || attempt >= retries) throw err;
        await sleep(backoffMs(attempt + 1, this.retry), init.signal);
        continue;
      }
      if (res.status === 401 && !refreshed && this.tokens.refresh) {
        await res.arrayBuffer().catch(() => {});
        refreshed = true;
        await this.tokens.refresh();
        attempt--;
        continue;
      }
      if (res.ok || init.accept?.includes(res.status)) return res;
      const err = await errorFromResponse(res);
      if (!idempotent || !err.transient || attempt >= retries) throw err;
      await sleep(backoffMs(attempt + 1, this.retry), init.signal);
    }
  }

  private async json<T>(path: string, init: RequestInit2 = {}): Promise<T> {
    const res = await this.request(path, init);
    return (await res.json()) as T;
  }

  private jsonBody(method: string, body: unknown): RequestInit2 {
    return { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
  }

  // ── account ───────────────────────────────────────────────────────────────
  me(): Promise<Me> {
    return this.json('/v1/me');
  }
  /** Asks for erasure of everything of mine after the grace window; returns when (ms). */
  async requestErasure(): Promise<{ erase_after: number; grace_ms: number }> {
    return this.json('/v1/me', { method: 'DELETE' });
  }
  async cancelErasure(): Promise<boolean> {
    return (await this.json<{ canceled: boolean }>('/v1/me/cancel-erasure', { method: 'POST', idempotent: true })).canceled;
  }
  async audit(o: { limit?: number; before?: number } = {}): Promise<AuditEntry[]> {
    const q = new URLSearchParams();
    if (o.limit) q.set('limit', String(o.limit));
    if (o.before !== undefined) q.set('before', String(o.before));
    return (await this.json<{ entries: AuditEntry[] }>(`/v1/me/audit${q.size ? `?${q}` : ''}`)).entries;
  }

  // ── snapshots ─────────────────────────────────────────────────────────────
  async listSnapshots(): Promise<SnapshotSummary[]> {
    return (await this.json<{ snapshots: SnapshotSummary[] }>('/v1/me/snapshots')).snapshots;
  }
  /** The .kvg text of a snapshot (mine, or of `owner` who shared its chain with me). */
  async getManifest(id: string, owner?: Owner): Promise<string> {
    const res = await this.request(owner ? `/v1/users/${enc(owner)}/snapshots/${enc(id)}` : `/v1/me/snapshots/${enc(id)}`);
    return decodeManifest(new Uint8Array(await res.arrayBuffer()), `snapshot ${id}`);
  }
  /** Posts a signed manifest (its blobs must be uploaded first). Safe to repeat. */
  postManifest(text: string): Promise<PostedSnapshot> {
    return this.json('/v1/me/snapshots', { method: 'POST', idempotent: true, headers: { 'content-type': 'application/toml; charset=utf-8' }, body: text });
  }
  /** The multipart form of POST: the manifest and blob files in one request. */
  postManifestWithBlobs(text: string, blobs: { name: string; data: Blob }[]): Promise<PostedSnapshot> {
    const form = new FormData();
    form.append('manifest', new Blob([text], { type: 'application/toml' }), 'manifest.kvg');
    for (const b of blobs) form.append('blob', b.data, b.name);
    return this.json('/v1/me/snapshots', { method: 'POST', idempotent: true, body: form });
  }
  async deleteSnapshot(id: string, o: { cascade?: boolean } = {}): Promise<string[]> {
    return (await this.json<{ deleted: string[] }>(`/v1/me/snapshots/${enc(id)}${o.cascade ? '?cascade=true' : ''}`, { method: 'DELETE' })).deleted;
  }

  // ── sharing ───────────────────────────────────────────────────────────────
  /** Shares a snapshot with `user`; `keys`: its data v2 tree keys sealed to that user (src/store/share-keys.ts). */
  share(id: string, user: string, keys?: string): Promise<{ snapshot: string; user: string; created: boolean }> {
    return this.json(`/v1/snapshots/${enc(id)}/share`, { ...this.jsonBody('POST', { user, ...(keys ? { keys } : {}) }), idempotent: true });
  }
  /** The data v2 keys of a snapshot `owner` shared with me, sealed to my key (undefined: the share carries none). */
  async shareKeys(owner: string, id: string): Promise<string | undefined> {
    const res = await this.request(`/v1/users/${enc(owner)}/snapshots/${enc(id)}/share-keys`, { accept: [404] });
    if (res.status === 404) {
      const body = (await res.json().catch(() => ({}))) as { error?: { code?: string; what?: string } };
      if (body.error?.what === 'share_keys') return undefined;
      throw new DriveError(404, 'not_found', `no share of ${id} from ${owner}`);
    }
    return ((await res.json()) as { keys: string }).keys;
  }
  /** A user's public keys by name (to seal a share's keys to them). */
  lookupUser(name: string): Promise<{ user_id: string; name: string; keys: PublicKeyEntry[] }> {
    return this.json(`/v1/directory/${enc(name)}`);
  }
  async unshare(id: string, user: string): Promise<void> {
    await this.request(`/v1/snapshots/${enc(id)}/share/${enc(user)}`, { method: 'DELETE' });
  }
  async sharesOf(id: string): Promise<ShareEntry[]> {
    return (await this.json<{ shares: ShareEntry[] }>(`/v1/me/snapshots/${enc(id)}/shares`)).shares;
  }
  async sharedWithMe(): Promise<SharedSnapshot[]> {
    return (await this.json<{ shared: SharedSnapshot[] }>('/v1/me/shared')).shared;
  }

  // ── keys and vault ────────────────────────────────────────────────────────
  async getKeys(owner?: Owner): Promise<PublicKeyEntry[]> {
    return (await this.json<{ keys: PublicKeyEntry[] }>(owner ? `/v1/users/${enc(owner)}/keys` : '/v1/me/keys')).keys;
  }
  async putKeys(keys: PublicKeyEntry[]): Promise<PublicKeyEntry[]> {
    return (await this.json<{ keys: PublicKeyEntry[] }>('/v1/me/keys', this.jsonBody('PUT', keys))).keys;
  }
  /** Adds a public key to my registered set (kept if already there). Returns the set. */
  async addKey(key: PublicKeyEntry): Promise<PublicKeyEntry[]> {
    const keys = await this.getKeys();
    if (keys.some((k) => k.key_id === key.key_id)) return keys;
    return this.putKeys([...keys, { key_id: key.key_id, ed25519: key.ed25519, x25519: key.x25519 }]);
  }
  /** The vault document and its ETag, or undefined when none was stored. */
  async getVault(): Promise<{ doc: unknown; etag: string } | undefined> {
    const res = await this.request('/v1/me/vault', { accept: [404] });
    if (res.status === 404) {
      await res.arrayBuffer();
      return undefined;
    }
    return { doc: await res.json(), etag: res.headers.get('etag') ?? '' };
  }
  /** Stores the vault; with `ifMatch`, refuses (412) if it changed since read. Returns the new ETag. */
  async putVault(doc: unknown, ifMatch?: string): Promise<string> {
    const init = this.jsonBody('PUT', doc);
    if (ifMatch) init.headers!['if-match'] = ifMatch;
    return (await this.json<{ etag: string }>('/v1/me/vault', init)).etag;
  }

  // ── blobs ─────────────────────────────────────────────────────────────────
  blobPath(hex: string, owner?: Owner): string {
    return owner ? `/v1/users/${enc(owner)}/blobs/${enc(hex)}` : `/v1/me/blobs/${enc(hex)}`;
  }
  /** Size of a stored blob, or undefined when absent. */
  async headBlob(hex: string, owner?: Owner): Promise<number | undefined> {
    const res = await this.request(this.blobPath(hex, owner), { method: 'HEAD', accept: [404] });
    return res.status === 404 ? undefined : Number(res.headers.get('content-length'));
  }
  /**
   * Reads a whole blob, or bytes [start, end] (inclusive) of it, into memory:
   * for small reads (tree objects, tables of contents, tree roots). The
   * caller authenticates what it reads; a short or unranged answer is a
   * DriveError.
   */
  async readBlob(hex: string, o: { owner?: Owner; start?: number; end?: number; signal?: AbortSignal } = {}): Promise<Buffer> {
    checkBlobHex(hex);
    const ranged = o.start !== undefined;
    const res = await this.request(this.blobPath(hex, o.owner), {
      ...(ranged ? { headers: { range: `bytes=${o.start}-${o.end ?? ''}` } } : {}),
      ...(o.signal ? { signal: o.signal } : {}),
    });
    const buf = Buffer.from(await res.arrayBuffer());
    if (ranged && res.status !== 206) throw new DriveError(res.status, 'range_unsupported', `GET blob ${hex}: asked for a range, got ${res.status}`);
    if (ranged && o.end !== undefined && buf.length !== o.end - o.start! + 1) {
      throw new DriveError(res.status, 'short_read', `GET blob ${hex} bytes ${o.start}-${o.end}: got ${buf.length} bytes`);
    }
    return buf;
  }

  /** A prune's repack: snapshots referencing `remove` reference `add` instead; `remove` goes (server store/pack-rewrite.ts). */
  rewritePacks(remove: string[], add: string[]): Promise<{ snapshots: number; removed: number; freed: number }> {
    return this.json('/v1/me/packs/rewrite', this.jsonBody('POST', { remove, add }));
  }

  /** All the caller's blobs (address, size), every page. */
  async listAllBlobs(): Promise<{ hash: string; size: number }[]> {
    const out: { hash: string; size: number }[] = [];
    for (let after: string | undefined; ; ) {
      const page = await this.listBlobs(after ? { after } : {});
      out.push(...page.blobs);
      if (!page.next) return out;
      after = page.next;
    }
  }

  /** The caller's blobs (address, size), a page at a time after `after`. */
  async listBlobs(o: { after?: string; limit?: number } = {}): Promise<{ blobs: { hash: string; size: number }[]; next?: string }> {
    const q = new URLSearchParams();
    if (o.after) q.set('after', o.after);
    if (o.limit) q.set('limit', String(o.limit));
    return this.json(`/v1/me/blobs${q.size ? `?${q}` : ''}`);
  }

  /** Uploads a file as blob `hex` unless the server has it (HEAD first); streamed, with byte progress. */
  uploadBlob(hex: string, file: string, o: UploadOptions = {}): Promise<UploadResult> {
    return uploadBlob(this, hex, file, o);
  }
  uploadBlobs(items: { hex: string; file: string }[], o: { parallel?: number; signal?: AbortSignal } = {}): Promise<UploadResult[]> {
    return uploadBlobs(this, items, o);
  }
  /** Downloads blob `hex` to `dest`, verified, resuming after drops. */
  downloadBlob(hex: string, dest: string, o: DownloadOptions = {}): Promise<DownloadResult> {
    return downloadBlob(this, hex, dest, o);
  }
  downloadBlobs(items: { hex: string; dest: string }[], o: DownloadOptions & { parallel?: number } = {}): Promise<DownloadResult[]> {
    return downloadBlobs(this, items, o);
  }
}

/**
 * One path segment. An empty, "." or ".." one is refused: fetch resolves dot
 * segments (percent-encoded too), so `/v1/me/snapshots/..` would be sent as
 * `DELETE /v1/me`, the account's erasure.
 */
function enc(s: string): string {
  if (s === '' || s === '.' || s === '..') throw new DriveError(0, 'invalid_path_segment', `not a usable id or name: "${s}"`);
  return encodeURIComponent(s);
}

function checkServerUrlAsDrive(server: string): URL {
  try {
    return checkServerUrl(server);
  } catch (e) {
    throw new DriveError(0, 'insecure_url', (e as Error).message, {}, { cause: e });
  }
}
