/**
 * `[skips] patterns`: what capture leaves out of file archives, repository
 * search and secret folders.
 *
 * - `~/x` or `/x` (anchored): that path and everything below it
 *   (`~/.cache`, `~/.local/share/Trash`). Globs allowed per component.
 * - a pattern without `/` (`node_modules`, `*.tmp`, `.Trash-*`): any file or
 *   folder with that name, at any depth.
 * - a relative pattern with `/` (`build/tmp`): a path ending with it.
 *
 * Besides the patterns, exact paths can be added (the `.git` folder of every
 * repository the repos collector captured: it travels as a bundle).
 */
import { globToRegExpSource } from './glob.ts';
import { expandHome } from './paths.ts';

export class SkipMatcher {
  private anchored: RegExp[] = [];
  private names: RegExp[] = [];
  private suffixes: RegExp[] = [];
  private exact = new Set<string>();

  constructor(readonly patterns: readonly string[], home: string) {
    for (const p of patterns) {
      const trimmed = p.replace(/\/+$/, '');
      if (trimmed === '') continue;
      if (trimmed.startsWith('~/') || trimmed === '~' || trimmed.startsWith('/')) {
        this.anchored.push(new RegExp(`^${globToRegExpSource(expandHome(trimmed, home), true)}$`, 'u'));
      } else if (!trimmed.includes('/')) {
        this.names.push(new RegExp(`^${globToRegExpSource(trimmed, true)}$`, 'u'));
      } else {
        this.suffixes.push(new RegExp(`(?:^|/)${globToRegExpSource(trimmed, true)}$`, 'u'));
      }
    }
  }

  /** Also skip this exact absolute path (and so everything below it). */
  addPath(abs: string): void {
    this.exact.add(abs);
  }

  /** Whether the entry at `abs` (named `name`) is left out, with everything below it. */
  skips(abs: string, name: string): boolean {
    if (this.exact.has(abs)) return true;
    if (this.names.some((r) => r.test(name))) return true;
    if (this.anchored.some((r) => r.test(abs))) return true;
    return this.suffixes.some((r) => r.test(abs));
  }

  /** Whether `abs` or one of its ancestors (up to `/`) is skipped. */
  skipsPathOrParent(abs: string): boolean {
    const parts = abs.split('/').filter(Boolean);
    let cur = '';
    for (const part of parts) {
      cur += `/${part}`;
      if (this.skips(cur, part)) return true;
    }
    return false;
  }
}
