/**
 * An esbuild plugin for bundles of the CLI (the .deb's, scripts/deb.ts, and
 * the benches', bench/child-bundle.ts): `serve` and `demo` are replaced by stubs.
 */
import type { Plugin } from 'esbuild';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** `serve` and `demo` need the reference server (SQLite, oidc-provider): not in the package. */
export const devOnlyCommands: Plugin = {
  name: 'koder-dev-only-commands',
  setup(b) {
    b.onResolve({ filter: /^\.\/(serve|demo)\.ts$/ }, (a) =>
      a.importer.endsWith(join('src', 'cli', 'commands', 'index.ts')) ? { path: a.path.slice(2, -3), namespace: 'koder-dev-only' } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'koder-dev-only' }, (a) => {
      const what = a.path === 'serve' ? 'run the reference Koder ID + Drive server' : 'the `npm start` demo (server, demo user, wizard)';
      return {
        resolveDir: fileURLToPath(new URL('../src/cli/commands', import.meta.url)),
        loader: 'ts',
        contents: `import { EXIT_USAGE, type Command } from '../command.ts';
export const ${a.path}: Command = {
  name: ${JSON.stringify(a.path)},
  summary: ${JSON.stringify(`${what} (source tree only)`)},
  usage: ${JSON.stringify(`Usage: koder-snapshot ${a.path}\n\nNot part of the Debian package: ${what} runs from the source tree\n(git clone, npm ci, node bin/koder-snapshot.mjs ${a.path}).`)},
  async run(args, io) {
    if (args.includes('--help') || args.includes('-h')) {
      io.out(this.usage);
      return 0;
    }
    io.err(this.usage);
    return EXIT_USAGE;
  },
};
`,
      };
    });
  },
};
