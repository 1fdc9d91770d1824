/** `koder-snapshot delete ID [--cascade]`: delete a snapshot from the server. */
import { EXIT_OK, UsageError, parseCommandArgs, type Command } from '../command.ts';
import { connect, resolveSnapshotId } from '../../drive/index.ts';

const usage = `Usage: koder-snapshot delete ID [--cascade] [--server URL]

Deletes snapshot ID (a unique prefix is enough) from the server. A snapshot
that deltas depend on is refused unless --cascade, which deletes them too.
Blobs no remaining snapshot references are removed from the server.

Exit status: 0 deleted, 1 not found / has children / refused, 2 usage error.`;

export const del: Command = {
  name: 'delete',
  summary: 'delete a snapshot (and, with --cascade, its deltas) from the server',
  usage,
  async run(args, io) {
    const parsed = parseCommandArgs(this, args, { server: { type: 'string' }, cascade: { type: 'boolean' } }, io);
    if (!parsed) return EXIT_OK;
    const [idArg, ...rest] = parsed.positionals;
    if (!idArg || rest.length) throw new UsageError('expected one snapshot ID');
    const { client } = await connect({ server: parsed.values.server });
    const { id } = await resolveSnapshotId(client, idArg);
    const deleted = await client.deleteSnapshot(id, { cascade: parsed.values.cascade === true });
    for (const d of deleted) io.out(`deleted ${d}`);
    return EXIT_OK;
  },
};
