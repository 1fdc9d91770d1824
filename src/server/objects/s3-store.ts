/**
 * Objects in an S3-compatible bucket (AWS S3, Ceph radosgw, …) through
 * @aws-sdk/client-s3, under an optional key prefix. Credentials come from
 * the SDK's usual chain (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, a
 * profile, an instance role), never from the URL.
 *
 * put: a body of known length up to SINGLE_PUT_MAX streams in one PutObject
 * (nothing buffered); a larger one, or one of unknown length past one part,
 * goes as a multipart upload of PART_BYTES parts, two in flight. A body that
 * fails aborts the request (PutObject: the server keeps nothing) or the
 * multipart upload. A process killed mid-multipart leaves an unfinished
 * upload, invisible as an object, listed by `unfinished()` (`serve check`)
 * and discarded by the maintenance after a day.
 * get: one GET (with Range), its body streamed through, never buffered —
 * signed here (s3-get.ts) on path-style endpoints, else a GetObject.
 *
 * Settings Ceph 16 needs (shared/notes/s3-ceph-postgres.md): path-style
 * addressing, and flexible checksums only when an operation requires one.
 */
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { CodedError } from '../../util/coded-error.ts';
import { SignedGet } from './s3-get.ts';
import { assertObjectKey, ObjectMissingError, type ByteRange, type ObjectStore, type StoredObject, type UnfinishedWrite } from './object-store.ts';

export const SINGLE_PUT_MAX = 64 * 1024 * 1024;
export const PART_BYTES = 8 * 1024 * 1024;
const PARTS_IN_FLIGHT = 2;

export interface S3Location {
  bucket: string;
  /** Key prefix inside the bucket ('' or ending in '/'). */
  prefix: string;
  endpoint?: string;
  region: string;
  pathStyle: boolean;
}

/**
 * `s3://BUCKET[/PREFIX][?endpoint=URL&region=R&path_style=true|false]`.
 * Region: the URL's, else AWS_REGION, else us-east-1. Path-style addressing
 * is the default with an endpoint (Ceph, MinIO), virtual-host without.
 */
export function parseS3Url(url: string, env: NodeJS.ProcessEnv = process.env): S3Location {
  const bad = (why: string) => new CodedError('backend_url', `--blobs: ${why} (expected s3://BUCKET[/PREFIX]?endpoint=URL&region=REGION)`, { option: 'blobs' });
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw bad('not a URL');
  }
  if (u.protocol !== 's3:') throw bad('not an s3:// URL');
  if (u.username || u.password) throw bad('credentials do not go in the URL: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment');
  const bucket = u.hostname;
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) throw bad(`not a bucket name: '${bucket}'`);
  const prefixPath = decodeURIComponent(u.pathname).replace(/^\/+|\/+$/g, '');
  const prefix = prefixPath ? `${prefixPath}/` : '';
  if (prefix) assertObjectKey(prefixPath);
  for (const k of u.searchParams.keys()) if (!['endpoint', 'region', 'path_style'].includes(k)) throw bad(`unknown parameter '${k}'`);
  const endpoint = u.searchParams.get('endpoint') ?? undefined;
  if (endpoint !== undefined) {
    try {
      const e = new URL(endpoint);
      if (e.protocol !== 'http:' && e.protocol !== 'https:') throw new Error();
    } catch {
      throw bad(`endpoint is not an http(s) URL: '${endpoint}'`);
    }
  }
  const ps = u.searchParams.get('path_style');
  if (ps !== null && ps !== 'true' && ps !== 'false') throw bad('path_style is true or false');
  return { bucket, prefix, endpoint, region: u.searchParams.get('region') ?? env.AWS_REGION ?? 'us-east-1', pathStyle: ps === null ? endpoint !== undefined : ps === 'true' };
}

/** At most 64 KiB of an error answer's body, as text. */
async function boundedText(res: Readable): Promise<string> {
  let text = '';
  for await (const c of res) {
    if (text.length < 65536) text += (c as Buffer).toString('utf8');
  }
  return text;
}

