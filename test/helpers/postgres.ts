/**
 * A throwaway PostgreSQL 15 for tests and benches, started by
 * `scripts/postgres.sh` (trust auth, durability off, 127.0.0.1 + a socket in
 * its folder, a database `koder`; ~1–1.5 s). Real engine, never a mock.
 *
 *   const db = postgresPerFile();          // in a test file: beforeAll/afterAll
 *   test('…', async () => { const client = new pg.Client(db().url); … });
 *
 *   const db = await startPostgres();      // anywhere else (bench/): stop() when done
 */
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { childPids, pidFromFile, pssMiB, startEngine } from './engine.ts';

export interface Postgres {
  /** `postgres://postgres@127.0.0.1:PORT/koder` (DATABASE_URL). */
  url: string;
  host: string;
  port: number;
  user: string;
  database: string;
  /** The facts as environment variables (DATABASE_URL, PGHOST, PGPORT, PGUSER, PGDATABASE), for a child process. */
  env: Record<string, string>;
  /** The cluster's folder (data/, postgres.log, the socket). */
  dir: string;
  /** Wall time of the start, in ms. */
  startMs: number;
  /** The postmaster's and its children's PSS, in MiB. */
  pssMiB(): Promise<number>;
  stop(): Promise<void>;
}

export async function startPostgres(): Promise<Postgres> {
  const e = await startEngine('postgres.sh', ['DATABASE_URL', 'PGHOST', 'PGPORT', 'PGUSER', 'PGDATABASE']);
  const f = e.facts;
  return {
    url: f.DATABASE_URL!,
    host: f.PGHOST!,
    port: Number(f.PGPORT),
    user: f.PGUSER!,
    database: f.PGDATABASE!,
    env: f,
    dir: e.dir,
    startMs: e.startMs,
    async pssMiB() {
      const main = await pidFromFile(join(e.dir, 'data', 'postmaster.pid'));
      return main ? pssMiB([main, ...(await childPids(main))]) : 0;
    },
    stop: e.stop,
  };
}

/** Starts one server for this test file (beforeAll) and stops it after (afterAll). */
export function postgresPerFile(): () => Postgres {
  let pg: Postgres | undefined;
  beforeAll(async () => {
    pg = await startPostgres();
  });
  afterAll(async () => {
    await pg?.stop();
  });
  return () => {
    if (!pg) throw new Error('postgresPerFile(): the server is not started (call it at the top of the file, use it inside tests)');
    return pg;
  };
}
