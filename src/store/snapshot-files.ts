/**
 * Browsing a snapshot's files (data v2): which folder entry a path falls in,
 * and the entries of a folder or sub-folder inside it — for `koder-snapshot
 * ls`, `restore --path` and the Backup app. Trees are read and
 * authenticated as a restore reads them (tree-reader.ts); only the tree
 * objects on the way down are fetched.
 */
import { isV2Files, type FileEntry, type Manifest } from '../manifest/types.ts';
import { CodedError } from '../util/coded-error.ts';
import type { Zstd } from './chunk-crypto.ts';
import { treeKey, deriveDataKeys } from './keys.ts';
import { Relocator, type BlobLister } from './relocate.ts';
import type { TreeRoot } from './root-blob.ts';
import { TreeReader, type BlobBytes } from './tree-reader.ts';
import type { ObjectRef, TreeNode } from './tree-object.ts';
import { zstdContext } from './zstd.ts';

export interface ListedEntry {
  /** The name as bytes, and as text (invalid UTF-8 shown with U+FFFD). */
  name: Buffer;
  text: string;
  type: 'dir' | 'file' | 'symlink' | 'folder-v1';
  mode?: number;
  size?: number;
  mtimeNs?: bigint;
  /** Symlink target, or hard link's first path. */
  target?: string;
  /** For top-level folders: how many files. */
  files?: number;
}

/** Where a manifest path (`~/…` or `/…`) falls: the files entry holding it and the path inside it. */
export function locatePath(folded: Manifest, path: string): { entry: FileEntry; rel: string } | undefined {
  const clean = path.replace(/\/+$/, '');
  for (const e of folded.files?.entry ?? []) {
    if (clean === e.local_path) return { entry: e, rel: '' };
    if (clean.startsWith(`${e.local_path}/`)) return { entry: e, rel: clean.slice(e.local_path.length + 1) };
  }
  return undefined;
}

export interface TreeKeys {
  /** The owner's identity seed (my own snapshot), or a share's tree keys. */
  seed?: Uint8Array;
  shared?: Map<string, Uint8Array>;
}

export class SnapshotFiles {
  private readonly zstd: Zstd = zstdContext();
  private readonly reader: TreeReader;
  private readonly roots = new Map<string, TreeRoot>();

  /** `account`: my account's blobs — with my own keys (`keys.seed`), tree objects a prune moved are found through my packs' TOCs. */
  constructor(
    readonly folded: Manifest,
    bytes: BlobBytes,
    readonly keys: TreeKeys,
    account?: BlobLister,
  ) {
    const relocator = account && keys.seed ? new Relocator(account, bytes, deriveDataKeys(keys.seed).tocKey) : undefined;
    this.reader = new TreeReader(bytes, this.zstd, undefined, relocator);
  }

  private keyOf(tree: string, nonce: string): Uint8Array {
    const k = this.keys.shared?.get(tree) ?? (this.keys.seed ? treeKey(deriveDataKeys(this.keys.seed).treeKeyRoot, Buffer.from(nonce, 'base64')) : undefined);
    if (!k) throw new CodedError('data_keys_locked', 'this folder is encrypted: its keys need your vault (passphrase or recovery key) or a share');
    return k;
  }

  async root(e: FileEntry): Promise<TreeRoot> {
    if (!isV2Files(e)) throw new CodedError('path_not_in_snapshot', `${e.local_path} is a version 1 archive: it is listed and restored whole`);
    let r = this.roots.get(e.tree);
    if (!r) {
      r = await this.reader.root(e.tree.slice('sha256:'.length), this.keyOf(e.tree, e.tree_nonce));
      this.roots.set(e.tree, r);
    }
    return r;
  }

  /** The snapshot's folders (no path) or the entries at `path`; a file path lists that file. */
  async list(path?: string): Promise<ListedEntry[]> {
    if (!path) {
      return (this.folded.files?.entry ?? []).map((e) => ({
        name: Buffer.from(e.local_path),
        text: e.local_path,
        type: isV2Files(e) ? ('dir' as const) : ('folder-v1' as const),
        size: e.size,
        ...(isV2Files(e) ? { files: e.files } : {}),
      }));
    }
    const at = locatePath(this.folded, path);
    if (!at) throw new CodedError('path_not_in_snapshot', `${path} is not in any folder of the snapshot`);
    const root = await this.root(at.entry);
    const node = await this.find(root, at.rel);
    if (node.kind === 'file') return [listed(node.node)];
    return (await this.reader.entries(node.ref, root)).map(listed);
  }

  /** The node at `rel` inside a folder's tree. */
  async find(root: TreeRoot, rel: string): Promise<{ kind: 'dir'; ref: ObjectRef } | { kind: 'file'; node: TreeNode }> {
    let ref: ObjectRef = root.root;
    const parts = rel.split('/').filter(Boolean).map((p) => Buffer.from(p));
    for (let i = 0; i < parts.length; i++) {
      const hit = (await this.reader.entries(ref, root)).find((e) => e.name.equals(parts[i]!));
      if (!hit) throw new CodedError('path_not_in_snapshot', `${rel} is not in the snapshot`);
      if (hit.type === 'dir') ref = hit.tree;
      else if (i === parts.length - 1) return { kind: 'file', node: hit };
      else throw new CodedError('path_not_in_snapshot', `${rel} is not in the snapshot`);
    }
    return { kind: 'dir', ref };
  }
}

function listed(n: TreeNode): ListedEntry {
  const base = { name: n.name, text: n.name.toString('utf8'), mode: n.mode, mtimeNs: n.mtimeNs };
  if (n.type === 'dir') return { ...base, type: 'dir' };
  if (n.type === 'symlink') return { ...base, type: 'symlink', target: n.target.toString('utf8') };
  return { ...base, type: 'file', size: n.size, ...(n.link ? { target: n.link.toString('utf8') } : {}) };
}
