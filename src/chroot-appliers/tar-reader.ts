/**
 * A small streaming tar reader: POSIX ustar and pax (extended 'x'/'X' and
 * global 'g' headers), GNU (long names 'L', long link names 'K', dumpdirs
 * 'D', sparse files 'S' and pax 0.0/0.1/1.0, base-256 numbers), v7.
 * GNU volume labels ('V') and Solaris ACL records ('A') describe the
 * archive or the next entry and are skipped.
 *
 * Names are bytes: `path` and `linkpath` are what the archive holds (file
 * names are bytes on Linux: a Latin-1 or EUC-JP name is kept as it is);
 * `name` and `linkname` are the same decoded as UTF-8 for messages only.
 * As in GNU tar, a name ends at its first NUL, whatever field or record it
 * comes from.
 *
 * Pull-based and zero-copy for file data: `readTar(source)` yields one entry
 * at a time; an entry's `body()` yields subarrays of the source's chunks
 * (valid until the consumer asks for more: a source may reuse the memory), and
 * the next entry is only read when the consumer asks for it, so memory stays
 * at a couple of source chunks whatever the archive or file size. Unread body
 * bytes are skipped. Metadata we keep (pax values we act on, GNU long names,
 * sparse maps) is bounded by `maxMetaBytes`; pax values we do not act on
 * (xattrs, ACLs, vendor keys) are skipped unread, whatever their size.
 * After the end-of-archive marker the rest of the source is drained (so a
 * hash computed over the source covers all of it); an archive that ends
 * after a complete entry without the marker is accepted, as GNU tar, Go
 * and libarchive do.
 */
import { ByteSource } from './byte-source.ts';
import { TarFormatError } from './tar-errors.ts';
import { BLOCK, checksumOk, isZeroBlock, parseHeaderBlock, type HeaderBlock } from './tar-header.ts';
import { readPaxRecords, type PaxRecord } from './tar-pax.ts';
import { checkSparse, oldGnuSparseExtension, oldGnuSparseHeader, paxSparse00, paxSparse01, readSparse10Map, type SparseRegion } from './tar-sparse.ts';

export type TarEntryType =
  | 'file'
  | 'hardlink'
  | 'symlink'
  | 'character-device'
  | 'block-device'
  | 'directory'
  | 'fifo'
  | 'unsupported';

export interface TarHeader {
  /** Entry path as stored (prefix/name, GNU long name, pax path or GNU.sparse.name), as bytes. */
  path: Buffer;
  /** `path` decoded as UTF-8 (invalid bytes as U+FFFD): for messages, never to name a file. */
  name: string;
  /** Link target as bytes (hard link: an entry path; symlink: the target). */
  linkpath: Buffer;
  /** `linkpath` decoded as UTF-8, for messages. */
  linkname: string;
  type: TarEntryType;
  /** The raw typeflag character ('0', '5', 'S', ...). */
  typeflag: string;
  /** Permission bits including setuid/setgid/sticky (mode & 0o7777). */
  mode: number;
  uid: number;
  gid: number;
  /** Size of the file (of a sparse file: its real size, holes included); 0 for links, dirs, devices. */
  size: number;
  /** Modification time, seconds since the epoch (negative before 1970; may be fractional from pax). */
  mtime: number;
  uname: string;
  gname: string;
  devmajor: number;
  devminor: number;
  /** The pax records that applied to this entry (global + per-entry) among those the reader acts on. */
  pax: Record<string, string>;
  /** A sparse file's data regions: `body()` yields their bytes in order; the rest of the file is holes. */
  sparse?: SparseRegion[];
}

export interface TarEntry {
  header: TarHeader;
  /** The entry's data, in source-sized chunks (subarrays; do not keep them
   *  past the write that consumes them if memory matters). Readable once. */
  body(): AsyncGenerator<Buffer, void, undefined>;
}

export interface ReadTarOptions {
  /** Maximum size of a pax value we act on, a GNU long name/link record, or a sparse map (default 1 MiB). */
  maxMetaBytes?: number;
}

/** pax keys the reader acts on; every other record is skipped unread. */
const wantedPax = (k: string) =>
  k === 'path' || k === 'linkpath' || k === 'size' || k === 'mtime' || k === 'uid' || k === 'gid' || k === 'uname' || k === 'gname' || k.startsWith('GNU.sparse.');

function typeOf(flag: string): TarEntryType {
  switch (flag) {
    case '0':
    case '\0':
    case '7':
    case 'S':
      return 'file';
    case '1':
      return 'hardlink';
    case '2':
      return 'symlink';
    case '3':
      return 'character-device';
    case '4':
      return 'block-device';
    case '5':
    case 'D': // GNU dumpdir: a directory whose data lists its contents at dump time
      return 'directory';
    case '6':
      return 'fifo';
    default:
      return 'unsupported';
  }
}

/** Bytes up to the first NUL (GNU tar reads names as C strings). */
const cstring = (b: Buffer): Buffer => {
  const nul = b.indexOf(0);
  return nul === -1 ? b : b.subarray(0, nul);
};

