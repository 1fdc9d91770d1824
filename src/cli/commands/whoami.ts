/** `koder-snapshot whoami [--server URL] [--json]`: the account the saved login is for. */
import { formatBytes } from '../format.ts';
import { EXIT_OK, parseCommandArgs, type Command } from '../command.ts';
import { connect } from '../../drive/index.ts';

const usage = `Usage: koder-snapshot whoami [--server URL] [--json]

Shows the user name and id of the saved login, the server, the storage used
(and the quota), and a pending account erasure if there is one.

Exit status: 0 ok, 1 not logged in or the server refused, 2 usage error.`;

export const whoami: Command = {
  name: 'whoami',
  summary: 'show who the saved login is',
  usage,
  async run(args, io) {
    const parsed = parseCommandArgs(this, args, { server: { type: 'string' }, json: { type: 'boolean' } }, io, false);
    if (!parsed) return EXIT_OK;
    const { session, client } = await connect({ server: parsed.values.server });
    const me = await client.me();
    if (parsed.values.json) {
      io.out(JSON.stringify({ server: session.server, ...me }, null, 2));
      return EXIT_OK;
    }
    io.out(`${me.name} (${me.id}) on ${session.server}`);
    io.out(`storage: ${formatBytes(me.usage.used)}${me.usage.limit !== null ? ` of ${formatBytes(me.usage.limit)}` : ''}`);
    if (me.erase_after) io.out(`account erasure scheduled for ${new Date(me.erase_after).toISOString()}`);
    return EXIT_OK;
  },
};
