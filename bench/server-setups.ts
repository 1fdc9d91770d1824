/**
 * bench/server-setups.ts — what bench/server.ts measures, as processes:
 *   sqlite   one server-child.ts on SQLite + files in a temp folder
 *   pg       one on PostgreSQL 15 + Ceph radosgw (a database and a bucket prefix of its own)
 *   pg2      two on one database and prefix, behind balancer.ts (one public URL, their issuer)
 * and the CPU time each part used (from /proc: the servers, the balancer,
 * PostgreSQL with its backends, Ceph's mon + osd + radosgw, this process).
 * The engines (scripts/postgres.sh, scripts/ceph-rgw.sh) start once, on first need.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { createServer } from 'node:net';
import { startPostgres } from '../test/helpers/postgres.ts';
import { startCeph } from '../test/helpers/ceph.ts';
import { freshDatabase, freshBucketPrefix } from '../test/helpers/backends.ts';
import { childPids, pidFromFile } from '../test/helpers/engine.ts';
import { NODE_FLAGS } from '../src/util/process-tuning.ts';

const HERE = new URL('.', import.meta.url).pathname;

export interface BenchOptions {
  users: number;
  /** CPU profiles of the server processes into this folder. */
  prof?: string;
}

// ── processes ────────────────────────────────────────────────────────────

interface Child {
  child: ChildProcess;
  url: string;
  stop(): Promise<void>;
}

async function spawnNode(args: string[], prof?: string): Promise<Child> {
  const profArgs = prof ? ['--cpu-prof', '--cpu-prof-dir', prof] : [];
  const child = spawn(process.execPath, [...NODE_FLAGS, ...profArgs, '--import', 'tsx', ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  const first = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (c) => reject(new Error(`${args[0]} exited (${c}) before it listened`)));
  });
  const exited = new Promise((r) => child.once('exit', r));
  return {
    child,
    url: (JSON.parse(first) as { url: string }).url,
    async stop() {
      child.stdin!.end();
      await exited;
    },
  };
}

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });

// ── CPU accounting from /proc (clock ticks of 1/100 s) ──────────────────

function cpuSeconds(pid: number, withReaped = false): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    // fields 14-17 of stat (utime stime cutime cstime) are 11-14 after "pid (comm) "
    const ticks = Number(f[11]) + Number(f[12]) + (withReaped ? Number(f[13]) + Number(f[14]) : 0);
    return ticks / 100;
  } catch {
    return 0;
  }
}

export interface Group {
  name: string;
  pids(): Promise<number[]>;
  /** Also count children it reaped (PostgreSQL's backends that ended). */
  reaped?: boolean;
}

export async function groupCpu(groups: Group[]): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const g of groups) {
    let s = 0;
    for (const pid of await g.pids()) s += cpuSeconds(pid, g.reaped);
    out[g.name] = s;
  }
  const me = process.cpuUsage();
  out.client = (me.user + me.system) / 1e6;
  return out;
}

// ── the setups ───────────────────────────────────────────────────────────

export interface Setup {
  name: string;
  url: string;
  groups: Group[];
  stop(): Promise<void>;
}

let engines: { pg: Awaited<ReturnType<typeof startPostgres>>; ceph: Awaited<ReturnType<typeof startCeph>> } | undefined;
const CHILD = join(HERE, 'server-child.ts');

async function theEngines() {
  if (!engines) {
    const [pg, ceph] = await Promise.all([startPostgres(), startCeph()]);
    engines = { pg, ceph };
  }
  return engines;
}

function engineGroups(e: NonNullable<typeof engines>): Group[] {
  return [
    {
      name: 'postgres',
      reaped: true,
      pids: async () => {
        const main = await pidFromFile(join(e.pg.dir, 'data', 'postmaster.pid'));
        return main ? [main, ...(await childPids(main))] : [];
      },
    },
    {
      name: 'ceph',
      pids: async () => {
        const run = join(e.ceph.dir, 'run');
        const pids = await Promise.all(readdirSync(run).filter((n) => n.endsWith('.pid')).map((n) => pidFromFile(join(run, n))));
        return pids.filter((p): p is number => p !== undefined);
      },
    },
  ];
}

export async function setup(kind: string, o: BenchOptions): Promise<Setup> {
  if (kind === 'sqlite') {
    const dataDir = mkdtempSync(join(tmpdir(), 'koder-bench-'));
    const s = await spawnNode([CHILD, '--make-users', '--users', String(o.users), '--data', dataDir], o.prof);
    return {
      name: 'sqlite+files ×1',
      url: s.url,
      groups: [{ name: 'servers', pids: async () => [s.child.pid!] }],
      async stop() {
        await s.stop();
        rmSync(dataDir, { recursive: true, force: true });
      },
    };
  }
  const e = await theEngines();
  const db = await freshDatabase(e.pg);
  const blobs = freshBucketPrefix(e.ceph);
  const n = kind === 'pg2' ? 2 : 1;
  const common = ['--db', db, '--blobs', blobs, '--users', String(o.users)];
  if (n === 1) {
    const s = await spawnNode([CHILD, '--make-users', ...common], o.prof);
    return { name: 'postgres+s3 ×1', url: s.url, groups: [{ name: 'servers', pids: async () => [s.child.pid!] }, ...engineGroups(e)], stop: () => s.stop() };
  }
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const first = await spawnNode([CHILD, '--make-users', ...common, '--issuer', issuer], o.prof);
  const second = await spawnNode([CHILD, ...common, '--issuer', issuer], o.prof);
  const lb = await spawnNode([join(HERE, 'balancer.ts'), '--port', String(port), '--to', `${first.url},${second.url}`]);
  return {
    name: 'postgres+s3 ×2 + balancer',
    url: lb.url,
    groups: [{ name: 'servers', pids: async () => [first.child.pid!, second.child.pid!] }, { name: 'balancer', pids: async () => [lb.child.pid!] }, ...engineGroups(e)],
    async stop() {
      await lb.stop();
      await Promise.all([first.stop(), second.stop()]);
    },
  };
}

/** Stops the engines, if they were started. */
export async function stopEngines(): Promise<void> {
  await engines?.ceph.stop();
  await engines?.pg.stop();
}
