/** `koder-snapshot share ID USER [--revoke]`: let another user read a snapshot (its chain and blobs). */
import { EXIT_OK, UsageError, parseCommandArgs, type Command } from '../command.ts';
import { connect, resolveSnapshotId } from '../../drive/index.ts';

const usage = `Usage: koder-snapshot share ID USER [--revoke] [--server URL]

Grants USER (a user name on the same server) read access to snapshot ID,
its parent chain and their blobs. Read only: they cannot change or delete
anything. --revoke takes the access back. ID may be a unique prefix.

Exit status: 0 ok, 1 not found / refused, 2 usage error.`;

export const share: Command = {
  name: 'share',
  summary: 'share a snapshot (read-only) with another user',
  usage,
  async run(args, io) {
    const parsed = parseCommandArgs(this, args, { server: { type: 'string' }, revoke: { type: 'boolean' } }, io);
    if (!parsed) return EXIT_OK;
    const [idArg, user, ...rest] = parsed.positionals;
    if (!idArg || !user || rest.length) throw new UsageError('expected ID and USER');
    const { client } = await connect({ server: parsed.values.server });
    const { id } = await resolveSnapshotId(client, idArg);
    if (parsed.values.revoke) {
      await client.unshare(id, user);
      io.out(`${user} can no longer read ${id}.`);
    } else {
      const r = await client.share(id, user);
      io.out(r.created ? `${user} can now read ${id} and its chain.` : `${id} was already shared with ${user}.`);
    }
    return EXIT_OK;
  },
};
