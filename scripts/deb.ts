/**
 * `npm run deb`: dist/koder-snapshot_<version>_<arch>.deb, built with
 * dpkg-deb from a staging tree — no node_modules tree is shipped:
 *
 *   /usr/bin/koder-snapshot -> ../lib/koder-snapshot/lib/cli/koder-snapshot.mjs
 *   /usr/lib/koder-snapshot/
 *     lib/cli/koder-snapshot.mjs     the CLI + daemon, one esbuild ESM bundle
 *     lib/cli/*-worker.mjs           the worker threads (zstd for v1 files, capture and restore for data v2), each its own bundle
 *     package.json                   name, version (read by --version)
 *     node_modules/zstd-napi/        the one native addon: its JS + binding.node
 *     dist/wizard -> /usr/share/koder-snapshot/wizard
 *     dist/app -> /usr/share/koder-snapshot/app
 *   /usr/share/koder-snapshot/wizard/    the wizard (vite build)
 *   /usr/share/koder-snapshot/app/       the Backup app (vite build --mode app)
 *   /usr/share/applications/koder-snapshot-backup.desktop   "Backup": `koder-snapshot app`
 *   /usr/share/koder-snapshot/calamares/ the "Restore" page QML
 *   /usr/lib/calamares/modules/koderrestore/        the exec job
 *   /usr/share/calamares/modules/koderrestore{,view}.conf
 *   /lib/systemd/system/koder-snapshot-daemon.service, /etc/default/koder-snapshot
 *   /usr/share/man/man1/koder-snapshot.1.gz           (scripts/man.ts)
 *   /usr/share/doc/koder-snapshot/                    copyright, settings.conf example
 *
 * The bundle keeps the source tree's shape two levels down (lib/cli/), so
 * the code's `new URL('../../package.json', import.meta.url)` and
 * `../../dist/wizard` find the files above, unchanged.
 *
 * Node and native addons — the decisions (see packaging/README.md):
 *  - better-sqlite3 is used only by the reference server (`serve`, `demo`),
 *    a development tool: both commands are replaced in the bundle by stubs
 *    saying so, and neither better-sqlite3 nor oidc-provider is shipped
 *    (the build fails if they sneak in).
 *  - zstd-napi is a Node-API addon (ABI-stable across Node majors): its
 *    binding.node, built for this machine's architecture, is shipped, so
 *    the package is Architecture: <dpkg --print-architecture>, not `all`.
 *  - The bundle targets Node 18 syntax, and the package depends on
 *    `nodejs (>= 18.19)`: Debian bookworm ships 18.19/18.20, and nothing newer
 *    exists in bookworm or bookworm-backports; the .deb test runs the CLI on
 *    that Node. Node 20 (the development requirement) works as well.
 *
 * Options: --out DIR (default dist), --skip-wizard-build (reuse dist/wizard and dist/app).
 */
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { WORKERS } from '../src/util/worker-thread.ts';
import { shebang } from '../src/util/process-tuning.ts';
import { manFromCli } from './man.ts';
import { devOnlyCommands } from './dev-only-commands.ts';

const repo = fileURLToPath(new URL('..', import.meta.url));
const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { name: string; version: string; license: string; description: string };
const args = process.argv.slice(2);
const opt = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const outDir = resolve(repo, opt('--out') ?? 'dist');
export const NODEJS_DEPENDS = 'nodejs (>= 18.19)';

function sh(cmd: string, argv: string[], o: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): string {
  const r = spawnSync(cmd, argv, { cwd: o.cwd ?? repo, env: o.env ?? process.env, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`${cmd} ${argv.join(' ')} failed (${r.status}):\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

const arch = sh('dpkg', ['--print-architecture']).trim();
const name = `${pkg.name}_${pkg.version}_${arch}`;
const stage = join(outDir, 'deb', name);
const at = (p: string) => join(stage, p);
const put = (src: string, dest: string, mode = 0o644) => {
  mkdirSync(dirname(at(dest)), { recursive: true });
  copyFileSync(join(repo, src), at(dest));
  chmodSync(at(dest), mode);
};
const write = (dest: string, text: string | Buffer, mode = 0o644) => {
  mkdirSync(dirname(at(dest)), { recursive: true });
  writeFileSync(at(dest), text);
  chmodSync(at(dest), mode);
};

const common = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node18',
  // Native: shipped next to the bundle under node_modules/ (see above).
  external: ['zstd-napi', 'zstd-napi/*'],
  legalComments: 'none',
  logLevel: 'warning',
} as const;

/**
 * Node 18 has WebCrypto only as require('node:crypto').webcrypto, not as a
 * global (libsodium needs it): in the CLI's bundle and in every worker's (a
 * thread has globals of its own — the Argon2id thread failed without it).
 */
const NODE18_WEBCRYPTO = [
  "import { webcrypto as __koderWebcrypto } from 'node:crypto';",
  'if (!globalThis.crypto) Object.defineProperty(globalThis, "crypto", { value: __koderWebcrypto, configurable: true, writable: true });',
];

/** Each worker thread's module, a file of its own beside the CLI's bundle: a worker runs a file (src/util/worker-thread.ts). */
async function bundleWorker(): Promise<void> {
  for (const [name, source] of Object.entries(WORKERS)) {
    await build({
      ...common,
      entryPoints: [join(repo, source)],
      outfile: at(`usr/lib/koder-snapshot/lib/cli/${name}.mjs`),
      banner: {
        js: [
          `// koder-snapshot ${pkg.version}: the ${name} thread, bundled by scripts/deb.ts from ${source}.`,
          "import { createRequire as __koderCreateRequire } from 'node:module';",
          'const require = __koderCreateRequire(import.meta.url);',
          ...NODE18_WEBCRYPTO,
        ].join('\n'),
      },
    });
  }
}

