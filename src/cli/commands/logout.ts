/** `koder-snapshot logout [--server URL]`: revoke the refresh token and delete the token file. */
import { EXIT_OK, parseCommandArgs, type Command } from '../command.ts';
import { AuthSession } from '../../auth/index.ts';

const usage = `Usage: koder-snapshot logout [--server URL]

Revokes the saved refresh token on the server (when reachable) and deletes
the token file. Default server: the last one logged in to.

Exit status: 0 logged out, 1 not logged in, 2 usage error.`;

export const logout: Command = {
  name: 'logout',
  summary: 'forget (and revoke) the saved login',
  usage,
  async run(args, io) {
    const parsed = parseCommandArgs(this, args, { server: { type: 'string' } }, io, false);
    if (!parsed) return EXIT_OK;
    const session = await AuthSession.load(parsed.values.server);
    await session.logout();
    io.out(`Logged out of ${session.server}.`);
    return EXIT_OK;
  },
};
