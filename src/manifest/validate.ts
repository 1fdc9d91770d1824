/**
 * Field-by-field validation of a parsed manifest. Pure: takes plain data,
 * returns the typed Manifest or throws `InvalidField` with the field path;
 * parse.ts turns that into a ManifestParseError with file:line:column.
 * Unknown keys inside known sections are left alone (forward compatibility);
 * an unknown top-level section is an error.
 */
import { KEYED_LISTS, isTable, type Table } from './keyed-lists.ts';
import { SECTIONS, type Manifest } from './types.ts';
import { CodedError } from '../util/coded-error.ts';

export type PathSegment = string | number;

/** A field that is not valid (code `manifest_parse`); parse.ts adds the file and the position. */
export class InvalidField extends CodedError {
  override name = 'InvalidField';
  constructor(readonly path: PathSegment[], readonly reason: string) {
    super('manifest_parse', reason, { path });
  }
}

const HEX64 = /^[0-9a-f]{64}$/;
const BLOB_REF = /^sha256:[0-9a-f]{64}$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const HOST_LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
const TIMEZONE = /^[A-Za-z0-9_+-]+(?:\/[A-Za-z0-9_+-]+)*$/;
const LOCALE = /^(?:C|POSIX|[a-z]{2,3}(?:_[A-Z]{2})?)(?:\.[A-Za-z0-9-]+)?(?:@[A-Za-z0-9]+)?$/;
const XKB_LAYOUT = /^[a-z0-9_-]+(?:\([A-Za-z0-9_-]*\))?(?:,[a-z0-9_-]+(?:\([A-Za-z0-9_-]*\))?)*$/;
const DEB_PACKAGE = /^[a-z0-9][a-z0-9+.-]+(?::[a-z0-9-]+)?$/;
const SNAP_NAME = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/;
const FLATPAK_REF = /^(?:app|runtime)\/[A-Za-z0-9._-]+\/[A-Za-z0-9_-]+\/[A-Za-z0-9._-]+$/;
const SLUG = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;
const MODE = /^0[0-7]{3}$/;
const CONTROL = /[\u0000-\u001f\u007f]/;
const REPO_URL = /^(?:https?:\/\/|ssh:\/\/|git:\/\/|file:\/\/|kdrive:\/\/|[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:)\S+$/;

/** `~/…` or `/…`, no empty, `.` or `..` component, no NUL, no trailing slash. */
export function pathProblem(p: string): string | undefined {
  if (p.length === 0 || p.length > 4096) return 'expected a path of 1 to 4096 characters';
  if (p.includes('\0')) return 'path contains a NUL character';
  let rest: string;
  if (p.startsWith('~/')) rest = p.slice(2);
  else if (p.startsWith('/')) rest = p.slice(1);
  else return `path must start with "~/" or "/", got ${JSON.stringify(p)}`;
  if (rest === '') return 'path names no file or folder';
  for (const part of rest.split('/')) {
    if (part === '') return 'path has an empty component (// or a trailing /)';
    if (part === '.' || part === '..') return `path has a "${part}" component`;
  }
  return undefined;
}

export function isHostname(h: string): boolean {
  if (h.length < 1 || h.length > 253) return false;
  return h.split('.').every((l) => HOST_LABEL.test(l));
}

export function isRfc3339(s: string): boolean {
  const m = RFC3339.exec(s);
  if (!m) return false;
  const [, y, mo, d, h, mi, se] = m.map(Number) as number[];
  if (mo! < 1 || mo! > 12 || h! > 23 || mi! > 59 || se! > 60) return false;
  const days = new Date(Date.UTC(y!, mo!, 0)).getUTCDate();
  return d! >= 1 && d! <= days && !Number.isNaN(Date.parse(s));
}

function base64Bytes(s: string): number | undefined {
  if (!BASE64.test(s)) return undefined;
  return (s.length / 4) * 3 - (s.endsWith('==') ? 2 : s.endsWith('=') ? 1 : 0);
}

/** A tiny schema vocabulary: each check throws InvalidField at its path. */
type Check = (v: unknown, path: PathSegment[]) => void;

const fail = (path: PathSegment[], reason: string): never => {
  throw new InvalidField(path, reason);
};

const typeName = (v: unknown) => (Array.isArray(v) ? 'array' : isTable(v) ? 'table' : typeof v);

const str =
  (pattern?: RegExp, what?: string): Check =>
  (v, path) => {
    if (typeof v !== 'string') fail(path, `expected string, got ${typeName(v)}`);
    if ((v as string).length === 0) fail(path, 'must not be empty');
    if (pattern && !pattern.test(v as string)) fail(path, `expected ${what ?? `a match of ${pattern}`}, got ${JSON.stringify(v)}`);
  };
const textWith =
  (pred: (s: string) => string | undefined): Check =>
  (v, path) => {
    if (typeof v !== 'string') fail(path, `expected string, got ${typeName(v)}`);
    const problem = pred(v as string);
    if (problem) fail(path, problem);
  };
const plainText = textWith((s) => (s.length === 0 ? 'must not be empty' : CONTROL.test(s) ? 'must not contain control characters' : undefined));
const path_ = textWith(pathProblem);
const absolutePath = textWith((s) => (s.startsWith('/') ? pathProblem(s) : `expected an absolute path, got ${JSON.stringify(s)}`));
const hex64 = str(HEX64, '64 lowercase hex digits (sha256)');
const blobRef = str(BLOB_REF, 'a blob address "sha256:" + 64 lowercase hex digits');
const bool: Check = (v, path) => {
  if (typeof v !== 'boolean') fail(path, `expected boolean, got ${typeName(v)}`);
};
const count: Check = (v, path) => {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) fail(path, `expected a non-negative integer, got ${JSON.stringify(v)}`);
};
const oneOf =
  (...values: string[]): Check =>
  (v, path) => {
    if (typeof v !== 'string' || !values.includes(v)) fail(path, `expected one of ${values.map((x) => JSON.stringify(x)).join(', ')}, got ${JSON.stringify(v)}`);
  };
