/** `koder-snapshot list [--shared] [--json]`: my snapshots (or those shared with me). */
import { EXIT_OK, parseCommandArgs, type Command } from '../command.ts';
import { connect } from '../../drive/index.ts';
import { formatBytes } from '../format.ts';

const usage = `Usage: koder-snapshot list [--server URL] [--shared] [--json]

Lists your snapshots on the server, newest upload first: id (first 12 hex
digits; any unique prefix names it), creation time, hostname, chain depth,
parent, manifest + blob sizes. With --shared: the snapshots others shared
with you, and who shared them.

Exit status: 0 ok, 1 not logged in or the server refused, 2 usage error.`;

export const list: Command = {
  name: 'list',
  summary: 'list snapshots on the server',
  usage,
  async run(args, io) {
    const parsed = parseCommandArgs(this, args, { server: { type: 'string' }, shared: { type: 'boolean' }, json: { type: 'boolean' } }, io, false);
    if (!parsed) return EXIT_OK;
    const { client } = await connect({ server: parsed.values.server });
    const rows = parsed.values.shared ? await client.sharedWithMe() : await client.listSnapshots();
    if (parsed.values.json) {
      io.out(JSON.stringify(rows, null, 2));
      return EXIT_OK;
    }
    if (rows.length === 0) {
      io.err(parsed.values.shared ? 'nothing is shared with you' : 'no snapshots yet');
      return EXIT_OK;
    }
    const table = rows.map((s) => [
      s.id.slice(0, 12),
      s.created_at,
      s.hostname,
      String(s.depth),
      s.parent ? s.parent.slice(0, 12) : '-',
      formatBytes(s.manifest_size + s.blobs_size),
      ...('owner_name' in s ? [String(s.owner_name)] : []),
    ]);
    const head = ['ID', 'CREATED', 'HOST', 'DEPTH', 'PARENT', 'SIZE', ...(parsed.values.shared ? ['OWNER'] : [])];
    const widths = head.map((h, i) => Math.max(h.length, ...table.map((r) => r[i]!.length)));
    for (const r of [head, ...table]) io.out(r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd());
    return EXIT_OK;
  },
};
