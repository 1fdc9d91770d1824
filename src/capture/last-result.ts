/**
 * How the last capture that posted a snapshot went: `<cache>/last-capture.json`
 * (its id, when, and the warnings: folders and files left out, and why).
 * Written by capture() whoever ran it (the CLI, the weekly timer, the Backup
 * app), read by the app's overview: "last backup: ok / with N problems". A
 * lost or damaged file only means the outcome is not known.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../util/atomic-write.ts';

export interface LastCapture {
  id: string;
  /** ISO time the snapshot was posted. */
  at: string;
  kind: 'full' | 'delta';
  uploadedBytes: number;
  warnings: string[];
}

const FILE = 'last-capture.json';

export async function saveLastCapture(cacheDir: string, r: LastCapture): Promise<void> {
  await writeFileAtomic(join(cacheDir, FILE), JSON.stringify(r) + '\n', { mode: 0o600 });
}

export async function readLastCapture(cacheDir: string): Promise<LastCapture | undefined> {
  try {
    const r = JSON.parse(await readFile(join(cacheDir, FILE), 'utf8')) as Partial<LastCapture>;
    if (typeof r.id !== 'string' || typeof r.at !== 'string' || !Array.isArray(r.warnings)) return undefined;
    return { id: r.id, at: r.at, kind: r.kind === 'full' ? 'full' : 'delta', uploadedBytes: Number(r.uploadedBytes) || 0, warnings: r.warnings.map(String) };
  } catch {
    return undefined;
  }
}
