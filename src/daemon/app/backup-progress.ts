/**
 * A backup's progress as the app shows it, folded from capture's events
 * (src/capture/progress.ts): each collector pending → running → done (or
 * skipped: left out by the config), each folder with bytes read of its size,
 * the upload's bytes, the warnings counted — and the time left from the
 * restore's ETA model (daemon/eta.ts): the collectors as tasks one after the
 * other with guessed seconds, each folder a task of bytes read locally, the
 * upload a task of bytes over the network, rates measured as they go.
 */
import type { CaptureEvent } from '../../capture/progress.ts';
import { CATEGORIES, type Category } from '../../restore-machine/plan.ts';
import { EtaEstimator, type EtaTask } from '../eta.ts';
import type { BackupProgress, CollectorState } from './contract.ts';

/** Seconds a collector takes before it says (apt-mark and flatpak are the slow ones). */
const GUESSED_SECONDS: Record<Category, number> = { system: 2, apps: 8, repos: 5, secrets: 1, files: 10 };

export class BackupProgressModel {
  private collectors: BackupProgress['collectors'];
  private folders: BackupProgress['folders'] = [];
  private uploads = new Map<string, { done: number; size: number }>();
  private warnings = 0;
  private posting = false;
  private readonly eta = new EtaEstimator({ extract: 40e6 });

  constructor(collected: readonly Category[]) {
    this.collectors = CATEGORIES.map((name) => ({ name, state: (collected.includes(name) ? 'pending' : 'skipped') as CollectorState }));
  }

  apply(e: CaptureEvent): void {
    switch (e.type) {
      case 'collector.start':
        this.collector(e.name).state = 'running';
        return;
      case 'collector.done': {
        const c = this.collector(e.name);
        c.state = 'done';
        c.summary = e.summary;
        return;
      }
      case 'build.start':
        this.folder(e.label).total = e.total;
        return;
      case 'build.progress': {
        const f = this.folder(e.label);
        f.done = e.done;
        f.total = Math.max(e.total, e.done);
        return;
      }
      case 'build.done': {
        const f = this.folder(e.label);
        f.state = 'done';
        f.total = Math.max(f.total, e.inputSize);
        f.done = f.total;
        if (e.reused) f.unchanged = true;
        return;
      }
      case 'upload.start':
        this.uploads.set(e.hex, { done: 0, size: e.size });
        return;
      case 'upload.progress':
        this.uploads.set(e.hex, { done: e.done, size: e.size });
        return;
      case 'upload.done':
        this.uploads.set(e.hex, { done: e.size, size: e.size });
        return;
      case 'posted':
        this.posting = true;
        return;
      case 'warning':
        this.warnings++;
        return;
      case 'parent':
        return;
    }
  }

  view(now = Date.now()): BackupProgress {
    const upload = { done: 0, total: 0 };
    for (const u of this.uploads.values()) {
      upload.done += u.done;
      upload.total += u.size;
    }
    const collecting = this.collectors.some((c) => c.state === 'pending' || c.state === 'running');
    const started = this.collectors.some((c) => c.state !== 'pending' && c.state !== 'skipped');
    const phase: BackupProgress['phase'] = this.posting ? 'posting' : collecting ? (started ? 'collecting' : 'starting') : 'uploading';
    // Bytes of the folders read (the upload has its own line).
    const doneBytes = this.folders.reduce((n, f) => n + f.done, 0);
    const totalBytes = this.folders.reduce((n, f) => n + f.total, 0);
    const r = this.eta.update(now, this.tasks(upload));
    const p: BackupProgress = {
      phase,
      collectors: this.collectors.map((c) => ({ ...c })),
      folders: this.folders.map((f) => ({ ...f })),
      upload,
      warnings: this.warnings,
      doneBytes,
      totalBytes,
      fraction: this.posting ? 1 : r.fraction,
    };
    if (r.etaSeconds !== undefined && !this.posting) {
      p.etaSeconds = r.etaSeconds;
      p.etaAt = now;
    }
    return p;
  }

  private tasks(upload: { done: number; total: number }): EtaTask[] {
    const tasks: EtaTask[] = [];
    let group = 0;
    for (const c of this.collectors) {
      if (c.state === 'skipped') continue;
      const status = c.state === 'done' ? 'finished' : c.state === 'running' ? 'running' : 'pending';
      if (c.name === 'files' && this.folders.length) {
        for (const f of this.folders) {
          tasks.push({ id: `folder:${f.label}`, group: group++, status: f.state === 'done' ? 'finished' : status === 'finished' ? 'finished' : 'running', parts: [{ rate: 'extract', total: Math.max(1, f.total), done: f.done }], measured: true });
        }
        continue;
      }
      tasks.push({ id: `collector:${c.name}`, group: group++, status, parts: [{ rate: 'time', total: GUESSED_SECONDS[c.name], done: 0 }], measured: false });
    }
    // Uploads run beside the walk (data v2) and after it (version 1 blobs): the last group.
    if (upload.total > 0) tasks.push({ id: 'upload', group, status: upload.done >= upload.total && !this.collectors.some((c) => c.state === 'running' || c.state === 'pending') ? 'finished' : 'running', parts: [{ rate: 'network', total: upload.total, done: upload.done }], measured: true });
    return tasks;
  }

  private collector(name: Category) {
    return this.collectors.find((c) => c.name === name)!;
  }

  private folder(label: string) {
    let f = this.folders.find((x) => x.label === label);
    if (!f) {
      f = { label, done: 0, total: 0, state: 'running' };
      this.folders.push(f);
    }
    return f;
  }
}
