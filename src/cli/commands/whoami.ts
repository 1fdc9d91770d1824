/** `koder-snapshot whoami [--server URL] [--json]`: the account the saved login is for. */
import { formatBytes } from '../format.ts';
import { EXIT_OK, parseCommandArgs, type Command } from '../command.ts';
import { connect } from '../../drive/index.ts';
import { fingerprint } from '../identity.ts';

const usage = `Usage: koder-snapshot whoami [--server URL] [--json]

Shows the user name and id of the saved login, the server, the storage used
(and the quota), a pending account erasure if there is one, and the
fingerprint of the account's key that shares are sealed to (someone sharing
a snapshot with you sees it: compare).

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
    const keys = await client.getKeys();
    const fingerprints = keys.map((k) => fingerprint(new Uint8Array(Buffer.from(k.x25519, 'base64'))));
    if (parsed.values.json) {
      io.out(JSON.stringify({ server: session.server, ...me, key_fingerprints: fingerprints }, null, 2));
      return EXIT_OK;
    }
    io.out(`${me.name} (${me.id}) on ${session.server}`);
    io.out(`storage: ${formatBytes(me.usage.used)}${me.usage.limit !== null ? ` of ${formatBytes(me.usage.limit)}` : ''}`);
    if (me.erase_after) io.out(`account erasure scheduled for ${new Date(me.erase_after).toISOString()}`);
    for (const f of fingerprints) io.out(`key: ${f}`);
    if (!fingerprints.length) io.out('key: none yet (`koder-snapshot init` makes one)');
    return EXIT_OK;
  },
};
