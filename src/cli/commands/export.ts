/** `koder-snapshot export --to DIR`: a snapshot and its chain as a local repository, for restores without the network. */
import { resolve } from 'node:path';
import { EXIT_OK, UsageError, parseCommandArgs, type Command } from '../command.ts';
import { connect, resolveSnapshotId } from '../../drive/index.ts';
import { exportSnapshot } from '../../export/export.ts';
import { formatBytes } from '../format.ts';
import { myIdentity, SECRET_OPTIONS, SECRET_USAGE } from '../snapshot-keys.ts';

const usage = `Usage: koder-snapshot export --to DIR [--snapshot ID] [--with-debs] [options]

Writes snapshot ID (default: your newest) with its whole chain into DIR as
a local repository — the same packs, trees and signed manifests as on the
server, your key vault and your public keys (signed with your identity) —
so that \`koder-snapshot restore --from DIR\`, or the installer's "Restore
from a drive", restores it without the network. Run it again (after new
captures) into the same DIR: only what DIR does not have is written.

Nothing in DIR is readable without your passphrase or recovery key, and a
restore refuses an export that was altered.

Options:
  --to DIR                 the folder (created; a USB drive's, say /media/you/USB/koder)
  --snapshot ID            a snapshot id or unique prefix (default: the newest)
  --with-debs              also the .deb files of its apt packages and what they need
                           (apt-get download, with the archive's signed indexes they are
                           checked against), so that the apps install offline too
  --server URL             Koder ID + Drive server (default: the last login)
${SECRET_USAGE}
  -h, --help               this help

Exit status: 0 exported, 1 refused or failed, 2 usage error.`;

export const exportCmd: Command = {
  name: 'export',
  summary: 'write a snapshot as a local repository (a drive) for offline restores',
  usage,
  async run(args, io) {
    const parsed = parseCommandArgs(this, args, { to: { type: 'string' }, snapshot: { type: 'string' }, 'with-debs': { type: 'boolean' }, server: { type: 'string' }, ...SECRET_OPTIONS }, io);
    if (!parsed) return EXIT_OK;
    const v = parsed.values;
    if (!v.to) throw new UsageError('--to DIR is required');
    if (parsed.positionals.length) throw new UsageError(`unexpected argument ${parsed.positionals[0]}`);
    const { client } = await connect({ server: v.server });
    let id: string;
    if (v.snapshot) {
      const found = await resolveSnapshotId(client, v.snapshot);
      if (found.owner) throw new UsageError(`${found.id} is a snapshot someone shared with you: only your own snapshots are exported`);
      id = found.id;
    } else {
      const mine = (await client.listSnapshots()).sort((a, b) => Date.parse(b.created_at) - Date.parse(a.created_at) || b.uploaded_at - a.uploaded_at);
      if (!mine[0]) throw new UsageError('you have no snapshot to export');
      id = mine[0].id;
    }
    const identity = await myIdentity(client, v, io);
    const dir = resolve(v.to);
    io.err(`Exporting snapshot ${id.slice(0, 12)} into ${dir}…`);
    const r = await exportSnapshot({ client, snapshotId: id, dir, identity, withDebs: v['with-debs'] === true, log: (l) => io.err(l) });
    io.out(`exported ${r.snapshot.id} (${r.snapshot.hostname}, ${r.snapshot.created_at}) into ${dir}: ${r.blobs} blobs, ${r.newBlobs} written now (${formatBytes(r.written)})${r.debs ? `, ${r.debs.debs} .debs` : ''}`);
    return EXIT_OK;
  },
};
