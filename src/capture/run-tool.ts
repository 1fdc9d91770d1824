/**
 * Running the tools capture reads from (apt-mark, gsettings, snap, flatpak,
 * git, …). A tool that is not installed is an answer, not an error
 * (`missing: true`): the collector then gives an empty section. Output is
 * collected up to a bound; nothing is ever passed through a shell.
 */
import { spawn } from 'node:child_process';

export interface ToolResult {
  /** The executable was not found (ENOENT). */
  missing: boolean;
  /** Exit code; -1 when it did not run or was killed. */
  code: number;
  stdout: string;
  stderr: string;
}

export interface ToolOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Bytes of stdout kept (default 64 MiB); beyond that the tool is killed. */
  maxOutput?: number;
  timeoutMs?: number;
  signal?: AbortSignal;
}

export function runTool(cmd: string, args: readonly string[], o: ToolOptions = {}): Promise<ToolResult> {
  const max = o.maxOutput ?? 64 * 1024 * 1024;
  return new Promise((resolve) => {
    let child;
    try {
      child = spawn(cmd, args, { env: o.env ?? process.env, cwd: o.cwd, stdio: ['ignore', 'pipe', 'pipe'], timeout: o.timeoutMs, signal: o.signal });
    } catch (e) {
      resolve({ missing: (e as NodeJS.ErrnoException).code === 'ENOENT', code: -1, stdout: '', stderr: (e as Error).message });
      return;
    }
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outBytes = 0;
    let errBytes = 0;
    child.stdout.on('data', (c: Buffer) => {
      outBytes += c.length;
      if (outBytes > max) child.kill('SIGKILL');
      else out.push(c);
    });
    child.stderr.on('data', (c: Buffer) => {
      errBytes += c.length;
      if (errBytes <= 1024 * 1024) err.push(c);
    });
    let missing = false;
    child.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') missing = true;
    });
    child.on('close', (code) => {
      resolve({ missing, code: code ?? -1, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
  });
}

/** The last non-empty lines of a tool's stderr, for a message. */
export function stderrTail(r: Pick<ToolResult, 'stderr' | 'code'>, lines = 2): string {
  const tail = r.stderr.split('\n').map((l) => l.trim()).filter(Boolean).slice(-lines).join(' | ');
  return tail || `exit code ${r.code}`;
}
