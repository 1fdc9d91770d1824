/** `koder-snapshot COMMAND …`: dispatch to one command a file under commands/. */
import { EXIT_FAILED, EXIT_USAGE, UsageError, type Command, type Io } from './command.ts';
import { commands } from './commands/index.ts';
import { CodedError } from '../util/coded-error.ts';
import { errMessage } from '../util/fs.ts';
import { readFileSync } from 'node:fs';

const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

function usage(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    'Usage: koder-snapshot COMMAND [options]   (COMMAND --help for more)',
    '',
    'Declarative capture and one-click restore of a Linux environment.',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Options: --help, --version',
  ].join('\n');
}

export const defaultIo: Io = {
  out: (l) => process.stdout.write(l + '\n'),
  err: (l) => process.stderr.write(l + '\n'),
  stdin: async () => {
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  },
  isTTY: process.stdout.isTTY,
};

export async function main(argv: string[], io: Io = defaultIo): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    io.out(usage());
    return name ? 0 : EXIT_USAGE;
  }
  if (name === '--version' || name === '-V') {
    io.out(`koder-snapshot ${VERSION}`);
    return 0;
  }
  const cmd: Command | undefined = commands.find((c) => c.name === name);
  if (!cmd) {
    io.err(`koder-snapshot: unknown command '${name}'`);
    io.err(usage());
    return EXIT_USAGE;
  }
  try {
    return await cmd.run(rest, io);
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`koder-snapshot ${cmd.name}: ${e.message}`);
      io.err(cmd.usage.trimEnd());
      return EXIT_USAGE;
    }
    io.err(`koder-snapshot ${cmd.name}: ${errMessage(e)}`);
    // The catalogue decides the exit status of a typed error; anything else failed.
    return e instanceof CodedError ? e.info.exit : EXIT_FAILED;
  }
}
