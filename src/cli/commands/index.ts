/** The command table. One file a command. */
import type { Command } from '../command.ts';

export const commands: Command[] = [];
