/**
 * Flatpak apps, system-wide and the person's own: `flatpak list --app
 * --system|--user --columns=ref,origin`, and each origin's URL from `flatpak
 * remotes --columns=name,url` (so a restore can add the remote). Runtimes
 * are not listed: they come back as dependencies. No flatpak: none.
 */
import type { FlatpakEntry } from '../../manifest/types.ts';
import { manifestProblem, type CollectContext } from '../context.ts';
import { runTool, stderrTail } from '../run-tool.ts';

const cells = (line: string) => (line.includes('\t') ? line.split('\t') : line.trim().split(/\s+/)).map((c) => c.trim());

/** `ref origin` rows; refs without their kind (`org.x.App/x86_64/stable`) get `app/`. */
export function parseFlatpakList(text: string): { ref: string; origin: string }[] {
  const out: { ref: string; origin: string }[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const [ref, origin] = cells(line);
    if (!ref || !origin || ref === 'Ref') continue;
    out.push({ ref: /^(app|runtime)\//.test(ref) ? ref : `app/${ref}`, origin });
  }
  return out;
}

/** `name url` rows → name → url. */
export function parseFlatpakRemotes(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const [name, url] = cells(line);
    if (name && url && name !== 'Name') out.set(name, url);
  }
  return out;
}

export async function collectFlatpaks(ctx: CollectContext): Promise<FlatpakEntry[]> {
  const out: FlatpakEntry[] = [];
  for (const scope of ['system', 'user'] as const) {
    const env = scope === 'user' ? ctx.userEnv : process.env;
    const list = await runTool('flatpak', ['list', '--app', `--${scope}`, '--columns=ref,origin'], { env });
    if (list.missing) return [];
    if (list.code !== 0) {
      ctx.warn(`flatpak list --${scope} failed (${stderrTail(list)}); those flatpaks left out`);
      continue;
    }
    const remotes = await runTool('flatpak', ['remotes', `--${scope}`, '--columns=name,url'], { env });
    const urls = remotes.code === 0 ? parseFlatpakRemotes(remotes.stdout) : new Map<string, string>();
    for (const { ref, origin } of parseFlatpakList(list.stdout)) {
      const url = urls.get(origin);
      const e: FlatpakEntry = { ref, origin, ...(url ? { origin_url: url } : {}), scope };
      const problem = manifestProblem({ apps: { flatpak: [e] } });
      if (problem) ctx.warn(`flatpak ${ref}: ${problem}; left out`);
      else if (!out.some((x) => x.ref === ref)) out.push(e);
      else ctx.warn(`flatpak ${ref}: installed both system-wide and for the user; the system one is kept`);
    }
  }
  return out;
}
