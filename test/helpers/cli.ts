/** Run the CLI in-process with captured output, or as a child process (as the installer job runs it). */
import { spawn } from 'node:child_process';
import { main } from '../../src/cli/main.ts';

export async function runCli(args: string[], stdin = '') {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { out: (l) => out.push(l), err: (l) => err.push(l), stdin: async () => stdin, isTTY: false });
  return { code, stdout: out.join('\n'), stderr: err.join('\n') };
}

const BIN = new URL('../../bin/koder-snapshot.mjs', import.meta.url).pathname;

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * `bin/koder-snapshot.mjs ARGS` in a child process with `env`; `killWhen`
 * SIGKILLs it once stdout satisfies it; `onLine` sees each stdout line as it
 * arrives.
 */
export function spawnCli(args: string[], o: { env: NodeJS.ProcessEnv; stdin?: string; killWhen?: (stdout: string) => boolean; onLine?: (line: string) => void }): Promise<CliRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: o.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let partial = '';
    child.stdout.on('data', (d) => {
      stdout += d;
      if (o.onLine) {
        const lines = (partial + d).split('\n');
        partial = lines.pop()!;
        for (const l of lines) o.onLine(l);
      }
      if (o.killWhen?.(stdout)) child.kill('SIGKILL');
    });
    child.stderr.on('data', (d) => (stderr += d));
    child.stdin.end(o.stdin ?? '');
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}
