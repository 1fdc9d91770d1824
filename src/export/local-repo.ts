/**
 * An export folder read back for a restore (layout.ts): its snapshots, the
 * key list, signed manifests, the vault, blobs and .debs. Reads only; every
 * piece is checked by whoever uses it (chains against the key list, the key
 * list against the identity the vault opens, blobs and chunks against their
 * addresses and keys).
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { LocalBlobs } from '../chroot-appliers/local-blobs.ts';
import type { Identity } from '../keys/identity.ts';
import type { SnapshotSummary } from '../restore-machine/types.ts';
import { CodedError } from '../util/coded-error.ts';
import { BLOBS_DIR, DEBS_DIR, INDEX_FILE, KEYS_FILE, MANIFESTS_DIR, VAULT_FILE, parseIndex, parseKeys, trustKeys, verifyingKeys, type ExportIndex } from './layout.ts';

const HEX64 = /^[0-9a-f]{64}$/;

export class LocalRepo {
  readonly blobs: LocalBlobs;

  private constructor(
    readonly dir: string,
    readonly index: ExportIndex,
  ) {
    this.blobs = new LocalBlobs(join(dir, BLOBS_DIR), `the export in ${dir}`);
  }

  /** The export in `dir`; `export_not_found` when there is none, `export_format` when its index is not one. */
  static async open(dir: string): Promise<LocalRepo> {
    const abs = resolve(dir);
    const text = await readFile(join(abs, INDEX_FILE), 'utf8').catch((e: NodeJS.ErrnoException) => {
      throw new CodedError('export_not_found', `${abs} holds no Koder Snapshots export (no ${INDEX_FILE}: ${e.code ?? e.message})`, { dir: abs });
    });
    return new LocalRepo(abs, parseIndex(text, join(abs, INDEX_FILE)));
  }

  /** The exported snapshots, as the restore lists them (newest first). */
  snapshots(): SnapshotSummary[] {
    return this.index.snapshots.map((s) => ({ id: s.id, hostname: s.hostname, createdAt: s.created_at, owner: this.index.user, shared: false, chainDepth: s.chain.length, bytes: s.bytes }));
  }

  private async keysDoc() {
    const path = join(this.dir, KEYS_FILE);
    return parseKeys(await readFile(path, 'utf8').catch(() => {
      throw new CodedError('export_format', `${path} is missing`);
    }), path);
  }

  /** The Ed25519 keys the chains are checked against (trusted once `trust` passed). */
  async verifyingKeys(): Promise<Uint8Array[]> {
    return verifyingKeys(await this.keysDoc());
  }

  /** Throws unless the key list is signed by `identity` (the one the person's secret opened). */
  async trust(identity: Identity): Promise<void> {
    trustKeys(await this.keysDoc(), identity, this.index.user);
  }

  async manifest(id: string): Promise<string> {
    if (!HEX64.test(id)) throw new CodedError('export_format', `${JSON.stringify(id)} is not a snapshot id`);
    const path = join(this.dir, MANIFESTS_DIR, `${id}.kvg`);
    return readFile(path, 'utf8').catch(() => {
      throw new CodedError('blob_missing', `snapshot ${id} is not in the export (${path})`, { id });
    });
  }

  /** The vault document (undefined when the export has none). */
  async vault(): Promise<unknown | undefined> {
    const path = join(this.dir, VAULT_FILE);
    const text = await readFile(path, 'utf8').catch(() => undefined);
    if (text === undefined) return undefined;
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new CodedError('export_format', `${path} is not JSON: the vault was altered`);
    }
  }

  /** The folder of the exported .debs (export --with-debs), when there is one. */
  debsDir(): string | undefined {
    const d = join(this.dir, DEBS_DIR);
    return existsSync(join(d, 'debs.json')) ? d : undefined;
  }
}
