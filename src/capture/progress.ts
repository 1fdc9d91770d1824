/**
 * What a capture reports while it runs, in order: each collector starts and
 * ends; each blob is built (or reused) with byte progress; the parent is
 * chosen; each blob is uploaded (or found on the server); the manifest is
 * posted. Warnings come at any time. The CLI renders these (a bar and ETA on
 * a terminal, one line per step in the journal).
 */
import type { Category } from '../restore-machine/plan.ts';

export type CollectorName = Category;

export type CaptureEvent =
  | { type: 'collector.start'; name: CollectorName }
  | { type: 'collector.done'; name: CollectorName; summary: string; ms: number }
  | { type: 'build.start'; label: string; total: number }
  | { type: 'build.progress'; label: string; done: number; total: number }
  | { type: 'build.done'; label: string; hex: string; size: number; inputSize: number; reused: boolean; ms: number }
  | { type: 'parent'; id?: string; depth?: number; reason: string }
  | { type: 'upload.start'; label: string; hex: string; size: number }
  | { type: 'upload.progress'; label: string; hex: string; done: number; size: number }
  | { type: 'upload.done'; label: string; hex: string; size: number; sent: boolean; ms: number }
  | { type: 'posted'; id: string; created: boolean }
  | { type: 'warning'; message: string };
