/**
 * Reading a git bundle (what `git bundle create` writes, and what capture
 * stores as a repo's `bundle` blob) without git:
 *
 *     # v2 git bundle                 (or "# v3 git bundle" + "@key=value" capability lines)
 *     -OID [comment]                  prerequisites: commits the bundle does not carry
 *     OID REFNAME                     refs
 *     <empty line>
 *     PACK…                           a packfile
 *
 * `splitBundle` streams the bundle once: the header is parsed in memory
 * (bounded), the packfile is written straight to a file. Only SHA-1
 * repositories are supported (isomorphic-git is SHA-1 only).
 */
import { constants as fsc } from 'node:fs';
import { open } from 'node:fs/promises';
import { CodedError } from '../util/coded-error.ts';

export interface BundleRef {
  oid: string;
  name: string;
}

export interface BundleHeader {
  version: 2 | 3;
  /** v3 `@key=value` capabilities. */
  capabilities: Record<string, string>;
  prerequisites: Array<{ oid: string; comment: string }>;
  refs: BundleRef[];
}

export class BundleFormatError extends CodedError {
  override name = 'BundleFormatError';
  declare readonly code: 'bundle_format';
  constructor(message: string) {
    super('bundle_format', `git bundle: ${message}`);
  }
}

const OID = /^[0-9a-f]{40}$/;

/**
 * A ref name we are willing to write into `.git/` (git check-ref-format,
 * plus: under `refs/`, printable ASCII only). `HEAD` is not a ref to write.
 */
export function isSafeRefName(name: string): boolean {
  if (!name.startsWith('refs/') || name.length > 1024) return false;
  if (!/^[\x21-\x7e]+$/.test(name)) return false; // no control chars, space or non-ASCII
  if (/[~^:?*[\\]/.test(name) || name.includes('..') || name.includes('@{') || name.includes('//')) return false;
  if (name.endsWith('/') || name.endsWith('.')) return false;
  return name.split('/').every((c) => c !== '' && !c.startsWith('.') && !c.endsWith('.lock'));
}

/** Parses the header text (up to, not including, the empty line). */
export function parseBundleHeader(text: string): BundleHeader {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  const first = lines.shift();
  let version: 2 | 3;
  if (first === '# v2 git bundle') version = 2;
  else if (first === '# v3 git bundle') version = 3;
  else throw new BundleFormatError(`not a v2/v3 bundle (first line ${JSON.stringify(first?.slice(0, 40))})`);
  const capabilities: Record<string, string> = {};
  const prerequisites: BundleHeader['prerequisites'] = [];
  const refs: BundleRef[] = [];
  for (const line of lines) {
    if (version === 3 && line.startsWith('@')) {
      if (refs.length || prerequisites.length) throw new BundleFormatError('capability after refs');
      const eq = line.indexOf('=');
      const key = eq === -1 ? line.slice(1) : line.slice(1, eq);
      capabilities[key] = eq === -1 ? '' : line.slice(eq + 1);
      continue;
    }
    if (line.startsWith('-')) {
      const sp = line.indexOf(' ');
      const oid = sp === -1 ? line.slice(1) : line.slice(1, sp);
      if (!OID.test(oid)) throw new BundleFormatError(`bad prerequisite line ${JSON.stringify(line.slice(0, 80))}`);
      prerequisites.push({ oid, comment: sp === -1 ? '' : line.slice(sp + 1) });
      continue;
    }
    const m = /^([0-9a-f]{40}) (\S+)$/.exec(line);
    if (!m) throw new BundleFormatError(`bad ref line ${JSON.stringify(line.slice(0, 80))}`);
    refs.push({ oid: m[1]!, name: m[2]! });
  }
  const format = capabilities['object-format'];
  if (format !== undefined && format !== 'sha1') throw new BundleFormatError(`object format ${format} is not supported`);
  for (const k of Object.keys(capabilities)) {
    if (k !== 'object-format') throw new BundleFormatError(`unsupported capability @${k} (e.g. a partial bundle made with --filter)`);
  }
  if (refs.length === 0) throw new BundleFormatError('no refs');
  return { version, capabilities, prerequisites, refs };
}

export interface SplitBundleResult {
  header: BundleHeader;
  /** Bytes of the whole bundle read. */
  bytes: number;
  /** Bytes of the packfile written. */
  packBytes: number;
  /** The packfile's trailing SHA-1 checksum (hex): git names the pack after it. */
  packChecksum: string;
}

/**
 * Streams a bundle: parses its header and writes its packfile to `packPath`
 * (created, must not exist, mode 0444 as git's packs). The caller removes
 * the file on failure. `onBytes(total)` reports bundle bytes read so far.
 */
export async function splitBundle(
  source: AsyncIterable<Uint8Array>,
  packPath: string,
  opts: { maxHeaderBytes?: number; onBytes?: (total: number) => void } = {},
): Promise<SplitBundleResult> {
  const maxHeader = opts.maxHeaderBytes ?? 16 * 1024 * 1024;
  let headerBuf: Buffer = Buffer.alloc(0);
  let header: BundleHeader | undefined;
  let bytes = 0;
  let packBytes = 0;
  let tail: Buffer = Buffer.alloc(0);
  let magic: Buffer = Buffer.alloc(0);
  const fh = await open(packPath, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | fsc.O_NOFOLLOW, 0o444);
  try {
    const writePack = async (b: Buffer) => {
      if (b.length === 0) return;
      if (magic.length < 4) {
        magic = Buffer.concat([magic, b.subarray(0, 4 - magic.length)]);
        if (!Buffer.from('PACK', 'latin1').subarray(0, magic.length).equals(magic)) {
          throw new BundleFormatError('the data after the header is not a packfile');
        }
      }
      let off = 0;
      while (off < b.length) {
        const { bytesWritten } = await fh.write(b, off, b.length - off, packBytes + off);
        off += bytesWritten;
      }
      packBytes += b.length;
      tail = Buffer.concat([tail, b]).subarray(-20);
    };
    for await (const chunk of source) {
      const c = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      bytes += c.length;
      opts.onBytes?.(bytes);
      if (header) {
        await writePack(c);
        continue;
      }
      const searchFrom = Math.max(0, headerBuf.length - 1);
      headerBuf = Buffer.concat([headerBuf, c]);
      const end = headerBuf.indexOf('\n\n', searchFrom, 'latin1');
      if (end === -1) {
        if (headerBuf.length > maxHeader) throw new BundleFormatError(`header longer than ${maxHeader} bytes`);
        continue;
      }
      let text: string;
      try {
        text = new TextDecoder('utf-8', { fatal: true }).decode(headerBuf.subarray(0, end + 1));
      } catch {
        throw new BundleFormatError('header is not UTF-8');
      }
      header = parseBundleHeader(text);
      const rest = headerBuf.subarray(end + 2);
      headerBuf = Buffer.alloc(0);
      await writePack(rest);
    }
    if (!header) throw new BundleFormatError('truncated header');
    if (packBytes < 32) throw new BundleFormatError('truncated packfile');
    await fh.sync();
    return { header, bytes, packBytes, packChecksum: tail.toString('hex') };
  } finally {
    await fh.close();
  }
}
