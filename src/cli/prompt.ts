/** Terminal prompts for the CLI. */
import { UsageError } from './command.ts';

/** Reads a line from the terminal without echoing it. */
export async function promptHidden(question: string, stdinHint = '--password-stdin'): Promise<string> {
  const stdin = process.stdin;
  if (!stdin.isTTY) throw new UsageError(`no terminal to ask on: use ${stdinHint}`);
  process.stderr.write(question);
  stdin.setRawMode(true);
  stdin.resume();
  stdin.setEncoding('utf8');
  return new Promise((resolve, reject) => {
    let value = '';
    const done = (err?: Error) => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.off('data', onData);
      process.stderr.write('\n');
      if (err) reject(err);
      else resolve(value);
    };
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n') return done();
        if (ch === '\u0003') return done(new UsageError('canceled'));
        if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
        else if (ch >= ' ') value += ch;
      }
    };
    stdin.on('data', onData);
  });
}

/** The first line of standard input (for --password-stdin and the like). */
export async function firstLineOfStdin(io: { stdin?: () => Promise<string> }): Promise<string> {
  if (!io.stdin) throw new UsageError('standard input is not available');
  const text = await io.stdin();
  return text.replace(/\r?\n$/, '').split(/\r?\n/)[0] ?? '';
}
