/**
 * The hot read of the S3 store: one GET (with Range) signed with AWS
 * Signature Version 4 right here and sent with node:http(s) on the store's
 * keep-alive agent, its body handed back as the socket's stream — no SDK
 * middleware stack on the path every blob and pack read takes. Measured
 * (bench/README.md, "server at scale"): a 1 MiB GetObject through the SDK
 * cost ≈ 2.2 ms of CPU in this process, this ≈ 1.2 ms.
 *
 * Path-style addressing only (`<endpoint>/<bucket>/<key>`, what Ceph and
 * MinIO use, and what the tests run against); the store sends everything
 * else through the SDK. The payload is not signed (`UNSIGNED-PAYLOAD`: a GET
 * has none); signed headers: host, x-amz-content-sha256, x-amz-date and,
 * with temporary credentials, x-amz-security-token.
 */
import { createHash, createHmac } from 'node:crypto';
import { request as httpRequest, type Agent as HttpAgent, type IncomingMessage } from 'node:http';
import { request as httpsRequest, type Agent as HttpsAgent } from 'node:https';
import type { ByteRange } from './object-store.ts';

export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** RFC 3986 unreserved characters stay, everything else is %XX (UTF-8), as SigV4 wants; '/' separates segments. */
export function encodeKeyPath(path: string): string {
  return path
    .split('/')
    .map((s) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`))
    .join('/');
}

const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data).digest();

export class SignedGet {
  private keyDay = '';
  private signingKey: Buffer = Buffer.alloc(0);
  private keyFor = '';

  constructor(
    private endpoint: URL,
    private bucket: string,
    private region: string,
    private agents: { http: HttpAgent; https: HttpsAgent },
  ) {}

  /** The signing key of a day, kept until the day or the secret changes. */
  private key(day: string, secret: string): Buffer {
    if (day !== this.keyDay || secret !== this.keyFor) {
      this.signingKey = hmac(hmac(hmac(hmac(`AWS4${secret}`, day), this.region), 's3'), 'aws4_request');
      this.keyDay = day;
      this.keyFor = secret;
    }
    return this.signingKey;
  }

  /** The signed request headers and path for GET `key` (full key, prefix included). */
  sign(key: string, creds: Credentials, now = new Date()): { path: string; headers: Record<string, string> } {
    const amzDate = now.toISOString().replace(/[-:]|\.\d{3}/g, '');
    const day = amzDate.slice(0, 8);
    const base = this.endpoint.pathname.replace(/\/+$/, '');
    const path = `${base}/${encodeKeyPath(this.bucket)}/${encodeKeyPath(key)}`;
    const host = this.endpoint.host;
    const signedHeaders: [string, string][] = [
      ['host', host],
      ['x-amz-content-sha256', 'UNSIGNED-PAYLOAD'],
      ['x-amz-date', amzDate],
      ...(creds.sessionToken ? ([['x-amz-security-token', creds.sessionToken]] as [string, string][]) : []),
    ];
    const names = signedHeaders.map(([k]) => k).join(';');
    const canonical = ['GET', path, '', signedHeaders.map(([k, v]) => `${k}:${v}\n`).join(''), names, 'UNSIGNED-PAYLOAD'].join('\n');
    const scope = `${day}/${this.region}/s3/aws4_request`;
    const toSign = `AWS4-HMAC-SHA256\n${amzDate}\n${scope}\n${createHash('sha256').update(canonical).digest('hex')}`;
    const signature = createHmac('sha256', this.key(day, creds.secretAccessKey)).update(toSign).digest('hex');
    const headers = Object.fromEntries(signedHeaders);
    headers.authorization = `AWS4-HMAC-SHA256 Credential=${creds.accessKeyId}/${scope}, SignedHeaders=${names}, Signature=${signature}`;
    return { path, headers };
  }

  /**
   * The response (200 / 206 / an error status), its body not yet read.
   * `timeoutMs` bounds the wait for the answer's headers only: the body then
   * goes at the pace of whoever reads it (the server's client).
   */
  send(key: string, creds: Credentials, range?: ByteRange, timeoutMs = 30_000): Promise<IncomingMessage> {
    const { path, headers } = this.sign(key, creds);
    if (range) headers.range = `bytes=${range.start}-${range.end}`;
    const https = this.endpoint.protocol === 'https:';
    return new Promise((resolve, reject) => {
      const req = (https ? httpsRequest : httpRequest)(
        { host: this.endpoint.hostname, port: this.endpoint.port || undefined, path, method: 'GET', headers, agent: https ? this.agents.https : this.agents.http },
        (res) => {
          req.setTimeout(0);
          resolve(res);
        },
      );
      req.setTimeout(timeoutMs, () => req.destroy(new Error(`S3 GET ${key}: no answer in ${timeoutMs} ms`)));
      req.on('error', reject);
      req.end();
    });
  }
}
