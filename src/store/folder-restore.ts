/**
 * Restores a folder (or one file or sub-folder of it) from its trees into a
 * staging directory, ordered by pack as restic's restorer: fetch each run of
 * needed chunks once, and write every chunk to all the places that need it.
 *
 *   trees   root → every tree object (few ranged GETs: tree-reader.ts)
 *   plan    directories, symlinks, hard links, and per pack the chunks the
 *           files need, merged into runs (jobs) of at most JOB_BYTES
 *   stage   directories (0700 while filled), symlinks as they are (absolute
 *           ones too: never followed), files: the jobs go to worker threads
 *           (restore-worker.ts) that fetch, authenticate, decompress and
 *           write in place; a file is finished (size, owner, mode, times)
 *           when its last chunk is written
 *   end     hard links, then directories' modes and times, deepest first
 *
 * Every chunk is authenticated before a byte of it is written; a chunk that
 * does not authenticate stops the restore (CodedError 'chunk_auth_failed').
 * A per-file journal next to the staging dir lists finished files, so a
 * killed restore resumes without fetching them again (the staging dir is
 * kept until the caller commits it). Memory: the folder's file list and
 * one job per worker in flight.
 */
import { closeSync, constants as fsc, writeSync, lchownSync, linkSync, lutimesSync, mkdirSync, openSync, readFileSync, appendFileSync, symlinkSync, chmodSync, chownSync, utimesSync, existsSync, rmSync } from 'node:fs';
import type { Worker } from 'node:worker_threads';
import { CodedError } from '../util/coded-error.ts';
import { startWorker } from '../util/worker-thread.ts';
import type { Finish, FromRestoreWorker, Job, JobItem } from './restore-protocol.ts';
import { finishFdSync, utimeSeconds } from './finish-file.ts';
import type { TreeRoot } from './root-blob.ts';
import type { TreeReader } from './tree-reader.ts';
import type { ChunkRef, FileNode, ObjectRef, TreeNode } from './tree-object.ts';

/** How the bytes of a pack are reached: a GET whose policy the caller keeps, or a local file. */
export interface PackSource {
  /** Attempts of a GET of the pack (drive/blob-remote.ts); the worker adds its own Range. */
  remote?(pack: string): { attempt(from: number, after?: { status: number; message: string; body: string; code?: string }): Promise<{ url: string; headers: Record<string, string> }>; idleMs: number };
  /** A local file holding the pack. */
  file?(pack: string): string;
}

export interface FolderRestoreOptions {
  reader: TreeReader;
  root: TreeRoot;
  packs: PackSource;
  /** Host path of the staging dir (created if missing; kept for the caller to commit). */
  staging: string;
  /** A path inside the folder (`/`-separated bytes) to restore alone; default the whole folder. */
  select?: Buffer;
  uid: number;
  gid: number;
  /** Per-file journal (resume); default `<staging>.journal`. */
  journal?: string;
  workers?: number;
  onProgress?: (p: { bytes: number; total: number; files: number }) => void;
  signal?: AbortSignal;
}

export interface FolderRestoreResult {
  files: number;
  dirs: number;
  symlinks: number;
  links: number;
  bytes: number;
  /** Files the journal said were finished by an earlier, interrupted run. */
  resumed: number;
  /** Bytes fetched from packs. */
  fetched: number;
}

const JOB_BYTES = 16 * 1024 * 1024;
const MERGE_GAP = 1024 * 1024;
const SLASH = Buffer.from('/');

interface PlannedFile {
  rel: Buffer;
  node: FileNode;
  /** Chunk occurrences not yet written. */
  remaining: number;
}

function joinRel(a: Buffer, b: Buffer): Buffer {
  return a.length ? Buffer.concat([a, SLASH, b]) : b;
}

