/**
 * Exports on the drives mounted here: folders holding a koder-export.json a
 * few levels below the mount roots (`/media/ana/USB/koder`,
 * `/run/media/ana/USB/Backups/koder`), for the wizard's "Restore from a
 * drive". Symlinks are not followed, hidden folders not entered, and only
 * the first entries of a big folder are looked at: it is a glance, not a
 * search. What it returns is only a hint (the index's own words); the
 * restore verifies everything.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { INDEX_FILE, parseIndex } from './layout.ts';

export interface FoundExport {
  dir: string;
  user: string;
  snapshots: number;
  /** The newest snapshot's hostname and date. */
  hostname: string;
  createdAt: string;
}

/** Where removable drives are mounted on Debian desktops and live systems. */
export const MOUNT_ROOTS = ['/media', '/run/media', '/mnt'];

const MAX_ENTRIES = 200;

export async function findExports(roots: readonly string[] = MOUNT_ROOTS, depth = 4): Promise<FoundExport[]> {
  const found: FoundExport[] = [];
  const visit = async (dir: string, left: number): Promise<void> => {
    const text = await readFile(join(dir, INDEX_FILE), 'utf8').catch(() => undefined);
    if (text !== undefined) {
      try {
        const idx = parseIndex(text);
        const newest = idx.snapshots[0];
        if (newest) found.push({ dir, user: idx.user, snapshots: idx.snapshots.length, hostname: newest.hostname, createdAt: newest.created_at });
      } catch {
        // not an export we can read: not offered
      }
      return;
    }
    if (left === 0) return;
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const e of entries.slice(0, MAX_ENTRIES)) if (e.isDirectory() && !e.name.startsWith('.')) await visit(join(dir, e.name), left - 1);
  };
  for (const r of roots) await visit(r, depth);
  return found.sort((a, b) => a.dir.localeCompare(b.dir));
}
