/**
 * The local blob cache: `<cache>/blobs/<sha256-hex>`, each file named by the
 * sha256 of its bytes (the blob address), so a file there is always complete
 * and right. Blobs are written to `<cache>/tmp/` while they are hashed, then
 * renamed into place; a crash leaves only a temp file, removed by the next
 * `open`. Nothing plaintext-secret ever goes here (secrets are sealed into
 * the manifest, never blobs).
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CompressStream } from 'zstd-napi';

export interface StoredBlob {
  hex: string;
  /** Bytes of the stored blob. */
  size: number;
  file: string;
}

export interface CompressedBlob extends StoredBlob {
  /** sha256 hex of the uncompressed input (the tar). */
  inputSha256: string;
  /** Bytes of the uncompressed input. */
  inputSize: number;
}

export interface ZstdOptions {
  level: number;
  /** Worker threads (≥ 1: the output is then the same whatever the count). */
  workers: number;
}

export class BlobStore {
  readonly blobDir: string;
  readonly tmpDir: string;

  private constructor(readonly dir: string) {
    this.blobDir = join(dir, 'blobs');
    this.tmpDir = join(dir, 'tmp');
  }

  /** Opens (creates) the cache at `dir` and removes temp files a crashed run left. */
  static async open(dir: string): Promise<BlobStore> {
    const s = new BlobStore(dir);
    await mkdir(s.blobDir, { recursive: true, mode: 0o700 });
    await rm(s.tmpDir, { recursive: true, force: true });
    await mkdir(s.tmpDir, { recursive: true, mode: 0o700 });
    return s;
  }

  path(hex: string): string {
    return join(this.blobDir, hex);
  }

  async has(hex: string): Promise<boolean> {
    try {
      return (await stat(this.path(hex))).isFile();
    } catch {
      return false;
    }
  }

  /** A fresh path in the temp folder (not created). */
  tmpPath(prefix: string): string {
    return join(this.tmpDir, `${prefix}-${randomBytes(6).toString('hex')}`);
  }

  /** Moves a finished temp file into place under its address. */
  private async commit(tmp: string, hex: string): Promise<string> {
    const dest = this.path(hex);
    await rename(tmp, dest);
    return dest;
  }

  /** Stores a file (moved, not copied) under the sha256 of its bytes. */
  async putFile(tmp: string): Promise<StoredBlob> {
    const h = createHash('sha256');
    let size = 0;
    for await (const c of createReadStream(tmp)) {
      h.update(c as Buffer);
      size += (c as Buffer).length;
    }
    const hex = h.digest('hex');
    return { hex, size, file: await this.commit(tmp, hex) };
  }

  /** Stores bytes (keyrings: small). */
  async putBytes(bytes: Uint8Array): Promise<StoredBlob> {
    const tmp = this.tmpPath('bytes');
    await pipeline(Readable.from([Buffer.from(bytes)]), createWriteStream(tmp, { mode: 0o600 }));
    return this.putFile(tmp);
  }

  /**
   * zstd-compresses a stream into a blob, hashing the input and the output on
   * the way: memory stays bounded by zstd's window and job buffers, whatever
   * the input size.
   */
  async putCompressed(source: AsyncIterable<Uint8Array>, z: ZstdOptions, signal?: AbortSignal): Promise<CompressedBlob> {
    const inHash = createHash('sha256');
    const outHash = createHash('sha256');
    let inputSize = 0;
    let size = 0;
    const tmp = this.tmpPath('zst');
    try {
      await pipeline(
        Readable.from(
          (async function* () {
            for await (const c of source) {
              inHash.update(c);
              inputSize += c.length;
              yield c;
            }
          })(),
          { objectMode: false, highWaterMark: 4 * 1024 * 1024 },
        ),
        new CompressStream({ compressionLevel: z.level, nbWorkers: Math.max(1, z.workers), checksumFlag: true }),
        async function* (chunks: AsyncIterable<Buffer>) {
          for await (const c of chunks) {
            outHash.update(c);
            size += c.length;
            yield c;
          }
        },
        createWriteStream(tmp, { mode: 0o600 }),
        ...(signal ? [{ signal }] : []),
      );
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
    const hex = outHash.digest('hex');
    return { hex, size, file: await this.commit(tmp, hex), inputSha256: inHash.digest('hex'), inputSize };
  }

  async remove(hex: string): Promise<void> {
    await rm(this.path(hex), { force: true });
  }

  /** Hex addresses of every blob in the cache. */
  async list(): Promise<string[]> {
    return (await readdir(this.blobDir)).filter((n) => /^[0-9a-f]{64}$/.test(n));
  }
}
