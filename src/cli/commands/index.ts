/** The command table. One file a command. */
import type { Command } from '../command.ts';
import { del } from './delete.ts';
import { demo } from './demo.ts';
import { init } from './init.ts';
import { keygen } from './keygen.ts';
import { list } from './list.ts';
import { login } from './login.ts';
import { logout } from './logout.ts';
import { pull } from './pull.ts';
import { push } from './push.ts';
import { serve } from './serve.ts';
import { share } from './share.ts';
import { sign } from './sign.ts';
import { verify } from './verify.ts';
import { restore } from './restore.ts';
import { schedule } from './schedule.ts';
import { capture } from './capture.ts';
import { config } from './config.ts';
import { daemon } from './daemon.ts';
import { whoami } from './whoami.ts';
import { ls } from './ls.ts';
import { exportCmd } from './export.ts';
import { app } from './app.ts';
import { prune } from './prune.ts';

export const commands: Command[] = [init, capture, schedule, config, keygen, sign, verify, serve, login, logout, whoami, list, ls, push, pull, share, del, prune, exportCmd, restore, daemon, app, demo];