const statusOf = (e: unknown) => (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;

export class S3ObjectStore implements ObjectStore {
  readonly kind = 's3' as const;
  readonly description: string;
  /** A multipart upload a day old is abandoned (uploads are cut after 60 s without a byte). */
  readonly staleAfterMs = 24 * 3600_000;
  private client: S3Client;
  /** For streamed bodies: one attempt (a consumed stream cannot be sent again). */
  private once: S3Client;
  private signedGet?: SignedGet;

  constructor(readonly where: S3Location, o: { maxSockets?: number } = {}) {
    this.description = `s3://${where.bucket}/${where.prefix}${where.endpoint ? ` at ${where.endpoint}` : ''}`;
    const agents = {
      httpAgent: new HttpAgent({ keepAlive: true, maxSockets: o.maxSockets ?? 256 }),
      httpsAgent: new HttpsAgent({ keepAlive: true, maxSockets: o.maxSockets ?? 256 }),
      connectionTimeout: 10_000,
    };
    if (where.endpoint && where.pathStyle) {
      this.signedGet = new SignedGet(new URL(where.endpoint), where.bucket, where.region, { http: agents.httpAgent, https: agents.httpsAgent });
    }
    const config = {
      region: where.region,
      ...(where.endpoint ? { endpoint: where.endpoint } : {}),
      forcePathStyle: where.pathStyle,
      requestChecksumCalculation: 'WHEN_REQUIRED' as const,
      responseChecksumValidation: 'WHEN_REQUIRED' as const,
      requestHandler: agents,
    };
    this.client = new S3Client(config);
    // a cut upload is the client's doing: no "non-retryable streaming request" warning on the console for it
    const quiet = { debug() {}, info() {}, warn() {}, error() {} };
    this.once = new S3Client({ ...config, maxAttempts: 1, logger: quiet });
  }

  private k(key: string): string {
    assertObjectKey(key);
    return this.where.prefix + key;
  }

  async put(key: string, body: Readable, size?: number): Promise<void> {
    const Key = this.k(key);
    if (size !== undefined && size <= SINGLE_PUT_MAX) return this.streamOnce(Key, body, size);
    return this.putParts(Key, body);
  }

  /** One PutObject streaming `body`; a body that fails aborts the request, and its error is the one thrown. */
  private async streamOnce(Key: string, body: Readable, size: number): Promise<void> {
    const ac = new AbortController();
    let failed: unknown;
    const onError = (e: unknown) => {
      failed ??= e;
      ac.abort(e);
    };
    body.once('error', onError);
    try {
      await this.once.send(new PutObjectCommand({ Bucket: this.where.bucket, Key, Body: body, ContentLength: size }), { abortSignal: ac.signal });
    } catch (e) {
      body.destroy();
      throw failed ?? e;
    } finally {
      body.off('error', onError);
    }
    if (failed) throw failed;
  }

  private async putParts(Key: string, body: Readable): Promise<void> {
    const Bucket = this.where.bucket;
    let uploadId: string | undefined;
    const done: { ETag: string; PartNumber: number }[] = [];
    const inFlight = new Set<Promise<void>>();
    let partNo = 0;
    const send = (bytes: Buffer) => {
      const PartNumber = ++partNo;
      const p = this.client
        .send(new UploadPartCommand({ Bucket, Key, UploadId: uploadId, PartNumber, Body: bytes, ContentLength: bytes.length }))
        .then((r) => void done.push({ ETag: r.ETag!, PartNumber }))
        .finally(() => inFlight.delete(p));
      inFlight.add(p);
      // a failure is seen by the next wait on inFlight; keep it from being unhandled meanwhile
      p.catch(() => {});
    };
    try {
      let chunks: Buffer[] = [];
      let have = 0;
      for await (const c of body) {
        chunks.push(c as Buffer);
        have += (c as Buffer).length;
        while (have >= PART_BYTES) {
          const all = Buffer.concat(chunks);
          const part = all.subarray(0, PART_BYTES);
          chunks = [all.subarray(PART_BYTES)];
          have = chunks[0]!.length;
          uploadId ??= (await this.client.send(new CreateMultipartUploadCommand({ Bucket, Key }))).UploadId;
          while (inFlight.size >= PARTS_IN_FLIGHT) await Promise.race(inFlight);
          send(part);
        }
      }
      const rest = Buffer.concat(chunks);
      if (uploadId === undefined) {
        // it all fitted in one part: one plain PutObject
        await this.client.send(new PutObjectCommand({ Bucket, Key, Body: rest, ContentLength: rest.length }));
        return;
      }
      if (rest.length) send(rest);
      await Promise.all(inFlight);
      done.sort((a, b) => a.PartNumber - b.PartNumber);
      // Ceph 16 answers with an empty ETag: nothing here depends on it
      await this.client.send(new CompleteMultipartUploadCommand({ Bucket, Key, UploadId: uploadId, MultipartUpload: { Parts: done } }));
    } catch (e) {
      body.destroy();
      await Promise.allSettled(inFlight);
      if (uploadId) await this.client.send(new AbortMultipartUploadCommand({ Bucket, Key, UploadId: uploadId })).catch(() => {});
      throw e;
    }
  }

  async get(key: string, range?: ByteRange): Promise<Readable> {
    if (this.signedGet) {
      const res = await this.signedGet.send(this.k(key), await this.client.config.credentials(), range);
      if (res.statusCode === 206 || (res.statusCode === 200 && !range)) return res;
      const body = await boundedText(res);
      if (res.statusCode === 404) throw new ObjectMissingError(key, this.description);
      throw new Error(`S3 GET ${key}: ${res.statusCode} ${/<Code>([^<]*)<\/Code>/.exec(body)?.[1] ?? body.slice(0, 200)}`);
    }
    try {
      const r = await this.client.send(
        new GetObjectCommand({ Bucket: this.where.bucket, Key: this.k(key), ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}) }),
      );
      return r.Body as Readable;
    } catch (e) {
      if (statusOf(e) === 404) throw new ObjectMissingError(key, this.description);
      throw e;
    }
  }

  async head(key: string): Promise<number | undefined> {
    try {
      return (await this.client.send(new HeadObjectCommand({ Bucket: this.where.bucket, Key: this.k(key) }))).ContentLength;
    } catch (e) {
      if (statusOf(e) === 404) return undefined;
      throw e;
    }
  }

  async delete(keys: string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += 1000) {
      const batch = keys.slice(i, i + 1000).map((k) => ({ Key: this.k(k) }));
      if (batch.length === 1) {
        await this.client.send(new DeleteObjectCommand({ Bucket: this.where.bucket, Key: batch[0]!.Key }));
        continue;
      }
      const r = await this.client.send(new DeleteObjectsCommand({ Bucket: this.where.bucket, Delete: { Objects: batch, Quiet: true } }));
      const failed = (r.Errors ?? []).filter((x) => x.Code !== 'NoSuchKey');
      if (failed.length) throw new Error(`S3 DeleteObjects: ${failed.length} not deleted, first ${failed[0]!.Key}: ${failed[0]!.Code} ${failed[0]!.Message ?? ''}`);
    }
  }

  async deletePrefix(prefix: string): Promise<number> {
    let n = 0;
    let batch: string[] = [];
    for await (const o of this.list(prefix)) {
      batch.push(o.key);
      if (batch.length === 1000) {
        await this.delete(batch);
        n += batch.length;
        batch = [];
      }
    }
    await this.delete(batch);
    return n + batch.length;
  }

  async *list(prefix = ''): AsyncIterable<StoredObject> {
    let ContinuationToken: string | undefined;
    const strip = this.where.prefix.length;
    do {
      const r = await this.client.send(new ListObjectsV2Command({ Bucket: this.where.bucket, Prefix: this.where.prefix + prefix, ContinuationToken }));
      for (const o of r.Contents ?? []) yield { key: o.Key!.slice(strip), size: o.Size ?? 0, modified: o.LastModified?.getTime() ?? 0 };
      ContinuationToken = r.IsTruncated ? r.NextContinuationToken : undefined;
    } while (ContinuationToken);
  }

  async unfinished(): Promise<UnfinishedWrite[]> {
    const out: UnfinishedWrite[] = [];
    let KeyMarker: string | undefined;
    let UploadIdMarker: string | undefined;
    const strip = this.where.prefix.length;
    do {
      const r = await this.client.send(new ListMultipartUploadsCommand({ Bucket: this.where.bucket, Prefix: this.where.prefix, KeyMarker, UploadIdMarker }));
      for (const u of r.Uploads ?? []) out.push({ id: `${u.Key}\n${u.UploadId}`, key: u.Key!.slice(strip), at: u.Initiated?.getTime() ?? 0 });
      KeyMarker = r.IsTruncated ? r.NextKeyMarker : undefined;
      UploadIdMarker = r.IsTruncated ? r.NextUploadIdMarker : undefined;
    } while (KeyMarker);
    return out;
  }

  async discard(ids: string[]): Promise<void> {
    for (const id of ids) {
      const [Key, UploadId] = id.split('\n');
      if (!Key || !UploadId || !Key.startsWith(this.where.prefix)) continue;
      await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.where.bucket, Key, UploadId })).catch((e: unknown) => {
        if (statusOf(e) !== 404) throw e;
      });
    }
  }

  async close(): Promise<void> {
    this.client.destroy();
    this.once.destroy();
  }
}