const base64Of =
  (bytes: number | { min: number }): Check =>
  (v, path) => {
    if (typeof v !== 'string') fail(path, `expected base64 string, got ${typeName(v)}`);
    const n = base64Bytes(v as string);
    if (n === undefined) fail(path, 'expected standard base64 (RFC 4648, padded)');
    if (typeof bytes === 'number' ? n !== bytes : n! < bytes.min)
      fail(path, `expected base64 of ${typeof bytes === 'number' ? bytes : `at least ${bytes.min}`} bytes, got ${n}`);
  };

interface Field {
  check: Check;
  required?: boolean;
}
/** A table with known fields; other keys are kept unvalidated. */
const table =
  (fields: Record<string, Field>): Check =>
  (v, path) => {
    if (!isTable(v)) fail(path, `expected table, got ${typeName(v)}`);
    const t = v as Table;
    for (const [k, f] of Object.entries(fields)) {
      if (t[k] === undefined) {
        if (f.required) fail([...path, k], 'required field is missing');
      } else f.check(t[k], [...path, k]);
    }
  };
const arrayOf =
  (item: Check): Check =>
  (v, path) => {
    if (!Array.isArray(v)) fail(path, `expected array, got ${typeName(v)}`);
    (v as unknown[]).forEach((e, i) => item(e, [...path, i]));
  };
const mapOf =
  (keyPattern: RegExp, value: Check): Check =>
  (v, path) => {
    if (!isTable(v)) fail(path, `expected table, got ${typeName(v)}`);
    for (const [k, x] of Object.entries(v as Table)) {
      if (!keyPattern.test(k)) fail([...path, k], `invalid name ${JSON.stringify(k)}`);
      value(x, [...path, k]);
    }
  };
const req = (check: Check): Field => ({ check, required: true });
const opt = (check: Check): Field => ({ check });

const hostname = textWith((s) => (isHostname(s) ? undefined : `expected an RFC 1123 hostname, got ${JSON.stringify(s)}`));
const rfc3339 = textWith((s) => (isRfc3339(s) ? undefined : `expected an RFC 3339 date-time string with offset, got ${JSON.stringify(s)}`));
const version: Check = (v, path) => {
  if (v !== 1 && v !== 2) fail(path, `unsupported version ${JSON.stringify(v)}; this reader knows versions 1 and 2`);
};

