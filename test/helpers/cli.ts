/** Run the CLI in-process with captured output. */
import { main } from '../../src/cli/main.ts';

export async function runCli(args: string[], stdin = '') {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { out: (l) => out.push(l), err: (l) => err.push(l), stdin: async () => stdin, isTTY: false });
  return { code, stdout: out.join('\n'), stderr: err.join('\n') };
}