export async function restoreFolder(o: FolderRestoreOptions): Promise<FolderRestoreResult> {
  await o.reader.prefetch(o.root);
  const dirs: { rel: Buffer; node?: TreeNode }[] = [];
  const files: PlannedFile[] = [];
  const symlinks: { rel: Buffer; node: TreeNode & { type: 'symlink' } }[] = [];
  const hardlinks: { rel: Buffer; node: FileNode }[] = [];

  // ── which part of the folder ──
  let start: { rel: Buffer; ref?: ObjectRef; node?: TreeNode } = { rel: Buffer.alloc(0), ref: o.root.root };
  if (o.select && o.select.length) {
    const parts = splitRel(o.select);
    let ref: ObjectRef = o.root.root;
    let rel: Buffer = Buffer.alloc(0);
    for (let i = 0; i < parts.length; i++) {
      const entries = await o.reader.entries(ref, o.root);
      const hit = entries.find((e) => e.name.equals(parts[i]!));
      if (!hit) throw new CodedError('path_not_in_snapshot', `${o.select.toString()} is not in the snapshot`);
      rel = joinRel(rel, hit.name);
      if (i === parts.length - 1) start = hit.type === 'dir' ? { rel, ref: hit.tree, node: hit } : { rel, node: hit };
      else {
        if (hit.type !== 'dir') throw new CodedError('path_not_in_snapshot', `${o.select.toString()} is not in the snapshot (${rel.toString()} is not a folder)`);
        dirs.push({ rel, node: hit });
        ref = hit.tree;
      }
    }
  }

  // ── walk the trees ──
  const collect = (rel: Buffer, n: TreeNode) => {
    if (n.type === 'file') {
      if (n.link) hardlinks.push({ rel, node: n });
      else files.push({ rel, node: n, remaining: n.chunks.length });
    } else if (n.type === 'symlink') symlinks.push({ rel, node: n });
  };
  if (start.ref) {
    dirs.push({ rel: start.rel, ...(start.node ? { node: start.node } : {}) });
    const stack: { rel: Buffer; ref: ObjectRef }[] = [{ rel: start.rel, ref: start.ref }];
    while (stack.length) {
      const d = stack.pop()!;
      for (const e of await o.reader.entries(d.ref, o.root)) {
        const rel = joinRel(d.rel, e.name);
        if (e.type === 'dir') {
          dirs.push({ rel, node: e });
          stack.push({ rel, ref: e.tree });
        } else collect(rel, e);
      }
    }
  } else collect(start.rel, start.node!);

  // A hard link whose first file is not part of this restore gets that file's data.
  const restoredPaths = new Set(files.map((f) => f.rel.toString('latin1')));
  for (let i = hardlinks.length - 1; i >= 0; i--) {
    const h = hardlinks[i]!;
    if (restoredPaths.has(h.node.link!.toString('latin1'))) continue;
    const first = await findNode(o.reader, o.root, h.node.link!);
    hardlinks.splice(i, 1);
    if (first?.type === 'file' && !first.link) files.push({ rel: h.rel, node: { ...h.node, chunks: first.chunks, size: first.size, link: undefined as never }, remaining: first.chunks.length });
  }

  // ── journal ──
  const journal = o.journal ?? `${o.staging}.journal`;
  const header = `koder-files-journal v2 ${o.root.root.id.toString('hex')} ${o.select?.toString('hex') ?? ''}\n`;
  const done = new Set<number>();
  if (existsSync(journal) && existsSync(o.staging)) {
    const text = readFileSync(journal, 'latin1');
    if (text.startsWith(header)) for (const l of text.slice(header.length).split('\n')) if (/^[0-9]+$/.test(l)) done.add(Number(l));
  }
  if (!done.size) {
    rmSync(o.staging, { recursive: true, force: true });
    appendFileSync(journal, header, { flag: 'w' });
  }
  const stagedPath = (rel: Buffer) => (rel.length ? Buffer.concat([Buffer.from(o.staging), SLASH, rel]) : Buffer.from(o.staging));

  // ── stage directories and symlinks ──
  mkdirSync(o.staging, { recursive: true, mode: 0o700 });
  for (const d of dirs) if (d.rel.length) mkdirSync(stagedPath(d.rel), { recursive: true, mode: 0o700 });
  for (const s of symlinks) {
    const p = stagedPath(s.rel);
    rmSync(p, { force: true });
    symlinkSync(s.node.target, p);
    lchownSync(p, o.uid, o.gid);
    const t = utimeSeconds(s.node.mtimeNs);
    lutimesSync(p, t, t);
  }

  // ── plan the jobs ──
  const total = files.reduce((n, f) => n + f.node.size, 0);
  let bytes = 0;
  let fetched = 0;
  let finished = 0;
  const progress = () => o.onProgress?.({ bytes, total, files: finished });
  const finishOf = (i: number): Finish => {
    const n = files[i]!.node;
    return { file: i, size: n.size, mode: n.mode, uid: o.uid, gid: o.gid, mtimeNs: n.mtimeNs.toString() };
  };
  // Journal lines are written once per job (one write, not one open/append/close per file).
  const journalFd = openSync(journal, 'a');
  let journalLines = '';
  const markDone = (i: number) => {
    finished++;
    journalLines += `${i}\n`;
  };
  const flushJournal = () => {
    if (!journalLines) return;
    writeSync(journalFd, journalLines);
    journalLines = '';
  };
  try {
    const byPack = new Map<string, Map<number, JobItem>>();
    files.forEach((f, i) => {
      if (done.has(i)) {
        f.remaining = 0;
        bytes += f.node.size;
        finished++;
        return;
      }
      let pos = 0;
      for (const c of f.node.chunks) {
        const items = byPack.get(c.pack) ?? new Map<number, JobItem>();
        byPack.set(c.pack, items);
        const it = items.get(c.offset) ?? itemOf(c);
        items.set(c.offset, it);
        it.targets.push({ file: i, pos });
        pos += c.raw;
      }
    });
    // Files with no chunk to fetch are finished here.
    files.forEach((f, i) => {
      if (!done.has(i) && f.node.chunks.length === 0) {
        finishPath(stagedPath(f.rel), finishOf(i));
        markDone(i);
      }
    });
    flushJournal();
    const jobs: Omit<Job, 'job' | 'source' | 'idleMs'>[] = [];
    for (const [pack, map] of byPack) {
      const items = [...map.values()].sort((a, b) => a.offset - b.offset);
      for (let i = 0; i < items.length; ) {
        let j = i;
        while (j + 1 < items.length && items[j + 1]!.offset - (items[j]!.offset + items[j]!.length) <= MERGE_GAP && items[j + 1]!.offset + items[j + 1]!.length - items[i]!.offset <= JOB_BYTES) j++;
        const run = items.slice(i, j + 1);
        const paths: Record<number, Uint8Array> = {};
        const finish: Finish[] = [];
        for (const it of run) {
          for (const t of it.targets) {
            paths[t.file] = stagedPath(files[t.file]!.rel);
            if (files[t.file]!.node.chunks.length === 1) finish.push(finishOf(t.file));
          }
        }
        jobs.push({ type: 'job', pack, start: run[0]!.offset, end: run[run.length - 1]!.offset + run[run.length - 1]!.length, items: run, paths, finish });
        i = j + 1;
      }
    }

    // ── run them ──
    await runJobs(o, jobs, {
      progress: (b, raw) => {
        fetched += b;
        bytes += raw;
        progress();
      },
      done: (job) => {
        const counted = new Set<number>();
        for (const it of job.items) {
          for (const t of it.targets) {
            const f = files[t.file]!;
            f.remaining--;
            if (f.remaining === 0 && !counted.has(t.file)) {
              counted.add(t.file);
              if (f.node.chunks.length > 1) finishPath(stagedPath(f.rel), finishOf(t.file));
              markDone(t.file);
            }
          }
        }
        flushJournal();
        progress();
      },
    });
  } finally {
    flushJournal();
    closeSync(journalFd);
  }

  // ── hard links, then directories deepest first ──
  for (const h of hardlinks) {
    const p = stagedPath(h.rel);
    rmSync(p, { force: true });
    linkSync(stagedPath(h.node.link!), p);
  }
  dirs.sort((a, b) => b.rel.length - a.rel.length);
  for (const d of dirs) {
    if (!d.node) continue;
    const p = stagedPath(d.rel);
    chownSync(p, o.uid, o.gid);
    chmodSync(p, d.node.mode);
    const t = utimeSeconds(d.node.mtimeNs);
    utimesSync(p, t, t);
  }
  progress();
  return { files: files.length, dirs: dirs.length, symlinks: symlinks.length, links: hardlinks.length, bytes: total, resumed: done.size, fetched };
}