const snapshot = table({
  version: req(version),
  hostname: req(hostname),
  created_at: req(rfc3339),
  koder_user_id: req(textWith((s) => (s.length === 0 || s.length > 256 ? 'expected 1 to 256 characters' : CONTROL.test(s) ? 'must not contain control characters' : undefined))),
  parent: opt(hex64),
  sig: opt(table({ ed25519: req(base64Of(64)), key_id: req(hex64) })),
});

const system = table({
  timezone: opt(str(TIMEZONE, 'an IANA time zone name like "America/Sao_Paulo"')),
  locale: opt(str(LOCALE, 'a locale like "pt_BR.UTF-8"')),
  keyboard: opt(str(XKB_LAYOUT, 'an XKB layout like "br" or "us(intl)"')),
  keyboard_model: opt(plainText),
  keyboard_options: opt(plainText),
  gpu_driver: opt(str(/^[A-Za-z0-9._-]+$/, 'a driver name like "nvidia"')),
  gsettings: opt(mapOf(/^[A-Za-z0-9._-]+$/, mapOf(/^[A-Za-z0-9_-]+$/, (v, p) => {
    if (typeof v !== 'string') fail(p, `expected string (GVariant text), got ${typeName(v)}`);
  }))),
});

const apps = table({
  apt: opt(arrayOf(str(DEB_PACKAGE, 'a Debian package name'))),
  apt_sources: opt(arrayOf(table({
    name: req(str(NAME, 'a file stem of letters, digits, "_", "." or "-"')),
    deb822: req(textWith((s) => (s.trim() === '' ? 'must not be empty' : undefined))),
    keyring: opt(blobRef),
    keyring_path: opt(absolutePath),
  }))),
  snap: opt(arrayOf(table({ name: req(str(SNAP_NAME, 'a snap name')), channel: req(plainText), classic: opt(bool) }))),
  flatpak: opt(arrayOf(table({
    ref: req(str(FLATPAK_REF, 'a flatpak ref like "app/org.gnome.Boxes/x86_64/stable"')),
    origin: req(str(NAME, 'a remote name')),
    origin_url: opt(plainText),
    scope: req(oneOf('system', 'user')),
  }))),
  kpkg: opt(arrayOf(str(SLUG, 'a kpkg slug'))),
});

