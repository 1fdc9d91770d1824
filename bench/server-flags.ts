/**
 * The benches run the reference server in their own process (testServer):
 * that process starts as `koder-snapshot serve` does (NODE_FLAGS,
 * src/util/process-tuning.ts, docs/deploy.md), or the server's figures would
 * be a process the product never runs. Called first in a bench's main: when
 * a flag is missing, the bench runs again in a child with them (same
 * arguments, same environment, same stdio) and this process exits with its
 * code.
 */
import { spawn } from 'node:child_process';
import { NODE_FLAGS } from '../src/util/process-tuning.ts';

export async function runAsServerRuns(): Promise<void> {
  const missing = NODE_FLAGS.filter((f) => !process.execArgv.includes(f));
  if (missing.length === 0) return;
  const child = spawn(process.execPath, [...missing, ...process.execArgv, ...process.argv.slice(1)], { stdio: 'inherit' });
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => child.kill(sig));
  const code = await new Promise<number>((resolve) => child.on('close', (c, sig) => resolve(c ?? (sig ? 128 : 1))));
  process.exit(code);
}
