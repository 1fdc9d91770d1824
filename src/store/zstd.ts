/** zstd for chunks: one compression and one decompression context per thread (zstd-napi's binding). */
import binding from 'zstd-napi/binding.js';
import type { Zstd } from './chunk-crypto.ts';

/** A Zstd at `level` (files default 3: bench/capture.ts, docs/config.md). */
export function zstdContext(level = 3): Zstd {
  const c = new binding.CCtx();
  const d = new binding.DCtx();
  return {
    compress: (dst, src) => c.compress(dst, src, level),
    decompress: (dst, src) => d.decompress(dst, src),
    bound: (n) => binding.compressBound(n),
  };
}
