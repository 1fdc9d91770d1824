/**
 * Runs one of the project's throwaway-engine scripts (`scripts/postgres.sh`,
 * `scripts/ceph-rgw.sh`): `start DIR --watch <this pid>` in a fresh mkdtemp
 * DIR, parses the `KEY=VALUE` lines it prints, and `stop DIR` on `stop()`.
 * The script owns the daemons and DIR; `--watch` makes it stop by itself if
 * this process dies before `stop()` (a test file killed on a timeout).
 * A start that fails rejects with the script's stderr (the tail of the
 * daemon's log) and leaves nothing behind. Shared by test/helpers/ceph.ts
 * and test/helpers/postgres.ts.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export type EngineScript = 'postgres.sh' | 'ceph-rgw.sh';

export interface RunningEngine {
  /** What the script printed, e.g. `{ DATABASE_URL: 'postgres://…' }`. */
  facts: Record<string, string>;
  /** The engine's folder (removed by `stop`). */
  dir: string;
  /** Wall time of `start`, in ms. */
  startMs: number;
  /** Kills the daemons and removes `dir`. Idempotent. */
  stop(): Promise<void>;
}

const SCRIPTS = fileURLToPath(new URL('../../scripts/', import.meta.url));

function run(script: EngineScript, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('bash', [join(SCRIPTS, script), ...args], { maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`scripts/${script} ${args.join(' ')} failed (${err.code ?? err.signal}):\n${stderr}`));
      else resolve(stdout);
    });
  });
}

export function parseFacts(stdout: string): Record<string, string> {
  const facts: Record<string, string> = {};
  for (const line of stdout.split('\n')) {
    const m = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(line);
    if (m) facts[m[1]!] = m[2]!;
  }
  return facts;
}

export async function startEngine(script: EngineScript, need: string[]): Promise<RunningEngine> {
  // Short path: Ceph's admin sockets live in DIR (a unix socket path has ≤ 107 bytes).
  const dir = await mkdtemp(join(tmpdir(), `koder-${script.replace(/\.sh$/, '')}-`));
  const t0 = performance.now();
  const facts = parseFacts(await run(script, ['start', dir, '--watch', String(process.pid)]));
  const startMs = performance.now() - t0;
  let stopped: Promise<void> | undefined;
  const stop = () => (stopped ??= run(script, ['stop', dir]).then(() => undefined));
  const missing = need.filter((k) => !facts[k]);
  if (missing.length > 0) {
    await stop();
    throw new Error(`scripts/${script} start printed no ${missing.join(', ')}`);
  }
  return { facts, dir, startMs, stop };
}

/** The processes' summed proportional set size (shared pages split among sharers), in MiB. */
export async function pssMiB(pids: number[]): Promise<number> {
  let kib = 0;
  for (const pid of pids) {
    try {
      const m = /^Pss:\s+(\d+) kB/m.exec(await readFile(`/proc/${pid}/smaps_rollup`, 'utf8'));
      kib += Number(m?.[1] ?? 0);
    } catch {
      // gone meanwhile
    }
  }
  return kib / 1024;
}

/** The pid in a pid file (first line), or undefined when it is missing. */
export async function pidFromFile(path: string): Promise<number | undefined> {
  try {
    const n = Number((await readFile(path, 'utf8')).split('\n')[0]);
    return Number.isInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

/** The direct children of `pid` (from /proc/<pid>/task/<pid>/children). */
export async function childPids(pid: number): Promise<number[]> {
  try {
    const text = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8');
    return text.split(' ').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}
