/** fullGc collects the old generation (a restore calls it after each window of files); youngGc does not. */
import { getHeapStatistics } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { fullGc, youngGc } from '../../src/util/young-gc.ts';

/** ≈ 40 MB of small objects, kept alive through two young GCs (so they are in the old generation), then dropped. */
function oldGarbage(): void {
  let keep: { n: number; s: string }[] | undefined = Array.from({ length: 400_000 }, (_, n) => ({ n, s: `entry ${n} ${'x'.repeat(40)}` }));
  youngGc();
  youngGc();
  expect(keep.length).toBe(400_000);
  keep = undefined;
}

describe('on-demand GC', () => {
  it('fullGc frees dead objects of the old generation; youngGc leaves them', () => {
    fullGc();
    const before = getHeapStatistics().used_heap_size;
    oldGarbage();
    youngGc();
    const afterYoung = getHeapStatistics().used_heap_size;
    expect(afterYoung - before).toBeGreaterThan(20 * 1024 * 1024);
    fullGc();
    const afterFull = getHeapStatistics().used_heap_size;
    expect(afterFull - before).toBeLessThan(5 * 1024 * 1024);
  });
});
