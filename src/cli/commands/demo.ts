/** `koder-snapshot demo` (npm start): the main job on an embedded default. */
import { EXIT_OK, parseCommandArgs, type Command } from '../command.ts';

const usage = `Usage: koder-snapshot demo

Runs the embedded default: the local reference server, a demo user with a
seeded snapshot chain, the installer wizard and a scratch target root.`;

export const demo: Command = {
  name: 'demo',
  summary: 'run the local server, a demo user and the wizard (npm start)',
  usage,
  async run(args, io) {
    if (!parseCommandArgs(this, args, {}, io, false)) return EXIT_OK;
    io.out('Koder Snapshots — demo');
    io.out('Built so far: the manifest core (parse, sign, verify, chains, deltas) and identity keys.');
    io.out('Not built yet: the reference server, the restore engine and the wizard this demo will start.');
    io.out('Try: node bin/koder-snapshot.mjs --help');
    return EXIT_OK;
  },
};
