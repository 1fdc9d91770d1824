/**
 * Opens the blob object store from its URL:
 *   file:DIR                                    files under DIR (temp files in DIR/.tmp)
 *   s3://BUCKET[/PREFIX]?endpoint=URL&region=R  an S3-compatible bucket (s3-store.ts)
 * `--data DIR` means file:DIR/blobs with its temp files in DIR/tmp (the first layout).
 */
import { join, resolve } from 'node:path';
import { CodedError } from '../../util/coded-error.ts';
import type { ObjectStore } from './object-store.ts';
import { FileObjectStore } from './file-store.ts';
import { parseS3Url, S3ObjectStore } from './s3-store.ts';

export type { ObjectStore } from './object-store.ts';

/** Checks a blob store URL without opening it; throws CodedError `backend_url`. */
export function checkObjectStoreUrl(url: string): void {
  if (/^file:./.test(url)) return;
  if (url.startsWith('s3:')) {
    parseS3Url(url);
    return;
  }
  throw new CodedError('backend_url', `--blobs: expected file:DIR or s3://BUCKET?endpoint=URL&region=REGION, got '${url}'`, { option: 'blobs' });
}

export function openObjectStore(url: string): ObjectStore {
  checkObjectStoreUrl(url);
  if (url.startsWith('file:')) return new FileObjectStore(resolve(url.slice('file:'.length)));
  return new S3ObjectStore(parseS3Url(url));
}

/** The blob files of a `--data DIR` folder. */
export function dataDirObjectStore(dataDir: string): FileObjectStore {
  return new FileObjectStore(join(dataDir, 'blobs'), join(dataDir, 'tmp'));
}