function itemOf(c: ChunkRef): JobItem {
  return { offset: c.offset, length: c.length, raw: c.raw, id: c.id, key: c.key, targets: [] };
}

function splitRel(p: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let s = 0;
  for (let i = 0; i <= p.length; i++) {
    if (i === p.length || p[i] === 0x2f) {
      if (i > s) out.push(p.subarray(s, i));
      s = i + 1;
    }
  }
  return out;
}

async function findNode(reader: TreeReader, root: TreeRoot, rel: Buffer): Promise<TreeNode | undefined> {
  let ref: ObjectRef = root.root;
  const parts = splitRel(rel);
  for (let i = 0; i < parts.length; i++) {
    const hit = (await reader.entries(ref, root)).find((e) => e.name.equals(parts[i]!));
    if (!hit) return undefined;
    if (i === parts.length - 1) return hit;
    if (hit.type !== 'dir') return undefined;
    ref = hit.tree;
  }
  return undefined;
}

function finishPath(p: Buffer, f: Finish): void {
  const fd = openSync(p, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_NOFOLLOW, 0o600);
  try {
    finishFdSync(fd, f);
  } finally {
    closeSync(fd);
  }
}

interface JobEvents {
  progress(bytes: number, raw: number): void;
  done(job: Omit<Job, 'job' | 'source' | 'idleMs'>): void;
}