const repoEntry: Check = (v, path) => {
  table({
    slug: req(plainText),
    url: opt(str(REPO_URL, 'a git URL (https://, ssh://, git@host:path, file://, kdrive://)')),
    path: req(path_),
    branch: req(textWith((s) => (s === '' || /[\s~^:?*[\\\u0000-\u001f\u007f]|\.\.|^\/|\/$|\.lock$|@\{/.test(s) ? `invalid branch name ${JSON.stringify(s)}` : undefined))),
    bundle: opt(blobRef),
    bundle_tree: opt(blobRef),
    bundle_tree_nonce: opt(base64Of(16)),
    bundle_packs: opt(arrayOf(blobRef)),
    bundle_size: opt(count),
    dirty: opt(bool),
  })(v, path);
  const t = v as Table;
  if (t.url === undefined && t.bundle === undefined && t.bundle_tree === undefined) fail(path, 'a repo needs a url, a bundle, or both');
  if (t.bundle !== undefined && t.bundle_tree !== undefined) fail([...path, 'bundle_tree'], 'a repo has a bundle blob (version 1) or a bundle tree (version 2), not both');
  if (t.bundle_tree !== undefined) {
    if (t.bundle_tree_nonce === undefined) fail([...path, 'bundle_tree_nonce'], 'required with bundle_tree');
    if (t.bundle_packs === undefined) fail([...path, 'bundle_packs'], 'required with bundle_tree');
  }
};

const repos = table({ entry: opt(arrayOf(repoEntry)) });
const fileEntryV1 = table({ local_path: req(path_), blob: req(blobRef), sha256: req(hex64), size: req(count), stored_size: opt(count) });
const fileEntryV2 = table({ local_path: req(path_), tree: req(blobRef), tree_nonce: req(base64Of(16)), packs: req(arrayOf(blobRef)), size: req(count), files: req(count) });
const fileEntry: Check = (v, path) => {
  if (isTable(v) && v.tree !== undefined) {
    if (v.blob !== undefined) fail([...path, 'blob'], 'a folder is a blob (version 1) or a tree (version 2), not both');
    fileEntryV2(v, path);
  } else fileEntryV1(v, path);
};
const files = table({ entry: opt(arrayOf(fileEntry)) });

/** Data v2 fields only in version 2 manifests, version 1 fields only in version 1 ones. */
function checkDataVersion(doc: Table): void {
  const v = (doc.snapshot as Table).version;
  const fe = isTable(doc.files) && Array.isArray(doc.files.entry) ? (doc.files.entry as Table[]) : [];
  fe.forEach((e, i) => {
    if (v === 1 && e.tree !== undefined) fail(['files', 'entry', i, 'tree'], 'a version 1 manifest stores folders as blobs; trees need version 2');
    if (v === 2 && e.blob !== undefined) fail(['files', 'entry', i, 'blob'], 'a version 2 manifest stores folders as trees, not blobs');
  });
  const re = isTable(doc.repos) && Array.isArray(doc.repos.entry) ? (doc.repos.entry as Table[]) : [];
  re.forEach((e, i) => {
    if (v === 1 && e.bundle_tree !== undefined) fail(['repos', 'entry', i, 'bundle_tree'], 'a version 1 manifest stores bundles as blobs; trees need version 2');
    if (v === 2 && e.bundle !== undefined) fail(['repos', 'entry', i, 'bundle'], 'a version 2 manifest stores bundles as trees, not blobs');
  });
}
// crypto_box_seal adds 48 bytes (ephemeral public key + MAC).
const secrets = mapOf(NAME, table({ path: req(path_), mode: req(str(MODE, 'an octal mode string like "0600"')), type: opt(oneOf('file', 'tar')), sealed: req(base64Of({ min: 48 })) }));
const skips = table({ patterns: opt(arrayOf(plainText)) });

const names = arrayOf(plainText);
const removed = table({
  system: opt(names),
  gsettings: opt(mapOf(/^[A-Za-z0-9._-]+$/, names)),
  ...Object.fromEntries(KEYED_LISTS.map((kl) => [kl.removed, opt(names)])),
  secrets: opt(names),
});

const SECTION_CHECKS: Record<(typeof SECTIONS)[number], Check> = { snapshot, system, apps, repos, secrets, files, skips, removed };

/** Entries of one keyed list must have distinct keys. */
function checkUniqueKeys(doc: Table) {
  for (const kl of KEYED_LISTS) {
    const section = doc[kl.section];
    const list = isTable(section) ? section[kl.list] : undefined;
    if (!Array.isArray(list)) continue;
    const seen = new Map<string, number>();
    list.forEach((e, i) => {
      const k = kl.keyOf(e)!;
      const first = seen.get(k);
      if (first !== undefined) fail([kl.section, kl.list, i], `duplicate entry ${JSON.stringify(k)} (first at index ${first})`);
      seen.set(k, i);
    });
  }
}

/** Validates plain data (from TOML) as a manifest. */
export function validateManifest(doc: Table): Manifest {
  for (const key of Object.keys(doc)) {
    if (!(SECTIONS as readonly string[]).includes(key)) fail([key], `unknown section [${key}] (known: ${SECTIONS.join(', ')})`);
  }
  if (doc.snapshot === undefined) fail(['snapshot'], 'required section [snapshot] is missing');
  for (const s of SECTIONS) if (doc[s] !== undefined) SECTION_CHECKS[s](doc[s], [s]);
  checkUniqueKeys(doc);
  checkDataVersion(doc);
  if (doc.removed !== undefined && (doc.snapshot as Table).parent === undefined) {
    fail(['removed'], 'a full snapshot (no snapshot.parent) cannot have a [removed] section');
  }
  return doc as unknown as Manifest;
}
