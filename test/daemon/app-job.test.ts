/**
 * The app's jobs (src/daemon/app/job.ts): one at a time; cancel aborts the
 * work's signal and waits until it has stopped; every outcome is kept in the
 * state dir, and a job the daemon died in the middle of comes back as
 * failed ("interrupted"), never as still running.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Job } from '../../src/daemon/app/job.ts';
import { errorView } from '../../src/daemon/app/session.ts';

const dir = mkdtempSync(join(tmpdir(), 'ks-app-job-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('app jobs', () => {
  it('runs one at a time, reports progress, keeps the result on disk', async () => {
    const job = await Job.open<number, string>(dir, 'a', () => {}, errorView);
    let go!: () => void;
    const gate = new Promise<void>((r) => (go = r));
    job.start(0, async (_signal, report) => {
      report(1);
      await gate;
      return 'ok';
    });
    expect(job.view).toMatchObject({ state: 'running', progress: 1 });
    expect(() => job.start(0, async () => 'again')).toThrow(expect.objectContaining({ code: 'app_job_running' }));
    go();
    await job.settled();
    expect(job.view).toMatchObject({ state: 'done', result: 'ok' });
    expect(JSON.parse(readFileSync(join(dir, 'a.json'), 'utf8'))).toMatchObject({ state: 'done', result: 'ok' });
  });

  it('cancel aborts the signal and resolves once the work has stopped; a failure keeps its code', async () => {
    const job = await Job.open<number, string>(dir, 'b', () => {}, errorView);
    let cleaned = false;
    job.start(0, (signal) => new Promise((_, reject) => signal.addEventListener('abort', () => setTimeout(() => ((cleaned = true), reject(signal.reason)), 50))));
    expect(await job.cancel()).toBe(true);
    expect(cleaned).toBe(true);
    expect(job.view?.state).toBe('cancelled');
    expect(await job.cancel()).toBe(false);
    job.start(0, async () => {
      throw Object.assign(new Error('disk full'), { code: 'restore_write_failed' });
    });
    await job.settled();
    expect(job.view).toMatchObject({ state: 'failed', error: { code: 'restore_write_failed', message: 'disk full' } });
  });

  it('a job the daemon died in comes back as interrupted', async () => {
    writeFileSync(join(dir, 'c.json'), JSON.stringify({ id: 'x1', state: 'running', startedAt: 1, progress: 5 }));
    const job = await Job.open<number, string>(dir, 'c', () => {}, errorView);
    expect(job.view).toMatchObject({ id: 'x1', state: 'failed', error: { code: 'interrupted' }, progress: 5 });
    expect(job.busy).toBe(false);
  });
});
