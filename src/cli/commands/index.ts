/** The command table. One file a command. */
import type { Command } from '../command.ts';
import { demo } from './demo.ts';
import { keygen } from './keygen.ts';
import { sign } from './sign.ts';
import { verify } from './verify.ts';

export const commands: Command[] = [keygen, sign, verify, demo];
