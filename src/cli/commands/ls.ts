/** `koder-snapshot ls SNAPSHOT [PATH]`: the files inside a snapshot (data v2 trees). */
import { EXIT_OK, UsageError, parseCommandArgs, type Command } from '../command.ts';
import { connect, resolveSnapshotId } from '../../drive/index.ts';
import { resolveChain } from '../../manifest/index.ts';
import { driveBytes } from '../../store/store-writer.ts';
import { SnapshotFiles, type ListedEntry } from '../../store/snapshot-files.ts';
import { formatBytes } from '../format.ts';
import { SECRET_OPTIONS, SECRET_USAGE, treeKeysFor } from '../snapshot-keys.ts';

const usage = `Usage: koder-snapshot ls SNAPSHOT [PATH] [options]

Lists what a snapshot holds: without PATH, its folders (with their sizes
and file counts); with PATH (\`~/Documentos\`, \`~/Documentos/2026\`, a file),
the entries there: type, mode, size, modification time, name. SNAPSHOT is
an id or a unique prefix (yours, or one shared with you). The trees are
read from the server and authenticated; folders are encrypted, so this
needs your identity (the local one, or your vault opened with a secret).

Options:
${SECRET_USAGE}
  --json                   one JSON object per entry
  --server URL             Koder ID + Drive server (default: the last login)

Exit status: 0 ok, 1 refused / locked / not found on the server, 2 usage error or PATH not in the snapshot.`;

const MODE_CHARS = 'rwxrwxrwx';
function modeText(e: ListedEntry): string {
  const t = e.type === 'dir' || e.type === 'folder-v1' ? 'd' : e.type === 'symlink' ? 'l' : '-';
  if (e.mode === undefined) return `${t}?????????`;
  let s = t;
  for (let i = 0; i < 9; i++) s += e.mode & (1 << (8 - i)) ? MODE_CHARS[i] : '-';
  return s;
}

export const ls: Command = {
  name: 'ls',
  summary: 'list the files inside a snapshot',
  usage,
  async run(args, io) {
    const parsed = parseCommandArgs(this, args, { server: { type: 'string' }, json: { type: 'boolean' }, ...SECRET_OPTIONS }, io);
    if (!parsed) return EXIT_OK;
    const [idArg, path, ...rest] = parsed.positionals;
    if (!idArg || rest.length) throw new UsageError('expected SNAPSHOT [PATH]');
    const { client } = await connect({ server: parsed.values.server });
    const { id, owner } = await resolveSnapshotId(client, idArg, { includeShared: true });
    const trusted = (await client.getKeys(owner)).map((k) => new Uint8Array(Buffer.from(k.ed25519, 'base64')));
    const { folded } = await resolveChain(id, (x) => client.getManifest(x, owner), trusted);
    // path_not_in_snapshot ends with exit 2, the others with theirs (main.ts).
    const keys = path ? await treeKeysFor(client, id, owner, parsed.values, io) : {};
    const files = new SnapshotFiles(folded, driveBytes(client, owner), keys, owner ? undefined : { list: () => client.listAllBlobs() });
    const entries = await files.list(path);
    for (const e of entries) {
      if (parsed.values.json) {
        io.out(JSON.stringify({ name: e.text, ...(e.text !== e.name.toString('latin1') && !Buffer.from(e.text).equals(e.name) ? { name_b64: e.name.toString('base64') } : {}), type: e.type, mode: e.mode, size: e.size, files: e.files, mtime: e.mtimeNs !== undefined ? new Date(Number(e.mtimeNs / 1_000_000n)).toISOString() : undefined, target: e.target }));
        continue;
      }
      const when = e.mtimeNs !== undefined ? new Date(Number(e.mtimeNs / 1_000_000n)).toISOString().slice(0, 16).replace('T', ' ') : ''.padEnd(16);
      const size = e.size !== undefined ? formatBytes(e.size) : '';
      const extra = e.files !== undefined ? `  (${e.files} files)` : e.type === 'folder-v1' ? '  (version 1 archive)' : e.target ? ` -> ${e.target}` : '';
      io.out(`${modeText(e)} ${size.padStart(10)}  ${when}  ${e.text}${e.type === 'dir' && path ? '/' : ''}${extra}`);
    }
    return EXIT_OK;
  },
};