/** A pax decimal (size, uid): digits only. */
function paxInteger(v: Buffer, what: string, offset: number): number {
  const s = v.toString('latin1');
  if (!/^[0-9]+$/.test(s) || !Number.isSafeInteger(Number(s))) throw new TarFormatError('bad-pax', `bad pax ${what}: ${JSON.stringify(s.slice(0, 40))}`, offset);
  return Number(s);
}

/**
 * A pax time: as GNU tar, the leading `[-]digits[.digits]` and nothing
 * after (`1748089464.951928467a` is 1748089464.951928467); no number at all
 * is an error.
 */
function paxTime(v: Buffer, offset: number): number {
  const m = /^-?[0-9]+(\.[0-9]*)?/.exec(v.toString('latin1'));
  const n = m ? Number(m[0]) : NaN;
  if (!Number.isFinite(n)) throw new TarFormatError('bad-pax', `bad pax mtime: ${JSON.stringify(v.toString('latin1').slice(0, 40))}`, offset);
  return n;
}

/**
 * Reads a tar stream entry by entry. The consumer must finish with an entry
 * (or ignore its body) before asking for the next; unread data is skipped.
 */
export async function* readTar(source: AsyncIterable<Uint8Array>, opts: ReadTarOptions = {}): AsyncGenerator<TarEntry, void, undefined> {
  const maxMeta = opts.maxMetaBytes ?? 1024 * 1024;
  const src = new ByteSource(source);
  const globalPax = new Map<string, Buffer>();
  let nextPax: PaxRecord[] = [];
  let longName: Buffer | undefined;
  let longLink: Buffer | undefined;

  const skipPadding = async (size: number, what: string, offset: number) => {
    const pad = (BLOCK - (size % BLOCK)) % BLOCK;
    if ((await src.skip(pad)) < pad) throw new TarFormatError('truncated', `truncated ${what}`, offset);
  };
  const readMeta = async (size: number, what: string, offset: number): Promise<Buffer> => {
    if (size > maxMeta) throw new TarFormatError('too-large', `${what} of ${size} bytes exceeds ${maxMeta}`, offset);
    const data = Buffer.from(await src.read(size)); // a copy: it outlives the source chunk
    if (data.length < size) throw new TarFormatError('truncated', `truncated ${what}`, offset);
    await skipPadding(size, what, offset);
    return data;
  };
  const skipData = async (size: number, what: string, offset: number) => {
    if ((await src.skip(size)) < size) throw new TarFormatError('truncated', `truncated ${what}`, offset);
    await skipPadding(size, what, offset);
  };

  for (;;) {
    const offset = src.position;
    // Copied: reading a pax record may move the source to its next chunk.
    const block = Buffer.from(await src.read(BLOCK));
    if (block.length === 0) return; // no end-of-archive marker: accepted (see the file header)
    if (block.length < BLOCK) throw new TarFormatError('truncated', 'truncated header', offset);
    if (isZeroBlock(block)) {
      // End of archive: a second zero block normally follows, then record padding.
      await src.drain();
      return;
    }
    if (!checksumOk(block, offset)) throw new TarFormatError('checksum', 'header checksum mismatch', offset);
    const h = parseHeaderBlock(block, offset);

    switch (h.typeflag) {
      case 'x':
      case 'X': // Solaris' name for the same
        // A second one before the entry replaces the first (GNU tar, Go).
        nextPax = await readPaxRecords(src, h.size, offset, wantedPax, maxMeta);
        await skipPadding(h.size, 'pax header', offset);
        continue;
      case 'g':
        // POSIX: an empty value deletes the key.
        for (const r of await readPaxRecords(src, h.size, offset, wantedPax, maxMeta)) {
          if (r.value.length === 0) globalPax.delete(r.key);
          else globalPax.set(r.key, r.value);
        }
        await skipPadding(h.size, 'pax global header', offset);
        continue;
      case 'L':
        longName = cstring(await readMeta(h.size, 'GNU long name', offset));
        continue;
      case 'K':
        longLink = cstring(await readMeta(h.size, 'GNU long link name', offset));
        continue;
      case 'V': // GNU volume label
      case 'A': // Solaris ACL of the entry that follows
        await skipData(h.size, `${h.typeflag} record`, offset);
        continue;
      default:
        break;
    }

    const pax = new Map(globalPax);
    for (const r of nextPax) {
      if (r.value.length === 0) pax.delete(r.key);
      else pax.set(r.key, r.value);
    }
    const entryPax = nextPax;
    nextPax = [];

    let path = h.name;
    if (longName !== undefined) path = longName;
    if (pax.has('path')) path = cstring(pax.get('path')!);
    if (pax.has('GNU.sparse.name')) path = cstring(pax.get('GNU.sparse.name')!);
    let linkpath = h.linkname;
    if (longLink !== undefined) linkpath = longLink;
    if (pax.has('linkpath')) linkpath = cstring(pax.get('linkpath')!);
    longName = undefined;
    longLink = undefined;

    let type = typeOf(h.typeflag);
    // Old (pre-POSIX) archives mark directories with a trailing slash only.
    if (type === 'file' && (h.typeflag === '0' || h.typeflag === '\0') && path[path.length - 1] === 0x2f) type = 'directory';

    let stored = pax.has('size') ? paxInteger(pax.get('size')!, 'size', offset) : h.size;
    const num = (k: string): number | undefined => {
      const v = pax.get(k);
      if (v === undefined) return undefined;
      const n = Number(v.toString('latin1'));
      return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
    };
    const header: TarHeader = {
      path,
      name: path.toString('utf8'),
      linkpath,
      linkname: linkpath.toString('utf8'),
      type,
      typeflag: h.typeflag,
      mode: h.mode,
      uid: num('uid') ?? h.uid,
      gid: num('gid') ?? h.gid,
      size: stored,
      mtime: pax.has('mtime') ? paxTime(pax.get('mtime')!, offset) : h.mtime,
      uname: (pax.get('uname') ?? h.uname).toString('utf8'),
      gname: (pax.get('gname') ?? h.gname).toString('utf8'),
      devmajor: h.devmajor,
      devminor: h.devminor,
      pax: Object.fromEntries([...pax].map(([k, v]) => [k, v.toString('utf8')])),
    };

    // The data that follows the header: POSIX has none after links,
    // directories and special files; a GNU dumpdir carries its listing.
    if (type !== 'file') stored = h.typeflag === 'D' ? stored : 0;
    if (type !== 'file') header.size = 0;
    let remaining = stored;
    if (type === 'file') {
      const sparse = await sparseOf(h, pax, entryPax, block, stored, offset);
      if (sparse) {
        remaining = stored - sparse.consumed;
        checkSparse(sparse.regions, sparse.realSize, remaining, offset);
        header.sparse = sparse.regions;
        header.size = sparse.realSize;
      }
    }

    let consumed = false;
    const entry: TarEntry = {
      header,
      body: async function* body() {
        if (consumed) throw new Error('tar entry body already read');
        consumed = true;
        while (remaining > 0) {
          const chunk = await src.readSome(remaining);
          if (chunk.length === 0) throw new TarFormatError('truncated', `truncated data of ${JSON.stringify(header.name)}`, offset);
          remaining -= chunk.length;
          yield chunk;
        }
      },
    };
    yield entry;
    consumed = true;
    if (remaining > 0) {
      const skipped = await src.skip(remaining);
      if (skipped < remaining) throw new TarFormatError('truncated', `truncated data of ${JSON.stringify(header.name)}`, offset);
      remaining = 0;
    }
    await skipPadding(stored, 'padding', offset);
  }

  /** The sparse map of a regular file entry, if it is sparse (tar-sparse.ts). */
  async function sparseOf(
    h: HeaderBlock,
    pax: Map<string, Buffer>,
    entryPax: PaxRecord[],
    block: Buffer,
    stored: number,
    offset: number,
  ): Promise<{ regions: SparseRegion[]; realSize: number; consumed: number } | undefined> {
    const text = (k: string) => pax.get(k)?.toString('latin1');
    const size = (k: string) => {
      const v = pax.get(k);
      if (v === undefined) throw new TarFormatError('bad-sparse-map', `sparse file without ${k}`, offset);
      return paxInteger(v, k, offset);
    };
    if (h.typeflag === 'S') {
      const first = oldGnuSparseHeader(block, offset);
      const regions = first.regions;
      let extended = first.extended;
      let metaBytes = 0;
      while (extended) {
        metaBytes += BLOCK;
        if (metaBytes > maxMeta) throw new TarFormatError('too-large', `sparse map over ${maxMeta} bytes`, offset);
        const ext = await src.read(BLOCK);
        if (ext.length < BLOCK) throw new TarFormatError('truncated', 'truncated sparse header', offset);
        const more = oldGnuSparseExtension(ext, offset);
        regions.push(...more.regions);
        extended = more.extended;
      }
      return { regions, realSize: first.realSize, consumed: 0 };
    }
    if (text('GNU.sparse.major') !== undefined || text('GNU.sparse.minor') !== undefined) {
      if (text('GNU.sparse.major') !== '1' || text('GNU.sparse.minor') !== '0') {
        throw new TarFormatError('bad-sparse-map', `GNU sparse format ${text('GNU.sparse.major')}.${text('GNU.sparse.minor')}`, offset);
      }
      const realSize = size('GNU.sparse.realsize');
      const map = await readSparse10Map(src, stored, maxMeta, offset);
      return { regions: map.regions, realSize, consumed: map.consumed };
    }
    let regions: SparseRegion[];
    if (pax.has('GNU.sparse.map')) regions = paxSparse01(text('GNU.sparse.map')!, offset);
    else if (entryPax.some((r) => r.key === 'GNU.sparse.offset')) regions = paxSparse00(entryPax, offset);
    else return undefined;
    const blocks = pax.get('GNU.sparse.numblocks');
    if (blocks !== undefined && paxInteger(blocks, 'GNU.sparse.numblocks', offset) !== regions.length) {
      throw new TarFormatError('bad-sparse-map', `GNU.sparse.numblocks ${blocks.toString('latin1')} for ${regions.length} regions`, offset);
    }
    return { regions, realSize: size('GNU.sparse.size'), consumed: 0 };
  }
}
