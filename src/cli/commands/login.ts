/** `koder-snapshot login --server URL`: device-flow login (code + QR), tokens saved 0600. */
import { writeFile } from 'node:fs/promises';
import { EXIT_FAILED, EXIT_OK, UsageError, parseCommandArgs, type Command } from '../command.ts';
import { saveConfig, saveTokens, startDeviceLogin } from '../../auth/index.ts';

const usage = `Usage: koder-snapshot login --server URL [--no-qr] [--qr-svg FILE]

Logs in to a Koder ID with the device flow: prints a code and a QR code;
open the link (or scan the QR code with your phone), check the code, sign in
and allow. The tokens are saved, mode 0600, under
$XDG_CONFIG_HOME/koder-snapshot/tokens/, and URL becomes the default server
of the other commands. Plain http is refused except to this machine.

Options:
  --server URL    the Koder ID server (e.g. https://id.koder.dev)
  --no-qr         do not draw the QR code in the terminal
  --qr-svg FILE   also write the QR code as an SVG file
  -h, --help      this help

Exit status: 0 logged in, 1 denied / expired / canceled / failed, 2 usage error.`;

export const login: Command = {
  name: 'login',
  summary: 'log in to a Koder ID server (device code + QR)',
  usage,
  async run(args, io) {
    const parsed = parseCommandArgs(this, args, { server: { type: 'string' }, 'no-qr': { type: 'boolean' }, 'qr-svg': { type: 'string' } }, io, false);
    if (!parsed) return EXIT_OK;
    const server = parsed.values.server ?? process.env.KODER_SNAPSHOT_SERVER;
    if (!server) throw new UsageError('--server URL is required');
    const lang = process.env.LANG?.startsWith('pt') ? 'pt-BR en' : undefined;
    const dl = await startDeviceLogin({ server, uiLocales: lang });
    io.out(`To log in, open on your phone or computer:\n\n    ${dl.verification_uri_complete}\n`);
    io.out(`and check that it shows the code   ${dl.user_code}`);
    io.out(`(or open ${dl.verification_uri} and type the code)`);
    if (!parsed.values['no-qr']) io.out(`\nOr scan this QR code:\n\n${dl.qr.text}\n`);
    if (parsed.values['qr-svg']) await writeFile(parsed.values['qr-svg'], dl.qr.svg);
    io.err(`Waiting for approval (the code expires in ${Math.round(dl.expires_in / 60)} min; Ctrl-C cancels)…`);
    const ac = new AbortController();
    const onSig = () => ac.abort();
    process.once('SIGINT', onSig);
    try {
      const outcome = await dl.wait({ signal: ac.signal });
      switch (outcome.status) {
        case 'approved': {
          const path = await saveTokens(outcome.tokens);
          await saveConfig({ server: outcome.tokens.server });
          io.out(`Logged in to ${outcome.tokens.server} as ${outcome.tokens.user_name ?? outcome.tokens.sub ?? '?'}.`);
          io.err(`tokens saved in ${path}`);
          return EXIT_OK;
        }
        case 'denied':
          io.err('koder-snapshot login: access was denied on the sign-in page');
          return EXIT_FAILED;
        case 'expired':
          io.err('koder-snapshot login: the code expired before it was approved; run login again');
          return EXIT_FAILED;
        case 'aborted':
          io.err('koder-snapshot login: canceled');
          return EXIT_FAILED;
        case 'failed':
          io.err(`koder-snapshot login: ${outcome.error.message}`);
          return EXIT_FAILED;
      }
    } finally {
      process.off('SIGINT', onSig);
    }
  },
};
