/**
 * Snaps: `snap list` — name, tracked channel, classic confinement. Left out:
 * names matching `[apps] snap_exclude` (bases, snapd, content snaps that
 * come back as dependencies), snaps whose notes say base/core/snapd/gadget/
 * kernel, and local installs without a channel (`Tracking` is `-`: not from
 * the store, cannot be installed again). No snap command or no snapd: none.
 */
import type { SnapEntry } from '../../manifest/types.ts';
import { manifestProblem, type CollectContext } from '../context.ts';
import { matchesAny } from '../glob.ts';
import { runTool, stderrTail } from '../run-tool.ts';

const SYSTEM_NOTES = ['base', 'core', 'snapd', 'gadget', 'kernel'];

export function parseSnapList(text: string, exclude: readonly string[], warn: (m: string) => void = () => {}): SnapEntry[] {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  if (lines.length === 0 || !/^Name\s+Version\s+Rev\s+Tracking/.test(lines[0]!)) return [];
  const out: SnapEntry[] = [];
  for (const line of lines.slice(1)) {
    const [name, , , tracking, , notes = '-'] = line.trim().split(/\s+/);
    if (!name || !tracking) continue;
    const noteList = notes === '-' ? [] : notes.split(',');
    if (matchesAny(exclude, name) || noteList.some((n) => SYSTEM_NOTES.includes(n))) continue;
    if (tracking === '-') {
      warn(`snap ${name}: installed locally (no channel); left out`);
      continue;
    }
    out.push({ name, channel: tracking, ...(noteList.includes('classic') ? { classic: true } : {}) });
  }
  return out;
}

export async function collectSnaps(ctx: CollectContext): Promise<SnapEntry[]> {
  const r = await runTool('snap', ['list', '--color=never', '--unicode=never']);
  if (r.missing) return [];
  if (r.code !== 0) {
    // "No snaps are installed yet" is exit 0 on stderr; anything else (snapd down) is worth a word.
    ctx.warn(`snap list failed (${stderrTail(r)}); snaps left out`);
    return [];
  }
  return parseSnapList(r.stdout, ctx.config.apps.snap_exclude, ctx.warn).filter((s) => {
    const problem = manifestProblem({ apps: { snap: [s] } });
    if (problem) ctx.warn(`snap ${s.name}: ${problem}; left out`);
    return !problem;
  });
}