/** Runs the jobs on worker threads, two in flight per worker. */
async function runJobs(o: FolderRestoreOptions, jobs: Omit<Job, 'job' | 'source' | 'idleMs'>[], ev: JobEvents): Promise<void> {
  if (!jobs.length) return;
  const n = Math.max(1, Math.min(o.workers ?? 2, jobs.length));
  const workers: Worker[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      let next = 0;
      let active = 0;
      let failed = false;
      const inFlight = new Map<number, { w: Worker; job: Omit<Job, 'job' | 'source' | 'idleMs'>; attempts?: ReturnType<NonNullable<PackSource['remote']>> }>();
      const fail = (e: unknown) => {
        if (failed) return;
        failed = true;
        reject(e);
      };
      const onAbort = () => fail(new CodedError('restore_aborted', 'the restore was cancelled'));
      o.signal?.addEventListener('abort', onAbort, { once: true });
      const launch = async (w: Worker) => {
        if (failed) return;
        if (next >= jobs.length) {
          if (active === 0) resolve();
          return;
        }
        const id = next++;
        const job = jobs[id]!;
        active++;
        try {
          let source: Job['source'];
          let idleMs = 30_000;
          let attempts;
          if (o.packs.remote) {
            attempts = o.packs.remote(job.pack);
            const req = await attempts.attempt(0);
            const { range: _drop, ...headers } = req.headers;
            source = { url: req.url, headers };
            idleMs = attempts.idleMs;
          } else if (o.packs.file) source = { file: o.packs.file(job.pack) };
          else throw new Error('no way to read packs');
          inFlight.set(id, { w, job, ...(attempts ? { attempts } : {}) });
          w.postMessage({ ...job, job: id, source, idleMs } satisfies Job);
        } catch (e) {
          fail(e);
        }
      };
      for (let i = 0; i < n; i++) {
        const w = startWorker(new URL('./restore-worker.ts', import.meta.url));
        workers.push(w);
        w.on('error', fail);
        w.on('message', (m: FromRestoreWorker) => {
          const f = inFlight.get(m.job);
          if (!f) return;
          if (m.type === 'progress') ev.progress(m.bytes, m.raw);
          else if (m.type === 'done') {
            inFlight.delete(m.job);
            active--;
            ev.done(f.job);
            void launch(w);
          } else if (m.type === 'error') {
            inFlight.delete(m.job);
            fail(new CodedError(m.code === 'chunk_auth_failed' || m.code === 'chunk_missing' ? m.code : 'restore_write_failed', m.message));
          } else if (m.type === 'attempt-failed') {
            f.attempts!.attempt(m.have, m).then(
              (req) => {
                const { range: _drop, ...headers } = req.headers;
                w.postMessage({ type: 'retry', job: m.job, url: req.url, headers });
              },
              (e: unknown) => {
                w.postMessage({ type: 'give-up', job: m.job });
                fail(e);
              },
            );
          }
        });
        void launch(w).then(() => launch(w));
      }
    });
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}
