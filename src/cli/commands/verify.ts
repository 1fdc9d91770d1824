/** `koder-snapshot verify`: verify the chain formed by the given .kvg files. */
import { readFile } from 'node:fs/promises';
import { EXIT_OK, UsageError, parseCommandArgs, type Command } from '../command.ts';
import { VerificationError, decodeManifest, parse, resolveChain, snapshotId, type Manifest } from '../../manifest/index.ts';

const usage = `Usage: koder-snapshot verify --pubkey BASE64 [--pubkey BASE64 …] FILE.kvg… [--resolved]

Verifies the snapshot chain formed by the given manifest files: each file's
id (sha256 of its canonical bytes), its Ed25519 signature by one of the
trusted public keys, and every parent link, from the leaf down to the full
snapshot at the root. Give every file of the chain.

Options:
  --pubkey BASE64   a trusted Ed25519 public key (raw 32 bytes, base64); repeatable
  --resolved        print the folded (full) manifest of the leaf as JSON
  -h, --help        this help

Exit status: 0 valid, 1 verification failed, 2 usage or parse error.`;

export function parsePublicKey(b64: string): Uint8Array {
  const bytes = Buffer.from(b64, 'base64');
  if (bytes.length !== 32 || bytes.toString('base64') !== b64.trim()) {
    throw new UsageError(`--pubkey ${JSON.stringify(b64)} is not the base64 of a 32-byte Ed25519 public key`);
  }
  return new Uint8Array(bytes);
}

export const verify: Command = {
  name: 'verify',
  summary: 'verify signed manifests and the chain they form',
  usage,
  async run(args, io) {
    const parsed = parseCommandArgs(this, args, { pubkey: { type: 'string', multiple: true }, resolved: { type: 'boolean' } }, io);
    if (!parsed) return EXIT_OK;
    const files = parsed.positionals;
    if (files.length === 0) throw new UsageError('no manifest file given');
    const keys = (parsed.values.pubkey ?? []).map(parsePublicKey);
    if (keys.length === 0) throw new UsageError('give at least one trusted --pubkey');

    const byId = new Map<string, { file: string; text: string; manifest: Manifest }>();
    for (const file of files) {
      let bytes: Buffer;
      try {
        bytes = await readFile(file);
      } catch (e) {
        throw new UsageError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      }
      const text = decodeManifest(bytes, file);
      const manifest = parse(text, file); // ManifestParseError → exit 2 in main
      byId.set(snapshotId(manifest), { file, text, manifest });
    }
    const parents = new Set([...byId.values()].map((f) => f.manifest.snapshot.parent).filter(Boolean));
    const leaves = [...byId.keys()].filter((id) => !parents.has(id));
    if (leaves.length !== 1) {
      throw new UsageError(`the files form ${leaves.length} chains (leaves: ${leaves.map((id) => byId.get(id)!.file).join(', ')}); give the files of one chain`);
    }
    try {
      const { chain, folded } = await resolveChain(leaves[0]!, async (id) => {
        const f = byId.get(id);
        if (!f) throw new VerificationError('missing-parent', `parent snapshot ${id} is not among the given files`, id);
        return f.text;
      }, keys);
      for (const link of chain) {
        io.out(`OK ${link.id} ${byId.get(link.id)!.file} (key ${link.manifest.snapshot.sig!.key_id.slice(0, 16)}…)`);
      }
      if (parsed.values.resolved) io.out(JSON.stringify(folded, null, 2));
      return EXIT_OK;
    } catch (e) {
      if (e instanceof VerificationError) {
        const file = e.subject ? byId.get(e.subject.replace(/^snapshot /, ''))?.file : undefined;
        io.err(`koder-snapshot verify: REFUSED${file ? ` ${file}` : ''}: ${e.message}`);
        return e.info.exit;
      }
      throw e;
    }
  },
};
