/**
 * A folder as comparable data, names as bytes: every entry's type, mode,
 * size, mtime (µs), content hash or link target, and hard links as links to
 * the first path of their inode. For "restored byte-identical" checks.
 */
import { createHash } from 'node:crypto';
import { closeSync, lstatSync, openSync, readSync, readdirSync, readlinkSync } from 'node:fs';

export function byteTree(dir: string, o: { mtimes?: boolean } = {}): Record<string, string> {
  const out: Record<string, string> = {};
  const inodes = new Map<bigint, string>();
  const walk = (abs: Buffer, rel: string) => {
    for (const name of (readdirSync(abs, { encoding: 'buffer' }) as Buffer[]).sort(Buffer.compare)) {
      const p = Buffer.concat([abs, Buffer.from('/'), name]);
      const utf8 = Buffer.from(name.toString('utf8')).equals(name);
      const r = `${rel}/${utf8 ? name.toString('utf8') : `hex:${name.toString('hex')}`}`;
      const st = lstatSync(p, { bigint: true });
      const mt = o.mtimes === false ? '' : ` ${(st.mtimeNs / 1000n).toString()}`;
      if (st.isDirectory()) {
        out[r] = `dir ${(st.mode & 0o7777n).toString(8)}${mt}`;
        walk(p, r);
      } else if (st.isSymbolicLink()) out[r] = `link ${readlinkSync(p, { encoding: 'buffer' }).toString('hex')}`;
      else {
        const first = inodes.get(st.ino);
        if (first) out[r] = `hardlink to ${first}`;
        else {
          if (st.nlink > 1n) inodes.set(st.ino, r);
          out[r] = `file ${(st.mode & 0o7777n).toString(8)} ${st.size}${mt} ${sha256File(p)}`;
        }
      }
    }
  };
  walk(Buffer.from(dir), '');
  return out;
}

/** sha256 of a file in 4 MiB reads (a 1 GiB sparse file is not read into memory). */
function sha256File(p: Buffer): string {
  const h = createHash('sha256');
  const fd = openSync(p, 'r');
  try {
    const buf = Buffer.allocUnsafe(4 * 1024 * 1024);
    for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0; ) h.update(buf.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return h.digest('hex');
}
