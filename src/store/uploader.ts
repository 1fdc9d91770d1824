/**
 * Uploads what the capture writes into `<cache>/v2/packs/` (packs and tree
 * roots), a few at a time while the capture goes on: HEAD first, PUT only
 * when the server lacks it (drive/upload.ts). Once the server has it, the
 * local index says so and the file goes. The first failure is kept and
 * thrown by `drain()`; nothing is posted after a failed upload.
 */
import { rename, rm } from 'node:fs/promises';
import type { DriveClient } from '../drive/client.ts';
import type { LocalIndex } from './local-index.ts';

export interface UploadItem {
  hex: string;
  path: string;
  size: number;
  kind: 'pack' | 'root';
  label: string;
  /** Once the server has it, move the file here (a tree pack kept for the next capture) instead of removing it. */
  keepAs?: string;
}

export interface UploadEvents {
  start?(it: UploadItem): void;
  done?(it: UploadItem, sent: boolean, ms: number): void;
}

export class Uploader {
  private queue: UploadItem[] = [];
  private active = 0;
  private error: unknown;
  private idleWaiters: (() => void)[] = [];
  /** Bytes sent (not counting what the server already had). */
  sentBytes = 0;
  uploaded = new Set<string>();

  constructor(
    private readonly client: DriveClient | undefined,
    private readonly index: LocalIndex,
    private readonly o: { parallel?: number; keepFiles?: boolean; signal?: AbortSignal; events?: UploadEvents } = {},
  ) {}

  get backlog(): number {
    return this.queue.length + this.active;
  }

  add(it: UploadItem): void {
    this.queue.push(it);
    this.pump();
  }

  private pump(): void {
    while (!this.error && this.active < (this.o.parallel ?? 2) && this.queue.length) {
      const it = this.queue.shift()!;
      this.active++;
      void this.one(it).finally(() => {
        this.active--;
        this.pump();
        this.wakeIdle();
      });
    }
  }

  private wakeIdle(): void {
    const w = this.idleWaiters;
    this.idleWaiters = [];
    for (const f of w) f();
  }

  private async one(it: UploadItem): Promise<void> {
    if (!this.client) return; // a dry run: the files stay as pending packs
    const t0 = Date.now();
    this.o.events?.start?.(it);
    try {
      const r = await this.client.uploadBlob(it.hex, it.path, this.o.signal ? { signal: this.o.signal } : {});
      if (r.sent) this.sentBytes += r.size;
      this.index.setPackState(it.hex, it.kind === 'pack' ? 'uploaded' : 'not-a-pack', it.size);
      this.uploaded.add(it.hex);
      if (it.keepAs) await rename(it.path, it.keepAs);
      else if (!this.o.keepFiles) await rm(it.path, { force: true });
      this.o.events?.done?.(it, r.sent, Date.now() - t0);
    } catch (e) {
      this.error ??= e;
    }
  }

  /** Waits while more than `max` uploads are queued or running. */
  async below(max: number): Promise<void> {
    while (!this.error && this.backlog > max) await new Promise<void>((r) => this.idleWaiters.push(r));
    if (this.error) throw this.error;
  }

  /** Waits for every upload; throws the first failure. */
  async drain(): Promise<void> {
    await this.below(0);
  }
}
