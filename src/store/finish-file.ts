/** The last touch of a restored file, on its open descriptor: size (holes stay holes), owner, mode, times. */
import { fchmodSync, fchownSync, ftruncateSync, futimesSync } from 'node:fs';
import type { Finish } from './restore-protocol.ts';

/** `sized`: the file already has its size (opened with O_TRUNC and written whole), so no ftruncate. */
export function finishFdSync(fd: number, f: Finish, sized = false): void {
  if (!sized) ftruncateSync(fd, f.size);
  fchownSync(fd, f.uid, f.gid);
  fchmodSync(fd, f.mode);
  const t = utimeSeconds(BigInt(f.mtimeNs));
  futimesSync(fd, t, t);
}

/**
 * Seconds for utimes(2) from nanoseconds. Node takes a double, whose step
 * near 2^31 s is ≈ 240 ns, and libuv truncates: aiming at the middle of the
 * microsecond keeps the microsecond exact (the precision restores promise).
 */
export const utimeSeconds = (ns: bigint): number => Number((ns < 0n ? ns - 999n : ns) / 1000n) / 1e6 + 5e-7;
