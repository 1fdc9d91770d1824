/** Where the built wizard is: dist/wizard next to the sources, or $KODER_SNAPSHOT_WIZARD_DIR (packaged). */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export function wizardDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.KODER_SNAPSHOT_WIZARD_DIR) return env.KODER_SNAPSHOT_WIZARD_DIR;
  const candidates = [new URL('../../dist/wizard', import.meta.url), new URL('./wizard', import.meta.url)];
  for (const c of candidates) {
    const p = fileURLToPath(c);
    if (existsSync(`${p}/index.html`)) return p;
  }
  return fileURLToPath(candidates[0]!);
}
