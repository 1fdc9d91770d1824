/** `koder-snapshot sign`: sign a manifest with an identity, print its id. */
import { readFile } from 'node:fs/promises';
import { EXIT_OK, UsageError, parseCommandArgs, type Command } from '../command.ts';
import { decodeManifest, parse, serialize, sign as signManifest, snapshotId } from '../../manifest/index.ts';
import { loadIdentity } from '../../keys/identity.ts';
import { writeFileAtomic } from '../../util/atomic-write.ts';

const usage = `Usage: koder-snapshot sign --identity DIR IN.kvg [-o OUT.kvg]

Validates IN.kvg, signs its canonical bytes with the identity's Ed25519 key
(snapshot.sig = { ed25519, key_id }) and writes the signed manifest to
OUT.kvg (default: IN.kvg, replaced atomically). Prints the snapshot id.

Options:
  --identity DIR   folder written by \`koder-snapshot keygen\`
  -o, --out FILE   where to write the signed manifest
  -h, --help       this help

Exit status: 0 signed, 1 failed, 2 usage or parse error.`;

export const sign: Command = {
  name: 'sign',
  summary: 'sign a manifest with your identity; prints the snapshot id',
  usage,
  async run(args, io) {
    const parsed = parseCommandArgs(this, args, { identity: { type: 'string' }, out: { type: 'string', short: 'o' } }, io);
    if (!parsed) return EXIT_OK;
    const [input, ...extra] = parsed.positionals;
    if (!input || extra.length) throw new UsageError('give exactly one manifest file');
    if (!parsed.values.identity) throw new UsageError('--identity DIR is required');
    let bytes: Buffer;
    try {
      bytes = await readFile(input);
    } catch (e) {
      throw new UsageError(`cannot read ${input}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    const manifest = parse(decodeManifest(bytes, input), input);
    const identity = await loadIdentity(parsed.values.identity);
    const signed = signManifest(manifest, identity.signing.seed);
    await writeFileAtomic(parsed.values.out ?? input, serialize(signed));
    io.out(snapshotId(signed));
    return EXIT_OK;
  },
};
