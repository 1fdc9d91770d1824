/**
 * What every CLI command is: a name, a one-line summary, a usage text shown by
 * `--help`, and `run`, which parses and validates its arguments and calls one
 * core function. A typed error it lets through ends the command in main.ts
 * with the exit status the catalogue gives its code (util/coded-error.ts).
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { CodedError } from '../util/coded-error.ts';

export const EXIT_OK = 0;
/** Verification failed / refused / the job failed. */
export const EXIT_FAILED = 1;
/** Usage or parse error. */
export const EXIT_USAGE = 2;
/** Done, with skipped or failed items. */
export const EXIT_PARTIAL = 3;

export interface Io {
  out: (line: string) => void;
  err: (line: string) => void;
  /** Reads all of standard input (for --password-stdin and the like). */
  stdin?: () => Promise<string>;
  isTTY?: boolean;
}

export interface Command {
  name: string;
  summary: string;
  usage: string;
  run(args: string[], io: Io): Promise<number>;
}

/** Wrong arguments (code `usage`): the message is printed with the command's usage, exit 2. */
export class UsageError extends CodedError {
  override name = 'UsageError';
  declare readonly code: 'usage';
  constructor(message: string) {
    super('usage', message);
  }
}

type Options = NonNullable<ParseArgsConfig['options']>;

/**
 * node:util parseArgs with `--help` built in and errors turned into UsageError.
 * Returns undefined when help was asked for (and printed).
 */
export function parseCommandArgs<O extends Options>(
  cmd: Pick<Command, 'usage'>,
  args: string[],
  options: O,
  io: Io,
  allowPositionals = true,
) {
  let parsed;
  try {
    parsed = parseArgs({ args, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals, strict: true });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  if ((parsed.values as Record<string, unknown>).help) {
    io.out(cmd.usage.trimEnd());
    return undefined;
  }
  return parsed;
}
