/** `koder-snapshot share ID USER [--revoke]`: let another user read a snapshot (its chain, and its data v2 folders through their keys). */
import { EXIT_FAILED, EXIT_OK, UsageError, parseCommandArgs, type Command } from '../command.ts';
import { connect, resolveSnapshotId } from '../../drive/index.ts';
import { resolveChain } from '../../manifest/index.ts';
import { hasTrees, sealShareKeys, treeKeysOf } from '../../store/share-keys.ts';
import { fingerprint, loadMyIdentity, NoIdentityError } from '../identity.ts';

const usage = `Usage: koder-snapshot share ID USER [--revoke] [--identity DIR] [--server URL]

Grants USER (a user name on the same server) read access to snapshot ID,
its parent chain and their blobs. Read only: they cannot change or delete
anything. --revoke takes the access back. ID may be a unique prefix.

Folders and repositories of a data v2 snapshot are encrypted: the share
hands USER the keys of this snapshot's trees only, sealed to USER's public
key (its fingerprint is printed: compare it with theirs, \`koder-snapshot
whoami\`). Never your account's keys: your other snapshots stay unreadable
to them. Revoking stops what they have not fetched yet; what they already
read cannot be taken back.

Exit status: 0 ok, 1 not found / refused, 2 usage error.`;

export const share: Command = {
  name: 'share',
  summary: 'share a snapshot (read-only) with another user',
  usage,
  async run(args, io) {
    const parsed = parseCommandArgs(this, args, { server: { type: 'string' }, revoke: { type: 'boolean' }, identity: { type: 'string' } }, io);
    if (!parsed) return EXIT_OK;
    const [idArg, user, ...rest] = parsed.positionals;
    if (!idArg || !user || rest.length) throw new UsageError('expected ID and USER');
    const { client } = await connect({ server: parsed.values.server });
    const { id, owner } = await resolveSnapshotId(client, idArg);
    if (owner) throw new UsageError(`${id} is a snapshot someone shared with you; only its owner can share it`);
    if (parsed.values.revoke) {
      await client.unshare(id, user);
      io.out(`${user} can no longer read ${id} (what they already fetched cannot be taken back).`);
      return EXIT_OK;
    }
    const trusted = (await client.getKeys()).map((k) => new Uint8Array(Buffer.from(k.ed25519, 'base64')));
    const { folded } = await resolveChain(id, (x) => client.getManifest(x), trusted);
    let sealed: string | undefined;
    let trees = 0;
    if (hasTrees(folded)) {
      // Data v2: its folders open only with their tree keys, which my identity derives.
      let identity;
      try {
        identity = await loadMyIdentity(parsed.values.identity ? { identity: parsed.values.identity } : {});
      } catch (e) {
        if (!(e instanceof NoIdentityError)) throw e;
        io.err(`koder-snapshot share: ${e.message} (its encrypted folders need your keys)`);
        return e.info.exit;
      }
      const keys = treeKeysOf(folded, identity);
      trees = keys.size;
      const them = await client.lookupUser(user);
      const key = them.keys[0];
      if (!key) {
        io.err(`koder-snapshot share: ${user} has no public key yet (they run \`koder-snapshot init\` once); their copy could not open the encrypted folders`);
        return EXIT_FAILED;
      }
      const x25519 = new Uint8Array(Buffer.from(key.x25519, 'base64'));
      io.out(`${user}'s key: ${fingerprint(x25519)}`);
      sealed = await sealShareKeys(id, keys, x25519);
    }
    const r = await client.share(id, user, sealed);
    io.out(r.created ? `${user} can now read ${id} and its chain${trees ? ` (${trees} encrypted tree(s) opened for them)` : ''}.` : `${id} is shared with ${user}${sealed ? ' (keys updated)' : ''}.`);
    return EXIT_OK;
  },
};
