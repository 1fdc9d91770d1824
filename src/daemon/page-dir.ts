/**
 * Where the built pages are: dist/wizard and dist/app next to the sources,
 * or $KODER_SNAPSHOT_WIZARD_DIR / $KODER_SNAPSHOT_APP_DIR (packaged: the
 * .deb's /usr/share/koder-snapshot/{wizard,app}, linked from dist/).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

function pageDir(name: 'wizard' | 'app', override: string | undefined): string {
  if (override) return override;
  const candidates = [new URL(`../../dist/${name}`, import.meta.url), new URL(`./${name}`, import.meta.url)];
  for (const c of candidates) {
    const p = fileURLToPath(c);
    if (existsSync(`${p}/index.html`)) return p;
  }
  return fileURLToPath(candidates[0]!);
}

/** The installer wizard (vite build of src/wizard). */
export function wizardDir(env: NodeJS.ProcessEnv = process.env): string {
  return pageDir('wizard', env.KODER_SNAPSHOT_WIZARD_DIR);
}

/** The Backup app (vite build --mode app of src/app). */
export function appDir(env: NodeJS.ProcessEnv = process.env): string {
  return pageDir('app', env.KODER_SNAPSHOT_APP_DIR);
}
