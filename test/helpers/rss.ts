/**
 * Peak RSS growth of this process while `run` goes: sampled every 5 ms and
 * whenever `run` calls `sample` (e.g. from a progress callback), measured
 * from a start taken after a GC when `--expose-gc` allows one.
 */
export async function rssGrowthDuring<T>(run: (sample: () => void) => Promise<T>): Promise<{ result: T; growthMiB: number }> {
  if (global.gc) global.gc();
  const base = process.memoryUsage().rss;
  let peak = base;
  const sample = () => {
    peak = Math.max(peak, process.memoryUsage().rss);
  };
  const timer = setInterval(sample, 5);
  try {
    const result = await run(sample);
    return { result, growthMiB: (peak - base) / 1024 / 1024 };
  } finally {
    clearInterval(timer);
  }
}
