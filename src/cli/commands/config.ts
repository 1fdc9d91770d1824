/** `koder-snapshot config`: print the effective capture configuration. */
import { EXIT_OK, parseCommandArgs, type Command } from '../command.ts';
import { configFile, configToToml, loadConfig } from '../../capture/index.ts';

const usage = `Usage: koder-snapshot config [--config FILE] [--path]

Prints the capture configuration in effect: $XDG_CONFIG_HOME/koder-snapshot/config.toml
(or FILE) over the defaults, as TOML (a valid config.toml to start from).
Every key is described in docs/config.md.

Options:
  --config FILE   read this file instead
  --path          print only the path of the config file

Exit status: 0 ok, 2 the config file is invalid (the message names the key).`;

export const config: Command = {
  name: 'config',
  summary: 'show the effective capture configuration',
  usage,
  async run(args, io) {
    const parsed = parseCommandArgs(this, args, { config: { type: 'string' }, path: { type: 'boolean' } }, io, false);
    if (!parsed) return EXIT_OK;
    const file = parsed.values.config ?? configFile();
    if (parsed.values.path) {
      io.out(file);
      return EXIT_OK;
    }
    const loaded = await loadConfig(parsed.values.config ? { file } : {}); // ConfigError: exit 2 (main.ts)
    io.out(`# effective configuration: ${loaded.file ? `${loaded.file} over the defaults` : `defaults (no ${file})`}`);
    io.out(configToToml(loaded.config).trimEnd());
    return EXIT_OK;
  },
};
