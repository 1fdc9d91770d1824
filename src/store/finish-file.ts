/** The last touch of a restored file, on its open descriptor: size (holes stay holes), owner, mode, times. */
import { fchmodSync, fchownSync, ftruncateSync, futimesSync } from 'node:fs';
import type { Finish } from './restore-protocol.ts';

export function finishFdSync(fd: number, f: Finish): void {
  ftruncateSync(fd, f.size);
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
