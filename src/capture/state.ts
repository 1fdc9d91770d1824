/**
 * What the last capture found, so that an unchanged folder or repository is
 * not archived again: `<cache>/state.json`.
 *
 * - files: per folder, a scan key (sha256 over every entry's path, type,
 *   size, mode, mtime and ctime in ns, inode — as restic and borg decide
 *   "unchanged") and the entry it gave (blob, sha256 of the tar, sizes).
 *
 * Reusing an entry needs no local blob file: the upload asks the server
 * (HEAD) and rebuilds the blob only if the server lacks it. A lost or damaged
 * state file only costs a rebuild. (Repositories are bundled every time:
 * `git bundle` is quick, and deterministic, so an unchanged repository gives
 * the same blob, which the server already has.)
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../util/atomic-write.ts';

export interface FilesState {
  scanKey: string;
  blob: string;
  sha256: string;
  size: number;
  stored_size: number;
}

export interface StateFile {
  version: 1;
  files: Record<string, FilesState>;
}

export class CaptureState {
  private constructor(
    private readonly file: string,
    readonly data: StateFile,
  ) {}

  static async load(cacheDir: string): Promise<CaptureState> {
    const file = join(cacheDir, 'state.json');
    let data: StateFile = { version: 1, files: {} };
    try {
      const parsed = JSON.parse(await readFile(file, 'utf8')) as StateFile;
      if (parsed?.version === 1 && parsed.files && typeof parsed.files === 'object') data = parsed;
    } catch {
      // Missing or damaged: start afresh (costs one rebuild).
    }
    return new CaptureState(file, data);
  }

  async save(): Promise<void> {
    await writeFileAtomic(this.file, JSON.stringify(this.data, null, 1) + '\n', { mode: 0o600 });
  }
}
