/** `koder-snapshot prune [--dry-run] [--threshold F]`: repack half-empty data v2 packs and report what it freed. */
import { EXIT_FAILED, EXIT_OK, UsageError, parseCommandArgs, type Command } from '../command.ts';
import { connect } from '../../drive/index.ts';
import { expandHome, loadConfig } from '../../capture/index.ts';
import { prune as runPrune } from '../../store/prune.ts';
import { CodedError } from '../../util/coded-error.ts';
import { formatBytes } from '../format.ts';
import { myIdentity, SECRET_OPTIONS, SECRET_USAGE } from '../snapshot-keys.ts';

const usage = `Usage: koder-snapshot prune [--dry-run] [--threshold F] [options]

Deleting a snapshot frees at once the packs no other snapshot uses; a pack
that still holds a few chunks other snapshots need stays, mostly empty.
prune reads every snapshot's trees (decrypting them here), finds the packs
whose used bytes are below F of their size (default 0.5), copies their
chunks still in use into new packs — as they are, never decrypted — and has
the server swap them. It reports what it freed. Packs that a shared
snapshot references are kept (revoke the share to prune them).

Options:
  --dry-run                say what would be repacked and freed; change nothing
  --threshold F            repack packs used below this share, 0 < F ≤ 1 (default 0.5)
${SECRET_USAGE}
  --server URL             Koder ID + Drive server (default: the last login)

Exit status: 0 ok, 1 refused / locked, 2 usage error.`;

export const prune: Command = {
  name: 'prune',
  summary: 'repack half-empty packs and free the space',
  usage,
  async run(args, io) {
    const parsed = parseCommandArgs(this, args, { 'dry-run': { type: 'boolean' }, threshold: { type: 'string' }, server: { type: 'string' }, ...SECRET_OPTIONS }, io, false);
    if (!parsed) return EXIT_OK;
    const v = parsed.values;
    const threshold = v.threshold === undefined ? 0.5 : Number(v.threshold);
    if (!(threshold > 0 && threshold <= 1)) throw new UsageError(`--threshold must be a number in (0, 1], got ${JSON.stringify(v.threshold)}`);
    const { client } = await connect({ server: v.server });
    const { config } = await loadConfig();
    try {
      const identity = await myIdentity(client, v, io);
      const me = await client.me();
      const r = await runPrune({
        client,
        identity,
        userId: me.id,
        cacheDir: expandHome(config.cache.dir, process.env.HOME ?? '/'),
        threshold,
        dryRun: !!v['dry-run'],
        log: (l) => io.err(l),
      });
      io.out(`${r.snapshots} snapshots, ${r.packs} packs; ${r.candidates.length} pack(s) below ${Math.round(threshold * 100)} % used${r.pinned ? ` (${r.pinned} more kept: a shared snapshot uses them)` : ''}`);
      if (v['dry-run']) io.out(`would free about ${formatBytes(r.freed)} (nothing changed: --dry-run)`);
      else if (r.candidates.length) io.out(`repacked into ${r.newPacks} pack(s); ${r.rewritten} snapshot(s) updated; freed ${formatBytes(r.freed)}`);
      else io.out('nothing to repack');
      return EXIT_OK;
    } catch (e) {
      if (e instanceof CodedError) {
        io.err(`koder-snapshot prune: ${e.message}`);
        return EXIT_FAILED;
      }
      throw e;
    }
  },
};
