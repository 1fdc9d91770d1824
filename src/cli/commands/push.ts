/** `koder-snapshot push FILE.kvg…`: upload signed manifests and the blobs they reference. */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EXIT_OK, UsageError, parseCommandArgs, type Command } from '../command.ts';
import { connect, pushManifests } from '../../drive/index.ts';

const usage = `Usage: koder-snapshot push FILE.kvg… [--blobs DIR]… [--register-key DIR] [--parallel N] [--server URL]

Uploads signed manifests (parents first) and the blobs they reference. Blob
files are looked up by name (<sha256-hex> or <sha256-hex>.<ext>) in each
--blobs DIR, by default in each manifest's folder and its blobs/ subfolder.
Blobs the server already has are not sent. The server checks each manifest's
signature against your registered keys, its parent and its blobs.
Safe to run again after an interruption.

Options:
  --blobs DIR          a folder with blob files (repeatable)
  --register-key DIR   first add the public key of the identity in DIR
                       (DIR/identity.pub.json, as keygen writes it) to the
                       keys the server verifies your manifests with
  --parallel N         uploads at a time (default 4)

Exit status: 0 uploaded, 1 refused / failed, 2 usage or parse error.`;

export const push: Command = {
  name: 'push',
  summary: 'upload signed manifests and their blobs',
  usage,
  async run(args, io) {
    const parsed = parseCommandArgs(this, args, { server: { type: 'string' }, blobs: { type: 'string', multiple: true }, parallel: { type: 'string' }, 'register-key': { type: 'string' } }, io);
    if (!parsed) return EXIT_OK;
    if (parsed.positionals.length === 0) throw new UsageError('no manifest file given');
    const parallel = parsed.values.parallel === undefined ? 4 : Number(parsed.values.parallel);
    if (!Number.isInteger(parallel) || parallel < 1 || parallel > 64) throw new UsageError('--parallel: 1 to 64');
    const { client } = await connect({ server: parsed.values.server });
    const keyDir = parsed.values['register-key'];
    if (keyDir) {
      let pub;
      try {
        pub = JSON.parse(await readFile(join(keyDir, 'identity.pub.json'), 'utf8'));
      } catch (e) {
        throw new UsageError(`--register-key: cannot read ${join(keyDir, 'identity.pub.json')}: ${(e as Error).message}`);
      }
      await client.addKey(pub);
      io.err(`registered key ${String(pub.key_id).slice(0, 16)}…`);
    }
    const results = await pushManifests(client, parsed.positionals, {
      blobDirs: parsed.values.blobs,
      parallel,
      onEvent: (e) => {
        if (e.kind === 'blob' && e.sent) io.err(`sent blob ${e.hex.slice(0, 12)} (${e.size} bytes)`);
      },
    });
    for (const r of results) io.out(`${r.created ? 'uploaded' : 'already there'} ${r.id} ${r.file} (${r.blobsSent} blob(s) sent, ${r.blobsSkipped} already on the server)`);
    return EXIT_OK;
  },
};
