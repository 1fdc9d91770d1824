/**
 * Restores a folder (or one file or sub-folder of it) from its trees into a
 * staging directory, ordered by pack as restic's restorer: fetch each run of
 * needed chunks once, and write every chunk to all the places that need it.
 *
 *   trees   root → the sealed tree objects (few ranged GETs: tree-reader.ts),
 *           each opened when the walk reaches it
 *   walk    depth first: directories made (0700 while filled), symlinks as
 *           they are (absolute ones too: never followed), files gathered
 *           into windows of WINDOW_FILES files / WINDOW_CHUNKS chunks
 *   window  per pack, the chunks the window's files need, merged into runs
 *           (jobs) of at most JOB_BYTES, run by worker threads while the
 *           walk gathers the next window
 *           (restore-jobs.ts, restore-worker.ts) that fetch, authenticate,
 *           decompress and write in place; a file is finished (size, owner,
 *           mode, times) when its last chunk is written
 *   end     hard links, then directories' modes and times, deepest first
 *
 * Every chunk is authenticated before a byte of it is written; a chunk that
 * does not authenticate stops the restore (CodedError 'chunk_auth_failed').
 * A per-file journal next to the staging dir lists finished files (by their
 * place in the walk), so a killed restore resumes without fetching them
 * again (the staging dir is kept until the caller commits it); its last
 * line, once everything is staged, says so, and a later call (the step
 * after the fetch-ahead staged it) returns without walking the trees again.
 * Memory: the folder's directories, two windows of files, two jobs per
 * worker in flight — not the whole file list (bench/README.md: flat at 2 GiB).
 */
import { appendFileSync, chmodSync, chownSync, closeSync, constants as fsc, existsSync, lchownSync, linkSync, lutimesSync, mkdirSync, openSync, readFileSync, rmSync, symlinkSync, utimesSync, writeSync } from 'node:fs';
import { CodedError } from '../util/coded-error.ts';
import { fullGc } from '../util/young-gc.ts';
import { finishFdSync, utimeSeconds } from './finish-file.ts';
import { JobRunner, type PackSource, type PlannedJob, type PreparedJob } from './restore-jobs.ts';
import type { Finish, JobItem } from './restore-protocol.ts';
import type { TreeRoot } from './root-blob.ts';
import type { TreeReader } from './tree-reader.ts';
import type { Relocator } from './relocate.ts';
import type { ChunkRef, FileNode, ObjectRef, TreeNode } from './tree-object.ts';

export type { PackSource } from './restore-jobs.ts';

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
  /** Files per window (default WINDOW_FILES; tests use small ones). */
  windowFiles?: number;
  onProgress?: (p: { bytes: number; total: number; files: number }) => void;
  /** The owner's way to find chunks a prune moved (relocate.ts). */
  relocate?: Relocator;
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
/**
 * A job also ends after this many chunks: a window of 2,048 small files fits
 * in one pack run of 16 MiB, which kept one worker busy creating every file
 * while the other waited at the window's end (profile of a local export).
 */
const JOB_ITEMS = 256;
const MERGE_GAP = 1024 * 1024;
const WINDOW_FILES = 2048;
const WINDOW_CHUNKS = 4096;
const SLASH = Buffer.from('/');

interface PlannedFile {
  /** Place in the walk: the journal's name for it. */
  index: number;
  rel: Buffer;
  node: FileNode;
  /** Chunk occurrences not yet written. */
  remaining: number;
}

function joinRel(a: Buffer, b: Buffer): Buffer {
  return a.length ? Buffer.concat([a, SLASH, b]) : b;
}

type Start = { rel: Buffer; ref?: ObjectRef; node?: TreeNode };

/** Which part of the folder: its root, or the selected path (its parent folders are listed in `dirs`). */
async function findStart(o: FolderRestoreOptions, dirs: { rel: Buffer; node?: TreeNode }[]): Promise<Start> {
  if (!o.select || !o.select.length) return { rel: Buffer.alloc(0), ref: o.root.root };
  const parts = splitRel(o.select);
  let ref: ObjectRef = o.root.root;
  let rel: Buffer = Buffer.alloc(0);
  for (let i = 0; i < parts.length; i++) {
    const entries = await o.reader.entries(ref, o.root);
    const hit = entries.find((e) => e.name.equals(parts[i]!));
    if (!hit) throw new CodedError('path_not_in_snapshot', `${o.select.toString()} is not in the snapshot`);
    rel = joinRel(rel, hit.name);
    if (i === parts.length - 1) return hit.type === 'dir' ? { rel, ref: hit.tree, node: hit } : { rel, node: hit };
    if (hit.type !== 'dir') throw new CodedError('path_not_in_snapshot', `${o.select.toString()} is not in the snapshot (${rel.toString()} is not a folder)`);
    dirs.push({ rel, node: hit });
    ref = hit.tree;
  }
  throw new CodedError('path_not_in_snapshot', `${o.select.toString()} is not in the snapshot`);
}