async function bundle(): Promise<string[]> {
  const outfile = at('usr/lib/koder-snapshot/lib/cli/koder-snapshot.mjs');
  const result = await build({
    stdin: {
      contents: "import { main } from './src/cli/main.ts';\nprocess.exitCode = await main(process.argv.slice(2));\n",
      resolveDir: repo,
      sourcefile: 'koder-snapshot-entry.ts',
      loader: 'ts',
    },
    outfile,
    ...common,
    // The workers' files beside the bundle (src/util/worker-thread.ts).
    define: { KODER_BUNDLED_WORKERS: 'true' },
    plugins: [devOnlyCommands],
    banner: {
      js: [
        // node's flags and malloc's threshold as the product starts (src/util/process-tuning.ts).
        shebang(),
        `// koder-snapshot ${pkg.version}: bundled by scripts/deb.ts (esbuild) from the Koder Snapshots sources.`,
        // CommonJS dependencies inside an ESM bundle still call require().
        "import { createRequire as __koderCreateRequire } from 'node:module';",
        'const require = __koderCreateRequire(import.meta.url);',
        ...NODE18_WEBCRYPTO,
      ].join('\n'),
    },
    minify: false,
    sourcemap: false,
    metafile: true,
  });
  chmodSync(outfile, 0o755);
  const inputs = Object.keys(result.metafile!.inputs);
  const banned = inputs.filter((p) => /node_modules\/(better-sqlite3|oidc-provider|koa)\//.test(p));
  if (banned.length) throw new Error(`the bundle must not contain the reference server's dependencies: ${banned.slice(0, 5).join(', ')}`);
  // Third-party packages in the bundle, for the copyright file.
  return [...new Set(inputs.map((p) => /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(p)?.[1]).filter((x): x is string => Boolean(x)))].sort();
}

function zstdNapi() {
  const src = join(repo, 'node_modules/zstd-napi');
  const dest = 'usr/lib/koder-snapshot/node_modules/zstd-napi';
  const zp = JSON.parse(readFileSync(join(src, 'package.json'), 'utf8')) as Record<string, unknown>;
  write(`${dest}/package.json`, JSON.stringify({ name: zp.name, version: zp.version, license: zp.license, main: zp.main }, null, 2) + '\n');
  for (const f of ['binding.js', 'LICENSE', 'NOTICE']) put(`node_modules/zstd-napi/${f}`, `${dest}/${f}`);
  for (const f of readdirSync(join(src, 'dist')).filter((f) => f.endsWith('.js'))) put(`node_modules/zstd-napi/dist/${f}`, `${dest}/dist/${f}`);
  put('node_modules/zstd-napi/build/Release/binding.node', `${dest}/build/Release/binding.node`);
  sh('strip', ['--strip-unneeded', at(`${dest}/build/Release/binding.node`)]);
}

function wizard() {
  const dest = at('usr/share/koder-snapshot/wizard');
  if (args.includes('--skip-wizard-build') && existsSync(join(repo, 'dist/wizard/index.html'))) cpSync(join(repo, 'dist/wizard'), dest, { recursive: true });
  else sh('npx', ['vite', 'build', '--outDir', dest, '--emptyOutDir', '--logLevel', 'warn']);
  if (!existsSync(join(dest, 'index.html'))) throw new Error('the wizard build has no index.html');
  mkdirSync(at('usr/lib/koder-snapshot/dist'), { recursive: true });
  symlinkSync('../../../share/koder-snapshot/wizard', at('usr/lib/koder-snapshot/dist/wizard'));
}

/** The Backup app's page, and its desktop entry ("Backup" in the menu: `koder-snapshot app`). */
function backupApp() {
  const dest = at('usr/share/koder-snapshot/app');
  if (args.includes('--skip-wizard-build') && existsSync(join(repo, 'dist/app/index.html'))) cpSync(join(repo, 'dist/app'), dest, { recursive: true });
  else sh('npx', ['vite', 'build', '--mode', 'app', '--outDir', dest, '--emptyOutDir', '--logLevel', 'warn']);
  if (!existsSync(join(dest, 'index.html'))) throw new Error('the app build has no index.html');
  symlinkSync('../../../share/koder-snapshot/app', at('usr/lib/koder-snapshot/dist/app'));
  put('packaging/desktop/koder-snapshot-backup.desktop', 'usr/share/applications/koder-snapshot-backup.desktop');
}

function calamares() {
  put('calamares-module/koderrestore/module.desc', 'usr/lib/calamares/modules/koderrestore/module.desc');
  put('calamares-module/koderrestore/main.py', 'usr/lib/calamares/modules/koderrestore/main.py');
  put('calamares-module/koderrestore/koderrestore.conf', 'usr/share/calamares/modules/koderrestore.conf');
  put('calamares-module/koderrestoreview/koderrestoreview.conf', 'usr/share/calamares/modules/koderrestoreview.conf');
  put('calamares-module/koderrestoreview/koderrestoreview.qml', 'usr/share/koder-snapshot/calamares/koderrestoreview.qml');
  put('calamares-module/koderrestoreview/KoderWebView.qml', 'usr/share/koder-snapshot/calamares/KoderWebView.qml');
  put('calamares-module/settings.conf', 'usr/share/doc/koder-snapshot/examples/calamares-settings.conf');
  put('calamares-module/README.md', 'usr/share/doc/koder-snapshot/README.calamares.md');
}

function copyright(thirdParty: string[]) {
  const lines = [
    'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/',
    'Upstream-Name: koder-snapshot',
    '',
    'Files: *',
    'Copyright: Koder Linux developers',
    `License: ${pkg.license}`,
    '',
    'Files: usr/lib/koder-snapshot/node_modules/zstd-napi/*',
    'Copyright: Andrew Drake; the Zstandard authors (Meta Platforms, Inc.)',
    'License: Apache-2.0 (zstd-napi), BSD-3-Clause (zstd); see its LICENSE and NOTICE',
    '',
    'Comment: usr/lib/koder-snapshot/lib/cli/koder-snapshot.mjs bundles these npm packages:',
  ];
  for (const p of thirdParty) {
    const pj = join(repo, 'node_modules', p, 'package.json');
    const license = existsSync(pj) ? (JSON.parse(readFileSync(pj, 'utf8')) as { license?: string; version?: string }) : {};
    lines.push(` ${p}${license.version ? ` ${license.version}` : ''}: ${license.license ?? 'see its package'}`);
  }
  write('usr/share/doc/koder-snapshot/copyright', lines.join('\n') + '\n');
}

function installedSizeKiB(dir: string): number {
  let bytes = 0;
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) bytes += statSync(p).size;
    }
  };
  walk(dir);
  return Math.ceil(bytes / 1024);
}

