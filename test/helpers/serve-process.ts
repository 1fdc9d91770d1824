/**
 * `koder-snapshot serve` as a child process (as an operator runs it, one per
 * core or machine), on the storage URLs given; ready once it prints where it
 * listens. `stop()` sends SIGTERM and waits; `kill()` is SIGKILL (a crash).
 */
import { spawn, type ChildProcess } from 'node:child_process';

const BIN = new URL('../../bin/koder-snapshot.mjs', import.meta.url).pathname;

export interface ServeProcess {
  /** Where this process listens (with --issuer, the public URL may be another: a balancer's). */
  url: string;
  pid: number;
  child: ChildProcess;
  /** Everything it wrote to stderr so far. */
  stderr(): string;
  stop(): Promise<void>;
  kill(): Promise<void>;
}

export async function startServeProcess(o: { db: string; blobs: string; issuer?: string; env?: NodeJS.ProcessEnv; args?: string[] }): Promise<ServeProcess> {
  const args = ['serve', '--port', '0', '--db', o.db, '--blobs', o.blobs, ...(o.issuer ? ['--issuer', o.issuer] : []), ...(o.args ?? [])];
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...o.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start in 60 s:\n${err}`)), 60_000);
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /listening on (https?:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`serve exited before listening:\n${err}`));
    });
  });
  return {
    url,
    pid: child.pid!,
    child,
    stderr: () => err,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}
