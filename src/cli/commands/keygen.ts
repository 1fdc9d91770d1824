/** `koder-snapshot keygen --out DIR [--force]`: make a new identity and write it to DIR. */
import { EXIT_OK, UsageError, parseCommandArgs, type Command } from '../command.ts';
import { generateIdentity, publicIdentity, saveIdentity } from '../../keys/identity.ts';

const usage = `Usage: koder-snapshot keygen --out DIR [--force]

Generates a new identity: an Ed25519 key that signs snapshots and an X25519
key that secrets are sealed to. Writes DIR/identity.key (private, mode 0600)
and DIR/identity.pub.json (public keys); DIR is created, or made, mode 0700.
Prints the key_id and the public keys.

Options:
  --out DIR    directory to write the identity to (required)
  --force      replace an identity already in DIR; secrets sealed to the old
               key can then no longer be opened with this directory
  -h, --help   show this help

Exit status: 0 written, 1 refused or failed (e.g. an identity already exists),
2 usage error.
`;

export const keygen: Command = {
  name: 'keygen',
  summary: 'generate an identity (signing + sealing keys) into a directory',
  usage,
  async run(args, io) {
    const parsed = parseCommandArgs(
      keygen,
      args,
      { out: { type: 'string', short: 'o' }, force: { type: 'boolean' } },
      io,
      false,
    );
    if (!parsed) return EXIT_OK;
    const { out, force } = parsed.values;
    if (out === undefined || out === '') throw new UsageError('--out DIR is required');
    // KeyError (identity_exists, …) and file-system errors (node names the path) end the command in main.ts.
    const id = await generateIdentity();
    const saved = await saveIdentity(out, id, { force: force === true });
    const pub = publicIdentity(id);
    io.out(`key_id   ${pub.key_id}`);
    io.out(`ed25519  ${pub.ed25519}`);
    io.out(`x25519   ${pub.x25519}`);
    io.err(`wrote ${saved.privatePath} (private, mode 0600) and ${saved.publicPath}`);
    return EXIT_OK;
  },
};
