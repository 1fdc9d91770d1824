/** `koder-snapshot init`: create (or fetch) this person's identity and key vault. */
import { EXIT_OK, UsageError, parseCommandArgs, type Command, type Io } from '../command.ts';
import { firstLineOfStdin, promptHidden } from '../prompt.ts';
import { expandHome, initIdentity, loadConfig } from '../../capture/index.ts';
import { connect } from '../../drive/index.ts';
import { recoveryKeyQrText } from '../../keys/qr.ts';

const usage = `Usage: koder-snapshot init [--passphrase-stdin] [--identity DIR] [--server URL] [--force]

First run on a machine (log in first: koder-snapshot login).
- Your account has no key vault yet: creates your identity (the keys that
  sign snapshots and seal secrets) in DIR, puts it in a vault locked with a
  passphrase (asked twice) and with a recovery key, uploads your public keys
  and the vault, and prints the recovery key ONCE, with a QR code. Keep it
  on paper: with it (or the passphrase) a new installation opens your
  secrets; without both, they are lost.
- Your account has a vault: asks its passphrase and puts that identity on
  this machine, so every machine of yours uses the same keys.

Options:
  --passphrase-stdin   read the passphrase from the first line of standard input
  --identity DIR       default: [snapshot] identity of the config
                       ($XDG_CONFIG_HOME/koder-snapshot/identity)
  --force              make a NEW identity and vault, replacing the account's
                       (secrets sealed to the old identity will not open)

Exit status: 0 done (or already done), 1 refused or failed, 2 usage error.`;

const MIN_PASSPHRASE = 8;

async function askNew(io: Io, fromStdin: boolean): Promise<string> {
  let p: string;
  if (fromStdin) p = await firstLineOfStdin(io);
  else {
    p = await promptHidden('New vault passphrase: ', '--passphrase-stdin');
    const again = await promptHidden('Repeat the passphrase: ', '--passphrase-stdin');
    if (again !== p) throw new UsageError('the two passphrases differ');
  }
  if ([...p].length < MIN_PASSPHRASE) throw new UsageError(`the passphrase must have at least ${MIN_PASSPHRASE} characters`);
  return p;
}

export const init: Command = {
  name: 'init',
  summary: 'create your identity and key vault (first run)',
  usage,
  async run(args, io) {
    const parsed = parseCommandArgs(this, args, { 'passphrase-stdin': { type: 'boolean' }, identity: { type: 'string' }, server: { type: 'string' }, force: { type: 'boolean' } }, io, false);
    if (!parsed) return EXIT_OK;
    const v = parsed.values;
    const { config } = await loadConfig();
    const identityDir = expandHome(v.identity ?? config.snapshot.identity, process.env.HOME ?? '/');
    const { client, session } = await connect(v.server ? { server: v.server } : {});
    const stdin = !!v['passphrase-stdin'];
    // CaptureError (init_conflict) and KeyError (wrong_secret, …) end with their exit status (main.ts).
    const r = await initIdentity({
      client,
      identityDir,
      newPassphrase: () => askNew(io, stdin),
      existingPassphrase: () => (stdin ? firstLineOfStdin(io) : promptHidden('Passphrase of your key vault: ', '--passphrase-stdin')),
      ...(v.force ? { force: true } : {}),
    });
    if (r.kind === 'already') {
      io.out(`already set up: identity ${r.keyId} in ${identityDir}, and your account's vault holds it`);
      return EXIT_OK;
    }
    if (r.kind === 'fetched') {
      io.out(`identity ${r.keyId} opened from your account's vault and saved in ${identityDir}`);
      return EXIT_OK;
    }
    io.out(`identity ${r.keyId}${r.newIdentity ? ' created' : ''} in ${identityDir}; public keys and key vault uploaded to ${session.server}`);
    io.out('');
    io.out('Your RECOVERY KEY (shown only this once — write it down or print it, keep it safe):');
    io.out('');
    io.out(`    ${r.recoveryKey}`);
    io.out('');
    io.out(recoveryKeyQrText(r.recoveryKey));
    io.out('');
    io.out('With your passphrase or this key, a new installation opens your secrets. Without both, they cannot be recovered.');
    return EXIT_OK;
  },
};
