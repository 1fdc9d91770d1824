/**
 * kpkg packages: the output of `[apps] kpkg_command` (default `kpkg list
 * --installed`), the first word of each line that is a kpkg slug. No kpkg:
 * none.
 */
import { manifestProblem, type CollectContext } from '../context.ts';
import { runTool, stderrTail } from '../run-tool.ts';

export function parseKpkgList(text: string): string[] {
  const out = new Set<string>();
  for (const line of text.split('\n')) {
    const word = line.trim().split(/\s+/)[0];
    if (word && /^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(word)) out.add(word);
  }
  return [...out].sort();
}

export async function collectKpkg(ctx: CollectContext): Promise<string[]> {
  const [cmd, ...args] = ctx.config.apps.kpkg_command;
  const r = await runTool(cmd!, args);
  if (r.missing) return [];
  if (r.code !== 0) {
    ctx.warn(`${ctx.config.apps.kpkg_command.join(' ')} failed (${stderrTail(r)}); kpkg packages left out`);
    return [];
  }
  return parseKpkgList(r.stdout).filter((s) => !manifestProblem({ apps: { kpkg: [s] } }));
}
