/** The Koder Drive client (see README.md). */
export { DriveClient, type DriveClientOptions } from './client.ts';
export { DriveError } from './errors.ts';
export { downloadBlob, downloadBlobs, type DownloadOptions, type DownloadResult } from './download.ts';
export { uploadBlob, uploadBlobs, type UploadResult } from './upload.ts';
export { pool, backoffMs, DEFAULT_RETRY, type RetryPolicy } from './retry.ts';
export type * from './types.ts';
export { connect } from './connect.ts';
export { pushManifests, type PushOptions, type PushResult } from './push.ts';
export { pullSnapshot, type PullOptions, type PullResult } from './pull.ts';
export { resolveSnapshotId } from './resolve-id.ts';
export { openBlobStream, type BlobStreamOptions } from './blob-stream.ts';
export { openBlobRemote, type BlobAttempts, type BlobRemoteOptions } from './blob-remote.ts';
