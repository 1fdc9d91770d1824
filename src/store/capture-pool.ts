/**
 * The capture's worker threads (capture-worker.ts) behind one queue: the
 * calling thread submits batches of files, each file with a sink that gets
 * its sealed chunks in order as they arrive, then the file's result.
 * `ready()` is the backpressure: it resolves while fewer than two batches
 * per worker are in flight.
 */
import type { Worker } from 'node:worker_threads';
import { startWorker } from '../util/worker-thread.ts';
import type { CaptureWorkerData, FileJob, FileResult, OutMessage } from './capture-protocol.ts';

/** Where a file's chunks go, in order, then its result. The buffers are the worker's: valid during the call only. */
export interface FileSink {
  /** `sealed` is empty for a chunk the file's `known` ids named (stored already). */
  chunk(id: Buffer, key: Buffer, raw: number, sealed: Buffer): void;
  done(r: FileResult): void;
}

interface Slot {
  worker: Worker;
  inFlight: Map<number, FileSink[]>;
}

export class CapturePool {
  private readonly slots: Slot[];
  private nextBatch = 0;
  private waiters: (() => void)[] = [];
  private failure: Error | undefined;

  constructor(n: number, data: CaptureWorkerData) {
    this.slots = Array.from({ length: Math.max(1, n) }, () => {
      const worker = startWorker('capture-worker', { workerData: data });
      const slot: Slot = { worker, inFlight: new Map() };
      worker.on('message', (m: OutMessage) => this.onOut(slot, m));
      worker.on('error', (e) => this.fail(e));
      worker.on('exit', (code) => {
        if (code !== 0 && !this.closing) this.fail(new Error(`a capture worker exited with code ${code}`));
      });
      return slot;
    });
  }

  private closing = false;

  private fail(e: Error): void {
    this.failure ??= e;
    for (const s of this.slots) for (const sinks of s.inFlight.values()) for (const k of sinks) k.done({ error: e.message });
    for (const s of this.slots) s.inFlight.clear();
    this.wake();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  private onOut(slot: Slot, m: OutMessage): void {
    const sinks = slot.inFlight.get(m.batch);
    try {
      if (!sinks) return;
      const buf = Buffer.from(m.buf);
      for (const it of m.items) {
        sinks[it.file]!.chunk(buf.subarray(it.at, it.at + 32), buf.subarray(it.at + 32, it.at + 64), it.raw, buf.subarray(it.at + 64, it.at + 64 + it.len));
      }
    } finally {
      // Read: the buffer goes back to the worker to be filled again.
      slot.worker.postMessage({ type: 'ack', buf: m.buf }, [m.buf]);
    }
    if (m.results) {
      slot.inFlight.delete(m.batch);
      m.results.forEach((r, i) => sinks[i]!.done(r));
      this.wake();
    }
  }

  private get busiest(): number {
    return this.slots.reduce((n, s) => n + s.inFlight.size, 0);
  }

  /** Resolves when another batch may be submitted. */
  async ready(): Promise<void> {
    while (!this.failure && this.busiest >= this.slots.length * 2) await new Promise<void>((r) => this.waiters.push(r));
    if (this.failure) throw this.failure;
  }

  /** Resolves when nothing is in flight. */
  async idle(): Promise<void> {
    while (!this.failure && this.busiest > 0) await new Promise<void>((r) => this.waiters.push(r));
    if (this.failure) throw this.failure;
  }

  submit(files: (FileJob & { sink: FileSink })[]): void {
    if (this.failure) throw this.failure;
    const slot = this.slots.reduce((a, b) => (b.inFlight.size < a.inFlight.size ? b : a));
    const batch = this.nextBatch++;
    slot.inFlight.set(batch, files.map((f) => f.sink));
    slot.worker.postMessage({ type: 'batch', batch, files: files.map((f) => ({ path: f.path, ...(f.known ? { known: f.known } : {}) })) });
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }
}