async function main() {
  rmSync(stage, { recursive: true, force: true });
  mkdirSync(stage, { recursive: true });
  const thirdParty = await bundle();
  await bundleWorker();
  write('usr/lib/koder-snapshot/package.json', JSON.stringify({ name: pkg.name, version: pkg.version, description: pkg.description, type: 'module', private: true }, null, 2) + '\n');
  mkdirSync(at('usr/bin'), { recursive: true });
  symlinkSync('../lib/koder-snapshot/lib/cli/koder-snapshot.mjs', at('usr/bin/koder-snapshot'));
  zstdNapi();
  wizard();
  backupApp();
  calamares();
  put('packaging/systemd/koder-snapshot-daemon.service', 'lib/systemd/system/koder-snapshot-daemon.service');
  put('packaging/default/koder-snapshot', 'etc/default/koder-snapshot');
  copyright(thirdParty);
  // The man page, from the --help of the bundle just built (run by this Node).
  const date = process.env.SOURCE_DATE_EPOCH ? new Date(Number(process.env.SOURCE_DATE_EPOCH) * 1000) : new Date();
  const man = manFromCli([process.execPath, at('usr/lib/koder-snapshot/lib/cli/koder-snapshot.mjs')], date.toISOString().slice(0, 10));
  write('usr/share/man/man1/koder-snapshot.1.gz', gzipSync(Buffer.from(man), { level: 9 }));
  // DEBIAN/
  const control = readFileSync(join(repo, 'packaging/debian/control.in'), 'utf8')
    .replace('@VERSION@', pkg.version)
    .replace('@ARCH@', arch)
    .replace('@NODEJS_DEPENDS@', NODEJS_DEPENDS)
    .replace('@INSTALLED_SIZE@', String(installedSizeKiB(stage)));
  write('DEBIAN/control', control);
  put('packaging/debian/conffiles', 'DEBIAN/conffiles');
  put('packaging/debian/postinst', 'DEBIAN/postinst', 0o755);
  put('packaging/debian/postrm', 'DEBIAN/postrm', 0o755);
  const deb = join(outDir, `${name}.deb`);
  sh('dpkg-deb', ['--root-owner-group', '-Zxz', '--build', stage, deb]);
  const info = sh('dpkg-deb', ['--info', deb]);
  const files = sh('dpkg-deb', ['--contents', deb]).trim().split('\n').length;
  process.stdout.write(`${relative(repo, deb)}: ${(statSync(deb).size / 1024).toFixed(0)} KiB, ${files} entries\n${info.split('\n').filter((l) => /^ (Package|Version|Architecture|Depends|Installed-Size):/.test(l)).join('\n')}\n`);
}

await main();
