/** Capture: this machine → a signed snapshot on the server (see README.md). */
export { capture, captureHostname, latestOfHost, type CaptureOptions, type CaptureResult, type CaptureBlob } from './snapshot.ts';
export { collect, type Sections } from './collect.ts';
export { loadConfig, mergeConfig, defaultConfig, configToToml, zstdWorkers, DEFAULT_ZSTD_LEVEL, type CaptureConfig, type LoadedConfig } from './config.ts';
export { CaptureError, ConfigError, type CaptureErrorCode } from './errors.ts';
export { configFile, configHome, defaultCacheDir, defaultIdentityDir, expandHome, manifestPath } from './paths.ts';
export type { CaptureEvent, CollectorName } from './progress.ts';
export { initIdentity, type InitOptions, type InitResult } from './init.ts';
export { enableSchedule, disableSchedule, scheduleStatus, selfCommand, renderService, renderTimer, userUnitDir, SERVICE_NAME, TIMER_NAME } from './schedule.ts';
export { BlobStore } from './blob-store.ts';
export { tarStream, entryHeaders, ustarHeader } from './tar-writer.ts';
export { walkTree, type WalkEntry } from './walk.ts';
export { SkipMatcher } from './skips.ts';
export { WIP_REF, DETACHED_BRANCH } from './git.ts';
export { readLastCapture, type LastCapture } from './last-result.ts';
