/** `koder-snapshot pull ID --out DIR`: a snapshot's verified chain and its blobs into a folder. */
import { EXIT_OK, UsageError, parseCommandArgs, type Command } from '../command.ts';
import { VerificationError } from '../../manifest/index.ts';
import { connect, pullSnapshot, resolveSnapshotId } from '../../drive/index.ts';
import { parsePublicKey } from './verify.ts';

const usage = `Usage: koder-snapshot pull ID --out DIR [--owner USER_ID] [--pubkey BASE64]… [--all-blobs]
                          [--parallel N] [--server URL]

Downloads snapshot ID (a unique prefix of yours or of one shared with you)
with its whole parent chain into DIR as <id>.kvg files, verifying each id
and signature, and the blobs the folded snapshot needs into DIR/blobs/
(sha256-checked, resumed after dropped connections, N at a time).
Trusted keys: each --pubkey, else the owner's keys registered on the server.

Options:
  --out DIR        destination folder (created)
  --owner USER_ID  the owner, for a chain shared with you (found by itself
                   when ID is the shared snapshot)
  --pubkey BASE64  a trusted Ed25519 public key (repeatable)
  --all-blobs      also blobs only older snapshots of the chain reference
  --parallel N     downloads at a time (default 4)

Exit status: 0 pulled and verified, 1 verification failed / refused, 2 usage error.`;

export const pull: Command = {
  name: 'pull',
  summary: 'download a snapshot chain and its blobs, verified',
  usage,
  async run(args, io) {
    const parsed = parseCommandArgs(
      this,
      args,
      {
        server: { type: 'string' },
        out: { type: 'string', short: 'o' },
        owner: { type: 'string' },
        pubkey: { type: 'string', multiple: true },
        'all-blobs': { type: 'boolean' },
        parallel: { type: 'string' },
      },
      io,
    );
    if (!parsed) return EXIT_OK;
    const [idArg, ...rest] = parsed.positionals;
    if (!idArg || rest.length) throw new UsageError('expected one snapshot ID');
    const out = parsed.values.out;
    if (!out) throw new UsageError('--out DIR is required');
    const parallel = parsed.values.parallel === undefined ? 4 : Number(parsed.values.parallel);
    if (!Number.isInteger(parallel) || parallel < 1 || parallel > 64) throw new UsageError('--parallel: 1 to 64');
    const trusted = parsed.values.pubkey?.map(parsePublicKey);
    const { client } = await connect({ server: parsed.values.server });
    const found = await resolveSnapshotId(client, idArg, { includeShared: true });
    const owner = parsed.values.owner ?? found.owner;
    try {
      const r = await pullSnapshot(client, found.id, out, { owner, trusted, parallel, allBlobs: parsed.values['all-blobs'] === true });
      for (const l of r.chain) io.out(`OK ${l.id} → ${l.file}`);
      const total = r.blobs.reduce((n, b) => n + b.size, 0);
      io.out(`${r.blobs.length} blob(s), ${total} bytes, in ${out}/blobs`);
      return EXIT_OK;
    } catch (e) {
      if (e instanceof VerificationError) {
        io.err(`koder-snapshot pull: REFUSED: ${e.message}`);
        return e.info.exit;
      }
      throw e;
    }
  },
};
