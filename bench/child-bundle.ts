/**
 * The product's form for a bench's child process: an esbuild bundle of an
 * entry and of every worker thread's module beside it (src/util/worker-thread.ts
 * finds them there under KODER_BUNDLED_WORKERS), as scripts/deb.ts ships the
 * CLI — not the sources through tsx, whose start-up transpiling and per-thread
 * loader would be counted against us (measured: ≈ 1 s and ≈ 30 MiB a worker).
 *
 * zstd-napi (native) stays outside and loads from node_modules, as the .deb
 * loads it from its own; the CLI's `serve` and `demo` are stubs, as in the
 * .deb (scripts/dev-only-commands.ts).
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WORKERS } from '../src/util/worker-thread.ts';
import { devOnlyCommands } from '../scripts/dev-only-commands.ts';
import { NODE_FLAGS } from '../src/util/process-tuning.ts';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..');

const EXTERNAL = ['zstd-napi', 'zstd-napi/*'];

const built = new Map<string, Promise<string>>();

/**
 * Bundles `entry` (a path from the repository's root) as `name.mjs` with the
 * workers beside it, once per process; returns the bundle's path.
 */
export function benchBundle(name: string, entry: string): Promise<string> {
  let p = built.get(name);
  if (!p) {
    p = (async () => {
      const { build } = await import('esbuild');
      // Two levels below the repository, as the .deb's lib/cli/: the code's `../../package.json` is found.
      const out = join(REPO, '.scratch', `bench-${name}`);
      await build({
        bundle: true,
        platform: 'node',
        format: 'esm',
        target: 'node20',
        external: EXTERNAL,
        logLevel: 'warning',
        define: { KODER_BUNDLED_WORKERS: 'true' },
        plugins: [devOnlyCommands],
        banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
        entryPoints: { [name]: join(REPO, entry), ...Object.fromEntries(Object.entries(WORKERS).map(([w, file]) => [w, join(REPO, file)])) },
        outdir: out,
        outExtension: { '.js': '.mjs' },
      });
      return join(out, `${name}.mjs`);
    })();
    built.set(name, p);
  }
  return p;
}

/**
 * A bench child's node flags: the product's (NODE_FLAGS). For trials,
 * KODER_BENCH_SEMI=N replaces the semi-space size and KODER_BENCH_NODE_FLAGS
 * (space-separated) replaces the whole list.
 */
export function benchNodeFlags(env: NodeJS.ProcessEnv = process.env): string[] {
  if (env.KODER_BENCH_NODE_FLAGS !== undefined) return env.KODER_BENCH_NODE_FLAGS.split(' ').filter(Boolean);
  const semi = env.KODER_BENCH_SEMI;
  return NODE_FLAGS.map((f) => (semi && f.startsWith('--max-semi-space-size=') ? `--max-semi-space-size=${semi}` : f));
}