/** Every entry under `start`, depth first: directories before what they hold. */
async function walk(o: FolderRestoreOptions, start: Start, visit: (rel: Buffer, n: TreeNode) => void | Promise<void>): Promise<void> {
  if (!start.ref) return visit(start.rel, start.node!);
  const stack: { rel: Buffer; ref: ObjectRef }[] = [{ rel: start.rel, ref: start.ref }];
  while (stack.length) {
    const d = stack.pop()!;
    for (const e of await o.reader.entries(d.ref, o.root)) {
      const rel = joinRel(d.rel, e.name);
      await visit(rel, e);
      if (e.type === 'dir') stack.push({ rel, ref: e.tree });
    }
  }
}

export async function restoreFolder(o: FolderRestoreOptions): Promise<FolderRestoreResult> {
  // ── journal ──
  const journal = o.journal ?? `${o.staging}.journal`;
  const header = `koder-files-journal v2 ${o.root.root.id.toString('hex')} ${o.select?.toString('hex') ?? ''}\n`;
  const done = new Set<number>();
  if (existsSync(journal) && existsSync(o.staging)) {
    const text = readFileSync(journal, 'latin1');
    if (text.startsWith(header)) {
      // Staged whole by an earlier run (the fetch-ahead, or a run killed before its commit): nothing to walk again.
      const whole = /\ncomplete (\{.*\})\n/.exec(text);
      if (whole) {
        const r = JSON.parse(whole[1]!) as Omit<FolderRestoreResult, 'resumed' | 'fetched'>;
        o.onProgress?.({ bytes: r.bytes, total: r.bytes, files: r.files });
        return { ...r, resumed: r.files, fetched: 0 };
      }
      for (const l of text.slice(header.length).split('\n')) if (/^[0-9]+$/.test(l)) done.add(Number(l));
    }
  }
  await o.reader.prefetch(o.root);
  const dirs: { rel: Buffer; node?: TreeNode }[] = [];
  const start = await findStart(o, dirs);
  let symlinks = 0;
  const hardlinks: { rel: Buffer; node: FileNode }[] = [];

  if (!done.size) {
    rmSync(o.staging, { recursive: true, force: true });
    appendFileSync(journal, header, { flag: 'w' });
  }
  const stagedPath = (rel: Buffer) => (rel.length ? Buffer.concat([Buffer.from(o.staging), SLASH, rel]) : Buffer.from(o.staging));
  mkdirSync(o.staging, { recursive: true, mode: 0o700 });
  for (const d of dirs) mkdirSync(stagedPath(d.rel), { recursive: true, mode: 0o700 });

  // ── progress: the bytes of the files to restore (the folder's, or a pre-walk of the selection) ──
  let total = 0;
  if (!o.select?.length) total = o.root.bytes;
  else await walk(o, start, (_rel, n) => void (n.type === 'file' && !n.link && (total += n.size)));
  let bytes = 0;
  let fetched = 0;
  let finished = 0;
  let count = 0;
  const progress = () => o.onProgress?.({ bytes, total: Math.max(total, bytes), files: finished });

  // Journal lines are written once per job (one write, not one open/append/close per file).
  const journalFd = openSync(journal, 'a');
  let journalLines = '';
  const markDone = (f: PlannedFile) => {
    finished++;
    journalLines += `${f.index}\n`;
  };
  const flushJournal = () => {
    if (!journalLines) return;
    writeSync(journalFd, journalLines);
    journalLines = '';
  };
  const runner = new JobRunner(o.packs, o.workers ?? 2, o.signal);

  /** Fetches and writes one window of files. */
  const runWindow = async (files: PlannedFile[]): Promise<void> => {
    // Chunks in packs a prune removed: where they are now (the owner's TOCs).
    if (o.relocate) await relocateChunks(files.filter((f) => !done.has(f.index)), o.relocate);
    const byPack = new Map<string, Map<number, JobItem>>();
    files.forEach((f, i) => {
      if (done.has(f.index)) {
        f.remaining = 0;
        bytes += f.node.size;
        finished++;
        return;
      }
      if (f.node.chunks.length === 0) {
        finishPath(stagedPath(f.rel), finishOf(f, i));
        markDone(f);
        return;
      }
      let pos = 0;
      for (const c of f.node.chunks) {
        let items = byPack.get(c.pack);
        if (!items) byPack.set(c.pack, (items = new Map()));
        let it = items.get(c.offset);
        if (!it) items.set(c.offset, (it = itemOf(c)));
        it.targets.push({ file: i, pos });
        pos += c.raw;
      }
    });
    flushJournal();
    const jobs: PlannedJob[] = [];
    for (const [pack, map] of byPack) {
      const items = [...map.values()].sort((a, b) => a.offset - b.offset);
      for (let i = 0; i < items.length; ) {
        let j = i;
        while (j + 1 < items.length && j + 1 - i < JOB_ITEMS && items[j + 1]!.offset - (items[j]!.offset + items[j]!.length) <= MERGE_GAP && items[j + 1]!.offset + items[j + 1]!.length - items[i]!.offset <= JOB_BYTES) j++;
        const run = items.slice(i, j + 1);
        jobs.push({ pack, start: run[0]!.offset, end: run[run.length - 1]!.offset + run[run.length - 1]!.length, items: run });
        i = j + 1;
      }
    }
    byPack.clear();
    // Staged paths and finishing data are made per job as it starts.
    const prepare = (pj: PlannedJob): PreparedJob => {
      const paths: Record<number, Uint8Array> = {};
      const finish: Finish[] = [];
      for (const it of pj.items) {
        for (const t of it.targets) {
          const f = files[t.file]!;
          paths[t.file] = stagedPath(f.rel);
          if (f.node.chunks.length === 1) finish.push(finishOf(f, t.file));
        }
      }
      return { type: 'job', ...pj, paths, finish };
    };
    await runner.run(jobs, prepare, {
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
              if (f.node.chunks.length > 1) finishPath(stagedPath(f.rel), finishOf(f, t.file));
              markDone(f);
            }
          }
        }
        flushJournal();
        progress();
      },
    });
  };
  const finishOf = (f: PlannedFile, file: number): Finish => ({ file, size: f.node.size, mode: f.node.mode, uid: o.uid, gid: o.gid, mtimeNs: f.node.mtimeNs.toString() });

  try {
    let window: PlannedFile[] = [];
    let windowChunks = 0;
    // The window handed to the workers before this one: the walk gathers the
    // next window while it runs, and waits for it only then (two windows at
    // most), so that the workers never drain at a window's end (restore-jobs.ts).
    let running: Promise<void> | undefined;
    const submit = async (w: PlannedFile[]) => {
      const p = runWindow(w);
      p.catch(() => undefined); // awaited by the next submit or at the end
      const before = running;
      running = p;
      if (before) {
        await before;
        // That window's files lived through its jobs (old generation): collected now, not after the heap has grown.
        fullGc();
      }
    };
    const addFile = async (rel: Buffer, node: FileNode) => {
      window.push({ index: count++, rel, node, remaining: node.chunks.length });
      windowChunks += node.chunks.length;
      if (window.length >= (o.windowFiles ?? WINDOW_FILES) || windowChunks >= WINDOW_CHUNKS) {
        const w = window;
        window = [];
        windowChunks = 0;
        await submit(w);
      }
    };
    if (start.ref) {
      dirs.push({ rel: start.rel, ...(start.node ? { node: start.node } : {}) });
      if (start.rel.length) mkdirSync(stagedPath(start.rel), { recursive: true, mode: 0o700 });
    }
    await walk(o, start, async (rel, n) => {
      if (n.type === 'dir') {
        dirs.push({ rel, node: n });
        mkdirSync(stagedPath(rel), { recursive: true, mode: 0o700 });
      } else if (n.type === 'symlink') {
        symlinks++;
        const p = stagedPath(rel);
        rmSync(p, { force: true });
        symlinkSync(n.target, p);
        lchownSync(p, o.uid, o.gid);
        const t = utimeSeconds(n.mtimeNs);
        lutimesSync(p, t, t);
      } else if (n.link) hardlinks.push({ rel, node: n });
      else await addFile(rel, n);
    });
    // A hard link whose first file is not part of this restore gets that file's data.
    const under = (p: Buffer) => Boolean(start.ref) && (start.rel.length === 0 || (p.length > start.rel.length && p[start.rel.length] === 0x2f && p.subarray(0, start.rel.length).equals(start.rel)));
    for (let i = hardlinks.length - 1; i >= 0; i--) {
      const h = hardlinks[i]!;
      if (under(h.node.link!)) continue;
      const first = await findNode(o.reader, o.root, h.node.link!);
      hardlinks.splice(i, 1);
      if (first?.type === 'file' && !first.link) await addFile(h.rel, { ...h.node, chunks: first.chunks, size: first.size, link: undefined as never });
    }
    if (window.length) await submit(window);
    await running;
  } finally {
    flushJournal();
    closeSync(journalFd);
    await runner.close();
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
  const result = { files: count, dirs: dirs.length, symlinks, links: hardlinks.length, bytes: total };
  // The last line: the staging is whole (a later call with this journal returns at once).
  appendFileSync(journal, `complete ${JSON.stringify(result)}\n`);
  return { ...result, resumed: done.size, fetched };
}

function itemOf(c: ChunkRef): JobItem {
  return { offset: c.offset, length: c.length, raw: c.raw, id: c.id, key: c.key, targets: [] };
}

async function relocateChunks(files: PlannedFile[], r: Relocator): Promise<void> {
  const now = await r.moved(files.flatMap((f) => f.node.chunks.map((c) => ({ id: c.id.toString('hex'), pack: c.pack }))));
  if (!now.size) return;
  for (const f of files) {
    if (!f.node.chunks.some((c) => now.has(c.id.toString('hex')))) continue;
    f.node = { ...f.node, chunks: f.node.chunks.map((c) => ({ ...c, ...now.get(c.id.toString('hex')) })) };
  }
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
