/**
 * A folder's tree root: one small blob per captured folder (or repository
 * bundle), named by the manifest entry (`tree = "sha256:…"`), that says
 * where the folder's tree objects are. Tree objects reference their
 * sub-folders by id and key only — never by location — so an unchanged
 * sub-folder is the same object wherever it was stored; the root carries
 * the locations of every tree object of the folder.
 *
 *   blob    = "KSR2" ‖ sealed(tree key, payload, AAD "KSR2")   (chunk-crypto.ts sealing, codec byte + zstd)
 *   payload = JSON {"v":2,"root":[ID,KEY],"trees":[[ID,PACK,OFFSET,LENGTH,RAW]…],"packs":[PACK_HEX…],
 *                   "files":N,"dirs":N,"bytes":N}
 *
 * The tree key is HMAC-SHA256(treeKeyRoot, nonce) for the owner (keys.ts;
 * the nonce is the entry's `tree_nonce`) and is what a share hands over:
 * with it, a recipient reads this folder's trees and, through their chunk
 * keys, its files — nothing else of the account.
 */
import { CodedError } from '../util/coded-error.ts';
import { chunkPayload, openPayload, sealPayload, type Zstd } from './chunk-crypto.ts';
import type { ObjectRef } from './tree-object.ts';

const MAGIC = Buffer.from('KSR2', 'latin1');
const AAD = MAGIC;
const HEX64 = /^[0-9a-f]{64}$/;

export interface TreeLocation {
  pack: string;
  offset: number;
  length: number;
  raw: number;
}

export interface TreeRoot {
  root: ObjectRef;
  /** Location of every tree object of the folder, by id hex. */
  trees: Map<string, TreeLocation>;
  files: number;
  dirs: number;
  /** Bytes of the folder's regular files. */
  bytes: number;
}

/** `zstd` undefined: stored raw; `nonce`: for test vectors only. */
export function encodeRootBlob(treeKey: Uint8Array, r: TreeRoot, zstd: Zstd | undefined, nonce?: Uint8Array): Buffer {
  const packs = [...new Set([...r.trees.values()].map((l) => l.pack))].sort();
  const index = new Map(packs.map((p, i) => [p, i]));
  const trees = [...r.trees.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([id, l]) => [id, index.get(l.pack)!, l.offset, l.length, l.raw]);
  const json = JSON.stringify({ v: 2, root: [r.root.id.toString('hex'), r.root.key.toString('hex')], trees, packs, files: r.files, dirs: r.dirs, bytes: r.bytes });
  return Buffer.concat([MAGIC, sealPayload(treeKey, AAD, chunkPayload(Buffer.from(json, 'utf8'), zstd), nonce)]);
}

const MAX_ROOT_PLAIN = 256 * 1024 * 1024;

export function decodeRootBlob(treeKey: Uint8Array, blob: Buffer, zstd: Zstd, where: string): TreeRoot {
  const fail = (why: string): never => {
    throw new CodedError('tree_format', `${where}: ${why}`);
  };
  if (blob.length < 4 || !blob.subarray(0, 4).equals(MAGIC)) fail('not a tree root (no KSR2 header)');
  const payload = openPayload(treeKey, AAD, blob.subarray(4));
  if (!payload || payload.length === 0) return fail('does not authenticate (altered, or the wrong tree key)');
  let plain: Buffer;
  if (payload[0] === 0) plain = payload.subarray(1);
  else if (payload[0] === 1) {
    const body = payload.subarray(1);
    // The size is unknown: grow until zstd fits, bounded.
    let size = Math.max(64 * 1024, body.length * 8);
    for (;;) {
      const out = Buffer.allocUnsafe(size);
      try {
        plain = out.subarray(0, zstd.decompress(out, body));
        break;
      } catch (e) {
        if (size >= MAX_ROOT_PLAIN) return fail(`zstd: ${(e as Error).message}`);
        size = Math.min(size * 4, MAX_ROOT_PLAIN);
      }
    }
  } else return fail(`unknown codec ${payload[0]}`);
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(plain)) as Record<string, unknown>;
  } catch (e) {
    return fail(`not JSON (${(e as Error).message})`);
  }
  if (typeof o !== 'object' || o === null || o.v !== 2) fail('not a version 2 tree root');
  const count = (v: unknown, what: string) => (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : fail(`${what} is not a count`));
  const hex32 = (v: unknown, what: string) => (typeof v === 'string' && HEX64.test(v) ? v : fail(`${what} is not 64 hex digits`));
  const root = o.root;
  if (!Array.isArray(root) || root.length !== 2) fail('root is not [id, key]');
  const packs = Array.isArray(o.packs) ? o.packs.map((p, i) => hex32(p, `packs[${i}]`)) : fail('packs is not an array');
  const trees = new Map<string, TreeLocation>();
  if (!Array.isArray(o.trees)) fail('trees is not an array');
  for (const [i, t] of (o.trees as unknown[]).entries()) {
    if (!Array.isArray(t) || t.length !== 5) fail(`trees[${i}] is not [id, pack, offset, length, raw]`);
    const [id, p, off, len, raw] = t as unknown[];
    const pi = count(p, `trees[${i}] pack`);
    if (pi >= packs.length) fail(`trees[${i}] names pack ${pi} of ${packs.length}`);
    trees.set(hex32(id, `trees[${i}] id`), { pack: packs[pi]!, offset: count(off, `trees[${i}] offset`), length: count(len, `trees[${i}] length`), raw: count(raw, `trees[${i}] raw`) });
  }
  const r = root as unknown[];
  return {
    root: { id: Buffer.from(hex32(r[0], 'root id'), 'hex'), key: Buffer.from(hex32(r[1], 'root key'), 'hex') },
    trees,
    files: count(o.files, 'files'),
    dirs: count(o.dirs, 'dirs'),
    bytes: count(o.bytes, 'bytes'),
  };
}
