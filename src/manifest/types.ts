/**
 * The KVG manifest, as data. Field names follow the TOML keys exactly, so the
 * object is the document: canonical bytes are computed from it as written.
 * Unknown keys inside known sections are kept (forward compatibility), hence
 * the index signatures.
 */

/** A blob address: `sha256:` + 64 lowercase hex of the stored bytes. */
export type BlobRef = `sha256:${string}`;

export interface Signature {
  /** Base64 Ed25519 signature over the canonical bytes. */
  ed25519: string;
  /** Lowercase hex sha256 of the signer's raw 32-byte Ed25519 public key. */
  key_id: string;
}

export interface SnapshotHeader {
  /** 1: files and repository bundles as whole blobs; 2: as chunked, encrypted trees (data v2). */
  version: 1 | 2;
  hostname: string;
  /** RFC 3339 date-time, written as a TOML string. */
  created_at: string;
  koder_user_id: string;
  /** Snapshot id of the parent; absent for a full snapshot. */
  parent?: string;
  sig?: Signature;
  [unknown: string]: unknown;
}

/** gsettings dump: schema → key → GVariant text (as `gsettings get` prints it). */
export type GSettings = Record<string, Record<string, string>>;

export interface SystemSection {
  timezone?: string;
  locale?: string;
  /** XKB layout, optionally with a variant in parentheses: `br`, `us(intl)`. */
  keyboard?: string;
  keyboard_model?: string;
  keyboard_options?: string;
  /** Driver name (`nvidia`, `amdgpu`, …); absent means "none in particular". */
  gpu_driver?: string;
  gsettings?: GSettings;
  [unknown: string]: unknown;
}

export interface AptSource {
  /** File stem under /etc/apt/sources.list.d (`NAME.sources`). Key of the entry. */
  name: string;
  /** The deb822 text of the source. */
  deb822: string;
  /** Keyring file the source's Signed-By names, stored as a blob. */
  keyring?: BlobRef;
  keyring_path?: string;
  [unknown: string]: unknown;
}

export interface SnapEntry {
  name: string;
  channel: string;
  classic?: boolean;
  [unknown: string]: unknown;
}

export interface FlatpakEntry {
  /** e.g. `app/org.gnome.Boxes/x86_64/stable`. Key of the entry. */
  ref: string;
  origin: string;
  origin_url?: string;
  scope: 'system' | 'user';
  [unknown: string]: unknown;
}

export interface AppsSection {
  apt?: string[];
  apt_sources?: AptSource[];
  snap?: SnapEntry[];
  flatpak?: FlatpakEntry[];
  kpkg?: string[];
  [unknown: string]: unknown;
}

export interface RepoEntry {
  slug: string;
  /** Where to clone from; absent for a repo that exists only as its bundle. */
  url?: string;
  /** `~/…` or absolute. Key of the entry. */
  path: string;
  branch: string;
  /** A git bundle of the repo (work not on the remote), stored as a blob (version 1). */
  bundle?: BlobRef;
  /** The bundle as a data v2 tree (version 2): its tree root, the nonce of its key, the packs it uses. */
  bundle_tree?: BlobRef;
  bundle_tree_nonce?: string;
  bundle_packs?: BlobRef[];
  bundle_size?: number;
  dirty?: boolean;
  [unknown: string]: unknown;
}

export interface SecretEntry {
  path: string;
  /** Octal file mode as a string, e.g. `"0600"`. */
  mode: string;
  /** `file` (default): the sealed bytes are the file; `tar`: a tar of a folder. */
  type?: 'file' | 'tar';
  /** Base64 of libsodium `crypto_box_seal` output. */
  sealed: string;
  [unknown: string]: unknown;
}

/** A folder in a version 1 manifest: one zstd-compressed tar. */
export interface FileEntryV1 {
  /** `~/…` or absolute. Key of the entry. */
  local_path: string;
  /** Address of the stored `.tar.zst`. */
  blob: BlobRef;
  /** Lowercase hex sha256 of the uncompressed tar. */
  sha256: string;
  /** Bytes of the uncompressed tar. */
  size: number;
  /** Bytes of the stored blob. */
  stored_size?: number;
  tree?: undefined;
  [unknown: string]: unknown;
}

/** A folder in a version 2 manifest: a chunked, encrypted tree (docs/manifest.md, data v2). */
export interface FileEntryV2 {
  local_path: string;
  /** Address of the folder's tree root blob. */
  tree: BlobRef;
  /** base64 of the 16-byte nonce the tree key derives from. */
  tree_nonce: string;
  /** Every pack the folder's trees reference. */
  packs: BlobRef[];
  /** Bytes of the folder's regular files. */
  size: number;
  /** Number of files (regular files, links). */
  files: number;
  blob?: undefined;
  [unknown: string]: unknown;
}

export type FileEntry = FileEntryV1 | FileEntryV2;

export const isV2Files = (e: FileEntry): e is FileEntryV2 => e.tree !== undefined;

/** The blobs a repository is restored from: its data v2 bundle's tree root and packs, or its version 1 bundle (none for a clone of its url). */
export const repoBundleBlobs = (r: RepoEntry): BlobRef[] => (r.bundle_tree ? [r.bundle_tree, ...(r.bundle_packs ?? [])] : r.bundle ? [r.bundle] : []);

export interface SkipsSection {
  patterns?: string[];
  [unknown: string]: unknown;
}

/** What a delta removes from its parent, by entry key. */
export interface RemovedSection {
  /** Keys of `[system]`. */
  system?: string[];
  /** schema → keys of `system.gsettings`. */
  gsettings?: Record<string, string[]>;
  apt?: string[];
  apt_sources?: string[];
  snap?: string[];
  flatpak?: string[];
  kpkg?: string[];
  repos?: string[];
  files?: string[];
  secrets?: string[];
  skips?: string[];
  [unknown: string]: unknown;
}

export interface Manifest {
  snapshot: SnapshotHeader;
  system?: SystemSection;
  apps?: AppsSection;
  repos?: { entry?: RepoEntry[]; [unknown: string]: unknown };
  secrets?: Record<string, SecretEntry>;
  files?: { entry?: FileEntry[]; [unknown: string]: unknown };
  skips?: SkipsSection;
  removed?: RemovedSection;
}

/** The sections a manifest may have; any other top-level key is an error. */
export const SECTIONS = ['snapshot', 'system', 'apps', 'repos', 'secrets', 'files', 'skips', 'removed'] as const;
